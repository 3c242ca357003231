/**
 * The clock a replay paces itself by. The real one sleeps with a timer until shortly before the
 * deadline, then blocks on Atomics.wait for the rest (a timer alone fires late by several ms on
 * a busy machine, and each late event is drift; a futex timeout wakes within a fraction of a
 * ms). The virtual one jumps, so tests step through a schedule without waiting.
 */
export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Returns once now() >= ms. */
  sleepUntil(ms: number): Promise<void>;
}

/** How long before a deadline the real clock stops trusting its timer. */
const PRECISE_MS = 20;

export class RealClock implements Clock {
  private readonly cell = new Int32Array(new SharedArrayBuffer(4));

  now(): number {
    return performance.now();
  }

  async sleepUntil(ms: number): Promise<void> {
    const coarse = ms - this.now() - PRECISE_MS;
    if (coarse > 0) await new Promise((resolve) => setTimeout(resolve, coarse));
    // The last PRECISE_MS block the thread: short enough not to starve I/O for long.
    for (let left = ms - this.now(); left > 0; left = ms - this.now()) Atomics.wait(this.cell, 0, 0, left);
  }
}

export class VirtualClock implements Clock {
  private ms = 0;
  readonly sleeps: number[] = [];

  now(): number {
    return this.ms;
  }

  async sleepUntil(ms: number): Promise<void> {
    this.sleeps.push(ms);
    if (ms > this.ms) this.ms = ms;
  }
}
