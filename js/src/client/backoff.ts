/**
 * Reconnect delays: exponential backoff with "full jitter" (a uniform draw in
 * [0, min(cap, base * 2^attempt)]), which spreads the reconnects of many clients after a server
 * restart instead of having them arrive in waves.
 */

export interface BackoffPolicy {
  /** Delay scale of the first retry, in ms. */
  baseMs: number;
  /** Upper bound of any drawn delay, in ms. */
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 500, capMs: 30_000 };

/** The upper bound of the draw for retry number `attempt` (0-based): min(cap, base * 2^attempt). */
export function backoffCeiling(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  // 2^attempt overflows to Infinity for huge attempts, which min() turns into the cap.
  return Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt));
}

/**
 * The delay before retry number `attempt`, drawn with `random` (uniform in [0, 1)), never below
 * `floorMs` (used for the 4429 rate-limit close, which asks for at least 5 s).
 */
export function fullJitterDelay(
  attempt: number,
  random: () => number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  floorMs = 0,
): number {
  const drawn = random() * backoffCeiling(attempt, policy);
  return Math.max(floorMs, drawn);
}
