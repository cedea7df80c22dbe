import { type Clock, systemClock } from '../../shared/clock.ts';
import { AppError, type ErrorCode, isAppError } from '../../shared/errors/index.ts';
import { type BatchingConfig, type BatchPolicy, compilePolicy } from './compile-policy.ts';
import { type Decision, decide, nextWakeMs } from './decide.ts';
import {
  type BatcherObserver,
  type BatchItem,
  batchFailure,
  type ExecuteBatch,
  type RequestFailure,
} from './execute-batch.ts';
import { type EnqueueRequest, Pending } from './pending-request.ts';
import { BoundedPriorityQueue } from './queue.ts';
import { checkRequest, effectiveTimeoutMicros, priorityLevel } from './request-rules.ts';
import { resolveInSlices } from './resolve-in-slices.ts';
import { retryAfterSeconds } from './retry-after.ts';
import { type BatchTiming, StagedBatches } from './staged-batches.ts';
import { WakeTimer } from './wake-timer.ts';

export interface BatcherOptions<T, R> {
  /** Model name, for error messages. */
  name: string;
  config: BatchingConfig;
  execute: ExecuteBatch<T, R>;
  clock?: Clock;
  observer?: BatcherObserver;
  /**
   * Batches that may be handed to `execute` beyond `concurrency`, while every runner is busy, when they cannot
   * grow any more (see `decide`); `execute` must queue them. 0 (default) = Triton's behaviour, none.
   */
  stageBatches?: number;
}

export interface BatcherStats {
  /** Requests queued, not yet running. */
  queued: number;
  queuedItems: number;
  inFlightBatches: number;
  inFlightItems: number;
}

/**
 * - `open`: accepting requests.
 * - `closing` (after `close()`): `enqueue` rejects with DRAINING; queued requests still run, without waiting
 *   for the queue delay (nothing can join them any more).
 * - `closed`: the queue is empty and, after `close()`, nothing is in flight. `destroy()` enters it at once:
 *   queued requests are rejected; batches already running still settle their own requests.
 */
export type BatcherState = 'open' | 'closing' | 'closed';

/** Weight of the newest batch in the moving average of compute time used for Retry-After. */
const EWMA_ALPHA = 0.2;

/**
 * Triton-style dynamic batcher for one model: a bounded priority queue and up to `concurrency` batches in
 * flight. The decisions are `decide` in decide.ts; this class only keeps the queue, calls `decide` whenever
 * something changes (enqueue, abort, batch completion, timer, close) and arms at most one wake-up timer, for
 * the earlier of the queue-delay window and the earliest request deadline. After enqueue and abort it decides
 * in a microtask, so `execute` is never called inside `enqueue` (except to make room in a full queue) and a
 * burst queued in one synchronous step is decided as a whole; `stats()` counts such requests as queued.
 *
 * Errors (all AppError, always as a rejected promise): INVALID_INPUT (bad size/priority/timeout), QUEUE_FULL
 * (with Retry-After), DRAINING (closing or closed), DEADLINE_EXCEEDED (expired while queued; never executed),
 * UNAVAILABLE (aborted by the client, or destroyed), INFERENCE_FAILED (execute failed or returned the wrong
 * number of results; an AppError thrown by execute passes through unchanged).
 */
export class Batcher<T, R> {
  readonly name: string;
  readonly policy: BatchPolicy;
  private readonly execute: ExecuteBatch<T, R>;
  private readonly clock: Clock;
  private readonly observer: BatcherObserver | undefined;
  private readonly stageBatches: number;
  private readonly staged = new StagedBatches();
  private readonly queue: BoundedPriorityQueue<Pending<T, R>>;
  private currentState: BatcherState = 'open';
  private inFlightBatches = 0;
  private inFlightItems = 0;
  private avgBatchMs: number | undefined;
  private readonly timer: WakeTimer;
  private pumping = false;
  private pumpScheduled = false;
  private readonly scheduledPump = (): void => {
    this.pumpScheduled = false;
    this.pump();
  };
  private pumpAgain = false;
  private closeWaiters: Array<() => void> = [];
  private readonly onAbort = (entry: Pending<T, R>): void => {
    if (!this.queue.remove(entry)) return;
    this.fail(
      entry,
      new AppError('UNAVAILABLE', `request to model ${this.name} was cancelled before it ran`, {
        cause: entry.signal?.reason,
      }),
    );
    // Deferred like enqueue: an abort in the middle of a burst must not decide on the part queued so far.
    this.schedulePump();
  };

  constructor(options: BatcherOptions<T, R>) {
    this.name = options.name;
    this.policy = compilePolicy(options.config, options.name);
    this.execute = options.execute;
    this.clock = options.clock ?? systemClock;
    this.timer = new WakeTimer(this.clock, () => this.pump());
    this.observer = options.observer;
    const stage = options.stageBatches ?? 0;
    if (!(Number.isInteger(stage) && stage >= 0)) {
      throw new RangeError(`stageBatches must be an integer >= 0, got ${stage}`);
    }
    this.stageBatches = stage;
    this.queue = new BoundedPriorityQueue(this.policy.levels, this.policy.maxQueueSize);
  }

  get state(): BatcherState {
    return this.currentState;
  }

  stats(): BatcherStats {
    return {
      queued: this.queue.size,
      queuedItems: this.queue.items,
      inFlightBatches: this.inFlightBatches,
      inFlightItems: this.inFlightItems,
    };
  }

  /** Queues one request; resolves with its result. Never throws: every error is a rejected promise. */
  enqueue(req: EnqueueRequest<T>): Promise<R> {
    if (this.currentState !== 'open') {
      return this.refuse(
        new AppError(
          'DRAINING',
          this.currentState === 'closing'
            ? `model ${this.name} is draining and no longer accepts requests`
            : `model ${this.name} is closed and no longer accepts requests`,
        ),
      );
    }
    const invalid = checkRequest(req, this.policy);
    if (invalid !== null)
      return this.refuse(new AppError('INVALID_INPUT', `${invalid} (model ${this.name})`));
    if (req.signal?.aborted) {
      return this.refuse(
        new AppError('UNAVAILABLE', `request to model ${this.name} was cancelled before it ran`, {
          cause: req.signal.reason,
        }),
      );
    }
    // A decision still pending may dispatch part of a full queue: take it now rather than refuse a request that
    // a free runner would make room for (the burst is already split by the limit).
    if (this.queue.full && this.pumpScheduled) this.pump();
    const now = this.clock.now();
    // Expired requests must not hold queue slots.
    this.expire(now);
    if (this.queue.full) {
      return this.refuse(
        new AppError(
          'QUEUE_FULL',
          `queue of model ${this.name} is full (max_queue_size ${this.policy.maxQueueSize} requests)`,
          {
            retryAfterSeconds: retryAfterSeconds({
              avgBatchMs: this.avgBatchMs,
              queuedItems: this.queue.items,
              maxBatchSize: this.policy.maxBatchSize,
              concurrency: this.policy.concurrency,
            }),
          },
        ),
      );
    }
    const entry = new Pending<T, R>(
      req,
      priorityLevel(req.priority, this.policy),
      now,
      effectiveTimeoutMicros(this.policy.defaultTimeoutMicros, req.timeoutMicros),
      this.onAbort,
    );
    const promise = new Promise<R>((resolve, reject) => {
      entry.resolve = resolve;
      entry.reject = reject;
    });
    this.queue.push(entry);
    entry.signal?.addEventListener('abort', entry, { once: true });
    // Decide after the current task: requests that arrive together (one I/O tick, one test step) are seen
    // together, so the idle rule does not split a burst into a lone request and the rest.
    this.schedulePump();
    return promise;
  }

  /** Stops accepting requests; resolves once the queue is empty and nothing is in flight. */
  close(): Promise<void> {
    if (this.currentState === 'open') this.currentState = 'closing';
    const done = new Promise<void>((resolve) => this.closeWaiters.push(resolve));
    this.pump();
    return done;
  }

  /** Rejects every queued request at once (default: UNAVAILABLE) and closes; running batches still settle. */
  destroy(reason?: unknown): void {
    this.currentState = 'closed';
    const error = isAppError(reason)
      ? reason
      : new AppError(
          'UNAVAILABLE',
          `model ${this.name} was unloaded before the request ran` +
            (reason instanceof Error ? `: ${reason.message}` : ''),
          reason === undefined ? {} : { cause: reason },
        );
    for (const entry of this.queue.drain()) this.fail(entry, error);
    this.timer.arm(Number.POSITIVE_INFINITY, 0);
    this.settleClose();
  }

  private refuse(error: AppError): Promise<R> {
    this.notifyReject(error.code);
    return Promise.reject(error);
  }

  private notifyReject(code: ErrorCode): void {
    try {
      this.observer?.onReject?.(code);
    } catch {
      // Metrics must never break serving.
    }
  }

  private fail(entry: Pending<T, R>, error: AppError): void {
    entry.detachSignal();
    entry.payload = undefined;
    this.notifyReject(error.code);
    entry.reject(error);
  }

  private expire(now: number): void {
    for (let e = this.queue.popExpired(now); e; e = this.queue.popExpired(now)) {
      this.fail(
        e,
        new AppError(
          'DEADLINE_EXCEEDED',
          `request timed out after ${e.timeoutMicros}µs in the queue of model ${this.name}`,
        ),
      );
    }
  }

  /** Pumps once, in a microtask: every change made in the current synchronous step is decided together. */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(this.scheduledPump);
  }

  /** Runs every batch `decide` allows now, then arms the wake-up timer. Re-entrant calls are folded in. */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        const now = this.clock.now();
        this.expire(now);
        let decision: Decision | undefined;
        while (this.queue.size > 0) {
          decision = decide(
            {
              queue: this.queue,
              now,
              freeSlots: this.policy.concurrency - this.inFlightBatches,
              stageSlots: this.policy.concurrency + this.stageBatches - this.inFlightBatches,
              flush: this.currentState !== 'open',
              idle: this.inFlightBatches === 0,
            },
            this.policy,
          );
          if (decision.kind === 'run') {
            this.dispatch(decision.take, now);
            continue;
          }
          break;
        }
        const earliestDeadline = this.queue.earliestDeadline();
        this.timer.arm(decision ? nextWakeMs(decision, earliestDeadline) : earliestDeadline, now);
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
    this.settleClose();
  }

  private dispatch(take: number, now: number): void {
    const entries = new Array<Pending<T, R>>(take);
    const batch = new Array<BatchItem<T>>(take);
    const queueMicros = new Array<number>(take);
    let items = 0;
    for (let i = 0; i < take; i++) {
      const e = this.queue.shift()!;
      e.detachSignal();
      entries[i] = e;
      batch[i] = { payload: e.payload as T, size: e.size };
      e.payload = undefined;
      queueMicros[i] = (now - e.enqueuedAt) * 1000;
      items += e.size;
    }
    for (const e of entries) {
      if (!e.onDispatch) continue;
      try {
        e.onDispatch({ items, requests: take });
      } catch {
        // Tracing must never break serving.
      }
    }
    const running: BatchTiming = { startedAt: now, queueMicros };
    if (this.inFlightBatches >= this.policy.concurrency) this.staged.stage(running);
    this.inFlightBatches++;
    this.inFlightItems += items;
    let result: Promise<Array<R | RequestFailure>>;
    try {
      result = this.execute(batch);
      if (typeof result?.then !== 'function') result = Promise.resolve(result);
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      (results) => this.complete(entries, items, running, results),
      (err: unknown) => this.complete(entries, items, running, undefined, err),
    );
  }

  private complete(
    entries: Array<Pending<T, R>>,
    items: number,
    running: BatchTiming,
    results: Array<R | RequestFailure> | undefined,
    err?: unknown,
  ): void {
    const now = this.clock.now();
    this.staged.completed(running, now);
    const computeMs = now - running.startedAt;
    this.inFlightBatches--;
    this.inFlightItems -= items;
    const error = batchFailure(this.name, entries.length, results, err);
    if (error) {
      for (const e of entries) {
        this.notifyReject(error.code);
        e.reject(error);
      }
    } else {
      this.avgBatchMs =
        this.avgBatchMs === undefined
          ? computeMs
          : this.avgBatchMs + EWMA_ALPHA * (computeMs - this.avgBatchMs);
      resolveInSlices(entries, results as Array<R | RequestFailure>, (e) => this.notifyReject(e.code));
      try {
        this.observer?.onBatch?.({
          size: items,
          requests: entries.length,
          queueMicros: running.queueMicros,
          computeMicros: computeMs * 1000,
        });
      } catch {
        // Metrics must never break serving.
      }
    }
    this.pump();
  }

  private settleClose(): void {
    if (this.currentState === 'open' || this.queue.size > 0 || this.inFlightBatches > 0) return;
    this.currentState = 'closed';
    if (this.closeWaiters.length === 0) return;
    const waiters = this.closeWaiters;
    this.closeWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
