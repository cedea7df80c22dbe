import type { AppError } from '../../shared/errors/index.ts';
import { QueueEntry } from './queue.ts';
import { deadlineOf } from './request-rules.ts';

export interface EnqueueRequest<T> {
  payload: T;
  /** Requests share a batch only when their keys are equal (model, non-batch shapes and dtypes, outputs). */
  batchKey: string;
  /** Items in the request, >= 1; <= maxBatchSize when the model batches. */
  size: number;
  /** 1..priorityLevels (1 highest); 0 or none = the model's default level. Ignored when priorities are off. */
  priority?: number;
  /** May only shorten the model's default timeout; 0 or none = the default. */
  timeoutMicros?: number;
  /** Aborting removes the request from the queue if it has not started running. */
  signal?: AbortSignal;
  /**
   * Called when the request leaves the queue in a batch, just before that batch runs, with the batch's size
   * (items) and request count: where its queue wait ends and its compute starts (the request's spans).
   */
  onDispatch?: (batch: { items: number; requests: number }) => void;
}

/** A queued request: its queue bookkeeping, payload, timeout, abort signal and promise callbacks. */
export class Pending<T, R> extends QueueEntry {
  payload: T | undefined;
  readonly timeoutMicros: number;
  signal: AbortSignal | undefined;
  readonly onDispatch: EnqueueRequest<T>['onDispatch'];
  resolve!: (value: R) => void;
  reject!: (reason: AppError) => void;
  private readonly onAbort: (entry: Pending<T, R>) => void;

  constructor(
    req: EnqueueRequest<T>,
    priority: number,
    now: number,
    timeoutMicros: number,
    onAbort: (entry: Pending<T, R>) => void,
  ) {
    super(req.batchKey, req.size, priority, now, deadlineOf(now, timeoutMicros));
    this.payload = req.payload;
    this.timeoutMicros = timeoutMicros;
    this.signal = req.signal;
    this.onDispatch = req.onDispatch;
    this.onAbort = onAbort;
  }

  /** EventListener protocol: the entry itself listens for `abort`, so no closure per request. */
  handleEvent(): void {
    this.onAbort(this);
  }

  detachSignal(): void {
    if (this.signal) {
      this.signal.removeEventListener('abort', this);
      this.signal = undefined;
    }
  }
}
