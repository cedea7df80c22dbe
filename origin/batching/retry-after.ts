export interface RetryEstimateInput {
  /** Recent batch compute time (moving average), ms; `undefined` before the first batch. */
  avgBatchMs: number | undefined;
  queuedItems: number;
  maxBatchSize: number;
  concurrency: number;
}

const MIN_RETRY_AFTER_SECONDS = 1;
const MAX_RETRY_AFTER_SECONDS = 60;

/**
 * Retry-After for QUEUE_FULL: the time to work off the queue, i.e. recent batch duration x the batches the
 * queued items make, spread over the runners; rounded up, clamped to [1, 60] s (1 s before any batch ran).
 */
export function retryAfterSeconds(input: RetryEstimateInput): number {
  if (input.avgBatchMs === undefined) return MIN_RETRY_AFTER_SECONDS;
  const batches = Math.ceil(input.queuedItems / Math.max(1, input.maxBatchSize));
  const waves = Math.ceil(batches / Math.max(1, input.concurrency));
  const seconds = Math.ceil((input.avgBatchMs * waves) / 1000);
  return Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(MIN_RETRY_AFTER_SECONDS, seconds));
}
