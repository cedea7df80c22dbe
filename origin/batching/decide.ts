import type { BatchPolicy } from './compile-policy.ts';

/**
 * The dynamic batcher's decisions, kept pure (no clock, no timers, no I/O) so each rule is tested on its own;
 * batcher.ts applies them to its queue.
 */

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

/** Why `decide` chose to run now; for tests, logs and traces. */
type RunReason =
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
 * When the batcher must next look at the queue: the earlier of the policy's wait and the earliest deadline of
 * a queued request (so expired requests are rejected even while every runner is busy). `Infinity` = never.
 */
export function nextWakeMs(decision: Decision, earliestDeadline: number): number {
  return decision.kind === 'wait' ? Math.min(decision.untilMs, earliestDeadline) : earliestDeadline;
}
