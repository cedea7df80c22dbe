import { Pool } from 'undici';
import { LatencyRecorder, type LatencySummary, nowMs, round } from '../origin/stats.ts';

/** One request as the load generator sends it; `body` may differ per call (cache misses need new inputs). */
export interface OutgoingRequest {
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface LoadOptions {
  baseUrl: string;
  clients: number;
  warmupMs: number;
  durationMs: number;
  /** The n-th request of the run (n counts from 0 across all clients). */
  request(n: number): OutgoingRequest;
  /** Null when the answer is what the scenario expects, else why not. */
  check(status: number, headers: Record<string, string | string[] | undefined>): string | null;
}

export interface LoadResult {
  requests: number;
  requestsPerSecond: number;
  latency: LatencySummary;
  errors: number;
  firstError: string | null;
  /** Counts of the `X-Cache` header values seen in the measured window. */
  xCache: Record<string, number>;
}

/**
 * Closed loop: `clients` connections, each sending its next request as soon as the previous answer is read.
 * Only answers completed inside the measured window (after the warm-up) count.
 */
export async function runClosedLoop(options: LoadOptions): Promise<LoadResult> {
  const pool = new Pool(options.baseUrl, { connections: options.clients, pipelining: 1 });
  const recorder = new LatencyRecorder();
  const xCache: Record<string, number> = {};
  let errors = 0;
  let firstError: string | null = null;
  let n = 0;
  const start = nowMs();
  const measureFrom = start + options.warmupMs;
  const stopAt = measureFrom + options.durationMs;

  const client = async (): Promise<void> => {
    while (nowMs() < stopAt) {
      const req = options.request(n++);
      const sent = nowMs();
      let problem: string | null;
      let cacheHeader: string | undefined;
      try {
        const res = await pool.request({
          path: req.path,
          method: 'POST',
          headers: req.headers,
          body: req.body,
        });
        const text = await res.body.text();
        const header = res.headers['x-cache'];
        cacheHeader = typeof header === 'string' ? header : undefined;
        problem = options.check(res.statusCode, res.headers);
        if (problem) problem = `${problem}: ${text.slice(0, 200)}`;
      } catch (err) {
        problem = err instanceof Error ? err.message : String(err);
      }
      const done = nowMs();
      if (sent < measureFrom || done > stopAt) continue;
      if (problem) {
        errors += 1;
        firstError ??= problem;
        continue;
      }
      recorder.add(done - sent);
      const key = cacheHeader ?? '(none)';
      xCache[key] = (xCache[key] ?? 0) + 1;
    }
  };

  try {
    await Promise.all(Array.from({ length: options.clients }, client));
  } finally {
    await pool.close();
  }
  const latency = recorder.summary();
  return {
    requests: recorder.count,
    requestsPerSecond: round(recorder.count / (options.durationMs / 1000), 1),
    latency: {
      count: latency.count,
      p50Ms: round(latency.p50Ms),
      p90Ms: round(latency.p90Ms),
      p99Ms: round(latency.p99Ms),
      meanMs: round(latency.meanMs),
      maxMs: round(latency.maxMs),
    },
    errors,
    firstError,
    xCache,
  };
}
