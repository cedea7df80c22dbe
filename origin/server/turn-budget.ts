/**
 * Spreads heavy synchronous work (request decoding, response encoding) over event-loop turns.
 *
 * Why: under load many request bodies finish arriving in the same poll phase, and each one's handler then runs
 * its decode in that same turn. A JSON tensor body of 0.5 MB costs about 3 ms to parse, so 30 of them completing
 * together stall the loop for ~90 ms: health probes, /metrics, timers and the batcher's delay window all wait.
 * The benchmark measured exactly that (event-loop lag p99 80–100 ms with JSON bodies).
 *
 * How: jobs run at once while the work done in the current turn is under `budgetMs`; past it, they queue FIFO and
 * run from a deferred callback (`setImmediate` in production: the check phase, so timers and I/O get their turn
 * first), again only up to the budget per turn. A turn's spending is reset by that same deferred callback, which
 * is armed whenever anything was spent. Work stays on the main thread and is never dropped or reordered; the
 * cost at low load is nothing (the first job of a turn always runs at once).
 */

export interface TurnBudgetOptions {
  /** Synchronous work allowed per turn, in ms; a single job longer than this still runs (alone). */
  budgetMs: number;
  /** Monotonic ms (`Clock.now`). */
  now: () => number;
  /** Runs a callback after the current turn's I/O; `setImmediate` by default. */
  defer?: (fn: () => void) => void;
}

interface Job {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

export class TurnBudget {
  readonly budgetMs: number;
  readonly #now: () => number;
  readonly #defer: (fn: () => void) => void;
  readonly #queue: Job[] = [];
  #head = 0;
  #spent = 0;
  #boundaryArmed = false;
  readonly #onBoundary = (): void => this.#boundary();

  constructor(options: TurnBudgetOptions) {
    if (!(Number.isFinite(options.budgetMs) && options.budgetMs > 0)) {
      throw new RangeError(`budgetMs must be a positive number, got ${options.budgetMs}`);
    }
    this.budgetMs = options.budgetMs;
    this.#now = options.now;
    this.#defer = options.defer ?? ((fn) => setImmediate(fn));
  }

  /** Jobs waiting for a later turn. */
  get queued(): number {
    return this.#queue.length - this.#head;
  }

  /** Work measured in the current turn so far, ms. */
  get spentMs(): number {
    return this.#spent;
  }

  /**
   * Runs `work` now if this turn still has budget and nothing is waiting, else in a later turn (FIFO). Resolves
   * with its result or rejects with what it threw.
   */
  run<T>(work: () => T): Promise<T> {
    if (this.queued === 0 && this.#spent < this.budgetMs) {
      return new Promise<T>((resolve, reject) => this.#execute({ work, resolve, reject } as Job));
    }
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, resolve, reject } as Job);
      this.#armBoundary();
    });
  }

  #execute(job: Job): void {
    const started = this.#now();
    try {
      job.resolve(job.work());
    } catch (err) {
      job.reject(err);
    } finally {
      this.#spent += Math.max(0, this.#now() - started);
      this.#armBoundary();
    }
  }

  #armBoundary(): void {
    if (this.#boundaryArmed) return;
    this.#boundaryArmed = true;
    this.#defer(this.#onBoundary);
  }

  #boundary(): void {
    this.#boundaryArmed = false;
    this.#spent = 0;
    // At least one job per turn, so a job longer than the budget cannot starve the queue.
    while (this.queued > 0 && this.#spent < this.budgetMs) {
      const job = this.#queue[this.#head]!;
      this.#queue[this.#head] = undefined as unknown as Job;
      this.#head++;
      this.#execute(job);
    }
    if (this.queued === 0) {
      this.#queue.length = 0;
      this.#head = 0;
    }
    // #execute re-armed the boundary when anything ran: the rest of the queue (or the reset of what this turn
    // spent) happens after the next round of timers and I/O.
  }
}
