import { LatencyRecorder, type LatencySummary } from '../../../shared/stats/latency.ts';
import type { Outcome } from './send.ts';

export interface LoadPlan {
  /** Clients, each sending its next request as soon as its previous answer is read. */
  concurrency: number;
  durationMs: number;
  /** Stop after this many requests even before `durationMs` (null: no cap). */
  maxRequests: number | null;
  progressEveryMs: number;
}

export interface LoadProgress {
  elapsedMs: number;
  requests: number;
  /** Requests per second over the last progress interval. */
  recentRate: number;
  errors: number;
}

export interface LoadSummary {
  requests: number;
  durationMs: number;
  requestsPerSecond: number;
  /** Latency of the successful (2xx) answers. */
  latency: LatencySummary;
  /** Answers by HTTP status, and `error` for requests that got none. */
  statuses: Record<string, number>;
  /** `X-Cache` values of the successful answers. */
  xCache: Record<string, number>;
  errors: number;
  firstError: string | null;
}

const bump = (counts: Record<string, number>, key: string) => {
  counts[key] = (counts[key] ?? 0) + 1;
};

/**
 * A closed loop of `concurrency` clients for `durationMs` or `maxRequests`, whichever ends first, reporting
 * progress every `progressEveryMs`. Every request sent is counted, late answers included.
 */
export async function runClosedLoop(
  plan: LoadPlan,
  send: () => Promise<Outcome>,
  options: { now?: () => number; onProgress?: (p: LoadProgress) => void } = {},
): Promise<LoadSummary> {
  const now = options.now ?? (() => performance.now());
  const latency = new LatencyRecorder();
  const statuses: Record<string, number> = {};
  const xCache: Record<string, number> = {};
  let started = 0;
  let completed = 0;
  let errors = 0;
  let firstError: string | null = null;
  const begin = now();
  const stopAt = begin + plan.durationMs;
  let lastTick = { at: begin, completed: 0 };
  const timer = setInterval(() => {
    const at = now();
    const recentRate = ((completed - lastTick.completed) * 1000) / Math.max(1, at - lastTick.at);
    lastTick = { at, completed };
    options.onProgress?.({ elapsedMs: at - begin, requests: completed, recentRate, errors });
  }, plan.progressEveryMs);

  const client = async (): Promise<void> => {
    while (now() < stopAt && (plan.maxRequests === null || started < plan.maxRequests)) {
      started++;
      const outcome = await send();
      completed++;
      bump(statuses, outcome.status === null ? 'error' : String(outcome.status));
      if (outcome.error !== null) {
        errors++;
        firstError ??= outcome.error;
        continue;
      }
      latency.add(outcome.latencyMs);
      if (outcome.xCache) bump(xCache, outcome.xCache);
    }
  };
  try {
    await Promise.all(Array.from({ length: plan.concurrency }, client));
  } finally {
    clearInterval(timer);
  }
  const durationMs = now() - begin;
  return {
    requests: completed,
    durationMs,
    requestsPerSecond: (completed * 1000) / Math.max(1, durationMs),
    latency: latency.summary(),
    statuses,
    xCache,
    errors,
    firstError,
  };
}
