import { AppError } from '../../shared/errors/index.ts';

/**
 * Triton's `dynamic_batching` settings for one model, already parsed. Times are microseconds, as in Triton's
 * `config.pbtxt`.
 */
export interface BatchingConfig {
  /** 0 = the model does not batch: each request runs alone. */
  maxBatchSize: number;
  /** May be empty; Triton then treats `[maxBatchSize]` as the only preferred size. */
  preferredBatchSizes: number[];
  /** 0 = never wait for more requests. */
  maxQueueDelayMicros: number;
  /** 0 = unbounded; counts queued requests (not items). */
  maxQueueSize: number;
  /** 0 = no timeout. */
  defaultTimeoutMicros: number;
  /** 0 = priorities disabled; else levels 1..N, 1 highest. */
  priorityLevels: number;
  /** Level of a request that gives none (Triton `default_priority_level`); 0 = the lowest level. */
  defaultPriorityLevel: number;
  /** Runner instances (instance_group count): batches in flight at once. */
  concurrency: number;
}

/** What the policy needs to know about one queued request. Times are `Clock.now()` milliseconds. */
export interface QueuedView {
  readonly batchKey: string;
  /** Items in the request (its batch dimension), >= 1. */
  readonly size: number;
  /** Effective level, 1 (highest) .. levels; 1 for every request when priorities are disabled. */
  readonly priority: number;
  readonly enqueuedAt: number;
  /** Absolute expiry time; `Infinity` when the request has no timeout. */
  readonly deadline: number;
}

/** A validated config with the derived values `decide` needs on every call. */
export interface BatchPolicy {
  /** `maxBatchSize > 0`. */
  readonly batching: boolean;
  readonly maxBatchSize: number;
  /** Triton-normalized: `{maxBatchSize}` when the config lists none. Empty when not batching. */
  readonly preferred: ReadonlySet<number>;
  /** Largest preferred size (so `maxBatchSize` when the config lists none). */
  readonly maxPreferred: number;
  readonly delayMs: number;
  readonly maxQueueSize: number;
  readonly defaultTimeoutMicros: number;
  readonly priorityEnabled: boolean;
  /** Number of priority levels in the queue: `priorityLevels`, or 1 when priorities are disabled. */
  readonly levels: number;
  /** The level used for a request that gives none (resolved: never 0). */
  readonly defaultLevel: number;
  readonly concurrency: number;
}

function isNonNegativeInt(n: number): boolean {
  return Number.isInteger(n) && n >= 0;
}

/**
 * Validates a config and derives the policy. Throws AppError('MODEL_LOAD_FAILED') naming the model and the
 * offending field: a bad batching config must stop the model from loading, never surface per request.
 */
export function compilePolicy(config: BatchingConfig, model = 'model'): BatchPolicy {
  const bad = (what: string): never => {
    throw new AppError('MODEL_LOAD_FAILED', `invalid dynamic batching config for model ${model}: ${what}`);
  };
  const c = config;
  if (!isNonNegativeInt(c.maxBatchSize)) bad(`max_batch_size must be an integer >= 0, got ${c.maxBatchSize}`);
  if (!(Number.isFinite(c.maxQueueDelayMicros) && c.maxQueueDelayMicros >= 0)) {
    bad(`max_queue_delay_microseconds must be >= 0, got ${c.maxQueueDelayMicros}`);
  }
  if (!isNonNegativeInt(c.maxQueueSize)) bad(`max_queue_size must be an integer >= 0, got ${c.maxQueueSize}`);
  if (!(Number.isFinite(c.defaultTimeoutMicros) && c.defaultTimeoutMicros >= 0)) {
    bad(`default_timeout_microseconds must be >= 0, got ${c.defaultTimeoutMicros}`);
  }
  if (!isNonNegativeInt(c.priorityLevels))
    bad(`priority_levels must be an integer >= 0, got ${c.priorityLevels}`);
  if (!isNonNegativeInt(c.defaultPriorityLevel) || c.defaultPriorityLevel > c.priorityLevels) {
    bad(`default_priority_level must be in 0..${c.priorityLevels}, got ${c.defaultPriorityLevel}`);
  }
  if (!(Number.isInteger(c.concurrency) && c.concurrency >= 1)) {
    bad(`instance count must be an integer >= 1, got ${c.concurrency}`);
  }
  const batching = c.maxBatchSize > 0;
  if (!batching && c.preferredBatchSizes.length > 0) {
    bad('preferred_batch_size is set but max_batch_size is 0 (the model does not batch)');
  }
  for (const size of c.preferredBatchSizes) {
    if (!(Number.isInteger(size) && size >= 1 && size <= c.maxBatchSize)) {
      bad(`preferred_batch_size ${size} must be an integer in 1..max_batch_size (${c.maxBatchSize})`);
    }
  }
  const preferred = new Set(
    batching && c.preferredBatchSizes.length === 0 ? [c.maxBatchSize] : c.preferredBatchSizes,
  );
  let maxPreferred = 0;
  for (const size of preferred) maxPreferred = Math.max(maxPreferred, size);
  const priorityEnabled = c.priorityLevels > 0;
  const levels = priorityEnabled ? c.priorityLevels : 1;
  return Object.freeze({
    batching,
    maxBatchSize: c.maxBatchSize,
    preferred,
    maxPreferred,
    delayMs: c.maxQueueDelayMicros / 1000,
    maxQueueSize: c.maxQueueSize,
    defaultTimeoutMicros: c.defaultTimeoutMicros,
    priorityEnabled,
    levels,
    defaultLevel: priorityEnabled && c.defaultPriorityLevel > 0 ? c.defaultPriorityLevel : levels,
    concurrency: c.concurrency,
  });
}

/** Why `decide` chose to run now; for tests, logs and traces. */
export type RunReason =
  /** `maxBatchSize` is 0: the head request runs alone, at once. */
  | 'unbatched'
  /** A preferred batch size was formed (possibly leaving more queued). */
  | 'preferred'
  /** The batch cannot grow: the next request has another batchKey or does not fit in `maxBatchSize`. */
  | 'cut'
  /** The batch holds `maxPreferred` items or more, or the next request would take it past `maxPreferred`. */
  | 'full'
  /** The oldest request in the batch has waited `maxQueueDelayMicros`. */
  | 'delay'
  /** `maxQueueDelayMicros` is 0: never wait. */
  | 'no-delay'
  /** The batcher is draining: nothing new can arrive, so waiting cannot help. */
  | 'flush'
  /** Every runner is idle and the queue holds one request: waiting would only add latency at low load. */
  | 'idle';

export type Decision =
  /** Run the first `take` requests of the queue (in queue order), `items` items in all. */
  | { readonly kind: 'run'; readonly take: number; readonly items: number; readonly reason: RunReason }
  /** Do nothing until `untilMs` (or until the queue changes). */
  | { readonly kind: 'wait'; readonly untilMs: number }
  /** Nothing to do: the queue is empty or no runner is free. */
  | { readonly kind: 'idle' };

export interface DecideState {
  /** Live (unexpired) requests in queue order: priority level 1 first, FIFO within a level. Read lazily. */
  readonly queue: Iterable<QueuedView>;
  readonly now: number;
  /** Runners free to take a batch now. */
  readonly freeSlots: number;
  /**
   * When no runner is free: batches that may still be handed to the runner ahead of time, to start the moment a
   * runner frees (0 or absent = none). Only a batch that can no longer grow is staged, see `decide`.
   */
  readonly stageSlots?: number;
  /** True when no more requests can arrive (draining): never wait. */
  readonly flush?: boolean;
  /** True when no batch is running on any runner. */
  readonly idle?: boolean;
}

const IDLE: Decision = Object.freeze({ kind: 'idle' });

function run(take: number, items: number, reason: RunReason): Decision {
  return { kind: 'run', take, items, reason };
}

/**
 * The dynamic batching decision, Triton's `DynamicBatchScheduler::GetDynamicBatch` rule for rule.
 *
 * The candidate batch is the longest PREFIX of the queue (priority order, FIFO within a level) that
 * - shares the head request's `batchKey`, and
 * - fits in `maxBatchSize` items, requests never split.
 * The first request that differs or does not fit ends the scan ("cut"): as in Triton, FIFO order forbids
 * later requests from jumping over it, so the batch cannot grow and runs at once. Scanning stops there, so
 * one decision reads at most `maxBatchSize + 1` requests whatever the queue length.
 *
 * While scanning, `best` remembers the prefix to prefer: the last prefix whose item count is a preferred
 * size, or, if none was found before it, the prefix just before `maxPreferred` (the largest preferred size;
 * `maxBatchSize` when none are configured) would be exceeded. Then, in this order:
 * 1. `best` exists and the delay has not expired → run `best` ('preferred', or 'full' for the cut point
 *    before `maxPreferred`), even if more is queued;
 * 2. the batch was cut ('cut') or holds >= `maxPreferred` items ('full') → run the whole candidate;
 * 3. draining ('flush'), delay expired ('delay') or delay is 0 ('no-delay') → run the whole candidate;
 * 4. every runner is idle and the queue holds a single request ('idle') → run it: at low load the delay would
 *    only add latency (our one departure from Triton, which waits);
 * 5. otherwise wait until the OLDEST request in the candidate has waited `maxQueueDelayMicros`.
 * "Delay expired" means `now >= oldestEnqueuedAt + delay` and never holds when the delay is 0.
 *
 * Consequences worth knowing: with preferred sizes [4, 8] and max 16, a queue of 16 single-item requests runs
 * 8 now (a preferred size wins over max) and 8 next; with delay 0, preferred sizes still split the queue
 * (Triton does the same); a lone request on an idle batcher runs at once; with delay > 0 and runners busy,
 * requests wait for the delay.
 * With `maxBatchSize` 0 every request runs alone, in priority order, without waiting.
 *
 * Staging (our second departure): when no runner is free but `stageSlots` > 0, a batch that cannot grow any
 * more ('full', 'cut', a preferred size equal to `maxPreferred`, or any request of a model that does not batch)
 * is returned to run now; the runner queues it behind the running batch. Nothing else is decided early, so
 * staging never makes a batch smaller than it would have been; a batch holding a request with a timeout is
 * never staged (it must still be able to expire while it waits).
 */
export function decide(state: DecideState, policy: BatchPolicy): Decision {
  if (state.freeSlots > 0) return decideFree(state, policy);
  if (!((state.stageSlots ?? 0) > 0)) return IDLE;
  // Every runner is busy. Hand over a batch early only when waiting could not change it: it already holds
  // `maxPreferred` items or is cut, or the model does not batch. Forming it now (copying its inputs together)
  // overlaps that work with the running batch, so the runner starts the next batch as soon as it is free instead
  // of idling while the main thread assembles it. A batch that could still grow is left to the normal rules.
  const d = decideFree({ ...state, freeSlots: 1, flush: false, idle: false }, policy);
  if (d.kind !== 'run') return IDLE;
  const complete =
    d.reason === 'unbatched' ||
    d.reason === 'cut' ||
    d.reason === 'full' ||
    (d.reason === 'preferred' && d.items >= policy.maxPreferred);
  if (!complete) return IDLE;
  // A staged request can no longer expire in the queue, so requests with a timeout are only dispatched to a free
  // runner: a timeout must keep meaning "rejected, never run" when it expires while the runner is busy.
  let i = 0;
  for (const v of state.queue) {
    if (i++ >= d.take) break;
    if (v.deadline !== Number.POSITIVE_INFINITY) return IDLE;
  }
  return d;
}

function decideFree(state: DecideState, policy: BatchPolicy): Decision {
  const it = state.queue[Symbol.iterator]();
  let r = it.next();
  if (r.done) return IDLE;
  const head = r.value;
  if (!policy.batching) return run(1, head.size, 'unbatched');

  const { maxBatchSize, maxPreferred, preferred } = policy;
  let pending = 0;
  let count = 0;
  let oldest = Number.POSITIVE_INFINITY;
  let bestCount = 0;
  let bestItems = 0;
  let cut = false;
  for (; !r.done; r = it.next()) {
    const v = r.value;
    if (count > 0) {
      const grown = pending + v.size;
      if (grown > maxPreferred && bestCount === 0) {
        bestCount = count;
        bestItems = pending;
      }
      if (grown > maxBatchSize || v.batchKey !== head.batchKey) {
        cut = true;
        break;
      }
    }
    pending += v.size;
    count++;
    if (v.enqueuedAt < oldest) oldest = v.enqueuedAt;
    if (preferred.has(pending)) {
      bestCount = count;
      bestItems = pending;
    }
  }

  const until = oldest + policy.delayMs;
  const delayExpired = policy.delayMs > 0 && state.now >= until;
  if (bestCount > 0 && !delayExpired) {
    return run(bestCount, bestItems, preferred.has(bestItems) ? 'preferred' : 'full');
  }
  if (cut) return run(count, pending, 'cut');
  if (pending >= maxPreferred) return run(count, pending, 'full');
  if (state.flush) return run(count, pending, 'flush');
  if (delayExpired) return run(count, pending, 'delay');
  if (policy.delayMs === 0) return run(count, pending, 'no-delay');
  if (state.idle && count === 1 && r.done) return run(1, pending, 'idle');
  return { kind: 'wait', untilMs: until };
}

/**
 * The timeout a request gets, in microseconds (0 = none). A request may only SHORTEN the model's default:
 * `min(default, requested)` when the model has a default, else what it asked for. A requested 0 or none
 * means "the model default".
 */
export function effectiveTimeoutMicros(defaultMicros: number, requestedMicros?: number): number {
  if (requestedMicros === undefined || requestedMicros <= 0) return defaultMicros;
  return defaultMicros > 0 ? Math.min(defaultMicros, requestedMicros) : requestedMicros;
}

/** Absolute deadline in clock ms; `Infinity` when `timeoutMicros` is 0. */
export function deadlineOf(enqueuedAt: number, timeoutMicros: number): number {
  return timeoutMicros > 0 ? enqueuedAt + timeoutMicros / 1000 : Number.POSITIVE_INFINITY;
}

/** A request expires at its deadline exactly (the same comparison the expiry timer is armed for). */
export function isExpired(view: Pick<QueuedView, 'deadline'>, now: number): boolean {
  return now >= view.deadline;
}

/**
 * When the batcher must next look at the queue: the earlier of the policy's wait and the earliest deadline of
 * a queued request (so expired requests are rejected even while every runner is busy). `Infinity` = never.
 */
export function nextWakeMs(decision: Decision, earliestDeadline: number): number {
  return decision.kind === 'wait' ? Math.min(decision.untilMs, earliestDeadline) : earliestDeadline;
}

/** What a caller asks for, as far as validation is concerned. */
export interface RequestShape {
  size: number;
  priority?: number | undefined;
  timeoutMicros?: number | undefined;
}

/**
 * Validates a request against the policy; returns an error message for INVALID_INPUT, or `null`.
 * Priority 0 or none means the default level; when priorities are disabled any integer priority is ignored
 * (as Triton does).
 */
export function checkRequest(req: RequestShape, policy: BatchPolicy): string | null {
  if (!(Number.isInteger(req.size) && req.size >= 1)) {
    return `batch size must be a positive integer, got ${req.size}`;
  }
  if (policy.batching && req.size > policy.maxBatchSize) {
    return `batch size ${req.size} exceeds the model's max_batch_size ${policy.maxBatchSize}`;
  }
  const p = req.priority;
  if (p !== undefined) {
    if (!(Number.isInteger(p) && p >= 0)) return `priority must be a non-negative integer, got ${p}`;
    if (policy.priorityEnabled && p > policy.levels) {
      return `priority ${p} is out of range: the model has priority levels 1..${policy.levels} (1 highest)`;
    }
  }
  const t = req.timeoutMicros;
  if (t !== undefined && !(Number.isFinite(t) && t >= 0)) {
    return `timeout must be a non-negative number of microseconds, got ${t}`;
  }
  return null;
}

/** The queue level of a validated request: its priority, or the default level. */
export function priorityLevel(requested: number | undefined, policy: BatchPolicy): number {
  if (!policy.priorityEnabled || requested === undefined || requested === 0) return policy.defaultLevel;
  return requested;
}

export interface RetryEstimateInput {
  /** Recent batch compute time (moving average), ms; `undefined` before the first batch. */
  avgBatchMs: number | undefined;
  queuedItems: number;
  maxBatchSize: number;
  concurrency: number;
}

export const MIN_RETRY_AFTER_SECONDS = 1;
export const MAX_RETRY_AFTER_SECONDS = 60;

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
