/**
 * Events per second over a sliding window, and delivery latency (producer time → arrival).
 * Counts go into one-second buckets so memory is constant however fast events come.
 */

export class RateMeter {
  private readonly buckets: number[];
  private bucketStart = 0;
  private head = 0;
  private started = false;

  constructor(private readonly windowSeconds = 5) {
    this.buckets = new Array<number>(windowSeconds).fill(0);
  }

  /** Count `n` events that arrived at `nowMs`. */
  record(n: number, nowMs: number): void {
    this.advance(nowMs);
    this.buckets[this.head] = (this.buckets[this.head] ?? 0) + n;
  }

  /** Events per second over the window ending at `nowMs` (the current, partial second included). */
  rate(nowMs: number): number {
    this.advance(nowMs);
    if (!this.started) return 0;
    const total = this.buckets.reduce((a, b) => a + b, 0);
    const partial = (nowMs - this.bucketStart) / 1000;
    return total / (this.windowSeconds - 1 + Math.max(partial, 1e-3));
  }

  private advance(nowMs: number): void {
    if (!this.started) {
      this.started = true;
      this.bucketStart = nowMs;
      return;
    }
    let steps = Math.floor((nowMs - this.bucketStart) / 1000);
    if (steps <= 0) return;
    this.bucketStart += steps * 1000;
    steps = Math.min(steps, this.windowSeconds);
    for (let i = 0; i < steps; i++) {
      this.head = (this.head + 1) % this.windowSeconds;
      this.buckets[this.head] = 0;
    }
  }
}

/**
 * Latency of event delivery: arrival time minus the producer's `time` stamp. Both clocks are
 * wall clocks of (usually) the same machine; a skewed client clock shows as a constant offset,
 * so negative values are clamped to 0 rather than hidden.
 */
export class LatencyMeter {
  last: number | null = null;
  /** Exponentially weighted mean, so one slow batch does not dominate the display. */
  smoothed: number | null = null;

  /**
   * Record a delivery whose first `history` events were history (replay, catch-up): only its
   * last live event counts — history was published long before it arrived, so its age says
   * nothing about delivery now (a fresh view would read the age of the graph's past).
   */
  recordLive(events: readonly { time: number }[], history: number, arrivalEpochMs: number): void {
    if (events.length <= history) return;
    const last = events[events.length - 1];
    if (last !== undefined) this.record(last.time, arrivalEpochMs);
  }

  record(producerTimeSeconds: number, arrivalEpochMs: number): void {
    const ms = Math.max(0, arrivalEpochMs - producerTimeSeconds * 1000);
    this.last = ms;
    this.smoothed = this.smoothed === null ? ms : this.smoothed * 0.8 + ms * 0.2;
  }
}
