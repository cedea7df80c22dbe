/** A dispatched batch's timing: `startedAt` moves to when a runner took it, for a staged batch. */
export interface BatchTiming {
  startedAt: number;
  /** Per request, enqueue to start. */
  queueMicros: number[];
}

/**
 * Batches handed to `execute` while every runner was busy, oldest first. A staged batch starts when a runner
 * frees, so until then its wait counts as queue time, not compute time.
 */
export class StagedBatches {
  readonly #waiting: BatchTiming[] = [];

  stage(batch: BatchTiming): void {
    this.#waiting.push(batch);
  }

  /** `batch` completed at `now`; unless it was still staged, its runner starts the oldest staged batch now. */
  completed(batch: BatchTiming, now: number): void {
    const index = this.#waiting.indexOf(batch);
    if (index >= 0) {
      this.#waiting.splice(index, 1);
      return;
    }
    // Runners serve FIFO.
    const next = this.#waiting.shift();
    if (!next) return;
    const waited = (now - next.startedAt) * 1000;
    for (let i = 0; i < next.queueMicros.length; i++) next.queueMicros[i]! += waited;
    next.startedAt = now;
  }
}
