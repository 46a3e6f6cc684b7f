/**
 * Time and randomness seen by the events client. Injected so tests can drive reconnects,
 * heartbeats and jitter deterministically instead of sleeping.
 */

export type TimerHandle = unknown;

export interface Clock {
  /** Milliseconds, monotonic enough for intervals (performance.now or Date.now). */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  /** Uniform in [0, 1): the jitter source. */
  random(): number;
}

export const systemClock: Clock = {
  now: () => (typeof performance !== "undefined" ? performance.now() : Date.now()),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
  random: () => Math.random(),
};
