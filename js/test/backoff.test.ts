import { describe, expect, it } from "vitest";

import { backoffCeiling, fullJitterDelay } from "../src/client/backoff.js";

const policy = { baseMs: 250, capMs: 10_000 };

describe("full-jitter backoff", () => {
  it("the ceiling doubles per attempt and stops at the cap", () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((n) => backoffCeiling(n, policy))).toEqual([
      250, 500, 1000, 2000, 4000, 8000, 10_000,
    ]);
    expect(backoffCeiling(10_000, policy)).toBe(10_000); // 2^n overflow stays capped
  });

  it("every draw lies in [0, min(cap, base * 2^n)]", () => {
    for (let attempt = 0; attempt < 40; attempt++) {
      const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** attempt);
      for (const r of [0, 1e-9, 0.25, 0.5, 0.999999]) {
        const d = fullJitterDelay(attempt, () => r, policy);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(ceiling);
        expect(d).toBeCloseTo(r * ceiling, 6);
      }
    }
  });

  it("draws are spread uniformly, not clustered at the ceiling", () => {
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const draws = Array.from({ length: 2000 }, () => fullJitterDelay(3, random, policy));
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
    expect(mean).toBeGreaterThan(0.4 * 2000);
    expect(mean).toBeLessThan(0.6 * 2000);
  });

  it("a floor lifts short draws (4429 asks for at least 5 s)", () => {
    expect(fullJitterDelay(0, () => 0, policy, 5000)).toBe(5000);
    expect(fullJitterDelay(6, () => 0.9, policy, 5000)).toBe(9000);
  });
});
