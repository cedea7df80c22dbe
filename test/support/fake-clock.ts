import type { Clock } from '../../shared/clock.ts';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A manual Clock. Time moves only through `advance`, which fires due timers in order of due time (then of
 * scheduling), setting `now()` to each timer's due time while it runs; timers scheduled by a callback fire in
 * the same `advance` if they fall due within it.
 */
export class FakeClock implements Clock {
  private current: number;
  private readonly wallOffset: number;
  private seq = 0;
  private timers: Timer[] = [];

  constructor(start = 0, wallStart = 1_700_000_000_000) {
    this.current = start;
    this.wallOffset = wallStart - start;
  }

  now(): number {
    return this.current;
  }

  wallNow(): number {
    return this.current + this.wallOffset;
  }

  setTimeout(fn: () => void, ms: number): () => void {
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const timer: Timer = { at: this.current + delay, seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  /** Timers scheduled and neither fired nor cancelled. */
  get pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Due time of the next live timer, or undefined. */
  nextTimerAt(): number | undefined {
    return this.nextDue()?.at;
  }

  /** Moves time forward by `ms`, firing every timer due by then, in order. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`cannot advance by ${ms}`);
    const target = this.current + ms;
    for (let fired = 0; ; fired++) {
      if (fired > 100_000) throw new Error('FakeClock: timers keep rescheduling themselves (runaway loop?)');
      const next = this.nextDue();
      if (!next || next.at > target) break;
      this.timers = this.timers.filter((t) => t !== next && !t.cancelled);
      this.current = Math.max(this.current, next.at);
      next.fn();
    }
    this.current = target;
  }

  /** Moves time to `at` (absolute), firing due timers. */
  advanceTo(at: number): void {
    this.advance(Math.max(0, at - this.current));
  }

  private nextDue(): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.timers) {
      if (t.cancelled) continue;
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }
}

/** Lets pending promise callbacks (batch completions, rejections) run. */
export function flushPromises(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
