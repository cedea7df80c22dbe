import { AppError, type ErrorCode, isAppError } from '../../shared/errors/index.ts';

/** The contract between the batcher and what runs and observes its batches. */

/** One request as `execute` sees it. */
export interface BatchItem<T> {
  payload: T;
  /** Items in this request (its batch dimension). */
  size: number;
}

/**
 * In place of a result from `execute`: this request failed on its own while the others in its batch have
 * results (for example after the batch was split to find which request the model could not run).
 */
export class RequestFailure {
  constructor(readonly error: AppError) {}
}

/**
 * Runs one batch; resolves with one result per request, in order, where a RequestFailure fails only its own
 * request.
 */
export type ExecuteBatch<T, R> = (batch: Array<BatchItem<T>>) => Promise<Array<R | RequestFailure>>;

/**
 * The error every request of a batch gets when `execute` failed (`results` undefined, `err` what it threw) or
 * returned the wrong number of results; undefined when the results can be handed out. An AppError thrown by
 * execute passes through unchanged.
 */
export function batchFailure<R>(
  model: string,
  requests: number,
  results: Array<R | RequestFailure> | undefined,
  err: unknown,
): AppError | undefined {
  if (results === undefined) {
    return isAppError(err)
      ? err
      : new AppError(
          'INFERENCE_FAILED',
          `inference failed for model ${model}: ${err instanceof Error ? err.message : String(err)}`,
          { cause: err },
        );
  }
  if (!Array.isArray(results) || results.length !== requests) {
    const got = Array.isArray(results) ? `${results.length} results` : 'a non-array';
    return new AppError(
      'INFERENCE_FAILED',
      `inference failed for model ${model}: execute returned ${got} for ${requests} requests`,
    );
  }
  return undefined;
}

/** One successful execution, for metrics. */
export interface BatchInfo {
  /** Items in the batch. */
  size: number;
  requests: number;
  /** Per request, time from enqueue to dispatch. */
  queueMicros: number[];
  computeMicros: number;
}

/** Metrics hooks; exceptions they throw are swallowed so metrics can never break serving. */
export interface BatcherObserver {
  /** After each batch whose execute resolved with the right number of results. */
  onBatch?(info: BatchInfo): void;
  /** Once per request the batcher rejects, with the error's code. */
  onReject?(code: ErrorCode): void;
}
