import { Pool } from 'undici';
import { LatencyRecorder, type LatencySummary } from '../../shared/stats/latency.ts';
import { nowMs, round, systemBusySeconds } from '../measure/stats.ts';
import { readThreadCpu, threadCpuShares } from '../measure/thread-cpu.ts';

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
  /** The server's process, whose CPU time over the measured window is reported (Linux /proc). */
  serverPid?: number;
}

/** CPU seconds over a measured window: the server process (null off Linux), this process, the whole machine. */
interface CpuSeconds {
  server: number | null;
  loadgen: number;
  machine: number;
}

/** Requests, errors, X-Cache counts and CPU of one closed-loop run, without its latency summary. */
type Counts = Pick<LoadResult, 'requests' | 'errors' | 'firstError' | 'xCache'> & { cpu: CpuSeconds | null };

export interface LoadResult {
  requests: number;
  requestsPerSecond: number;
  latency: LatencySummary;
  errors: number;
  firstError: string | null;
  /** Counts of the `X-Cache` header values seen in the measured window. */
  xCache: Record<string, number>;
  /**
   * CPU µs per request over the measured window: the server process, the load generator (this process), and
   * the rest of the machine (the database, Redis, helpers); null when not measured.
   */
  cpuUsPerRequest: { server: number | null; loadgen: number; other: number } | null;
}

/**
 * Closed loop: `clients` connections, each sending its next request as soon as the previous answer is read.
 * Only answers completed inside the measured window (after the warm-up) count.
 */
export async function runClosedLoop(options: LoadOptions): Promise<LoadResult> {
  const recorder = new LatencyRecorder();
  return merge([await runOnce(options, recorder)], recorder, options.durationMs);
}

export interface AlternatingResult {
  /** One merged result per scenario, in the order given. */
  results: LoadResult[];
  /** requests/s of each scenario in each round, in the order given. */
  rounds: number[][];
}

/**
 * Scenarios measured in alternating rounds (a, b, c, a, b, c, …), each run after its own warm-up, merged per
 * scenario: the benchmark compares the edge with bare Hono this way, so a slower stretch of a shared machine
 * weighs on all of them alike instead of on whichever ran then.
 */
export async function runAlternating(scenarios: LoadOptions[], rounds: number): Promise<AlternatingResult> {
  const recorders = scenarios.map(() => new LatencyRecorder());
  const counts: Counts[][] = scenarios.map(() => []);
  const perRound: number[][] = [];
  for (let i = 0; i < rounds; i++) {
    const row: number[] = [];
    for (const [j, options] of scenarios.entries()) {
      const c = await runOnce(options, recorders[j]!);
      counts[j]!.push(c);
      row.push(round1(c.requests / (options.durationMs / 1000)));
    }
    perRound.push(row);
  }
  return {
    results: scenarios.map((options, j) => merge(counts[j]!, recorders[j]!, options.durationMs)),
    rounds: perRound,
  };
}

function merge(runs: Counts[], recorder: LatencyRecorder, durationMs: number): LoadResult {
  const total: Omit<Counts, 'cpu'> = { requests: 0, errors: 0, firstError: null, xCache: {} };
  let cpu: CpuSeconds | null = { server: 0, loadgen: 0, machine: 0 };
  for (const run of runs) {
    total.requests += run.requests;
    total.errors += run.errors;
    total.firstError ??= run.firstError;
    for (const [k, v] of Object.entries(run.xCache)) total.xCache[k] = (total.xCache[k] ?? 0) + v;
    cpu =
      cpu && run.cpu
        ? {
            server: cpu.server === null || run.cpu.server === null ? null : cpu.server + run.cpu.server,
            loadgen: cpu.loadgen + run.cpu.loadgen,
            machine: cpu.machine + run.cpu.machine,
          }
        : null;
  }
  const latency = recorder.summary();
  const perRequest = (seconds: number) => round1((seconds * 1e6) / Math.max(1, total.requests));
  return {
    ...total,
    cpuUsPerRequest: cpu
      ? {
          server: cpu.server === null ? null : perRequest(cpu.server),
          loadgen: perRequest(cpu.loadgen),
          other: perRequest(Math.max(0, cpu.machine - (cpu.server ?? 0) - cpu.loadgen)),
        }
      : null,
    requestsPerSecond: round1(total.requests / ((runs.length * durationMs) / 1000)),
    latency: {
      count: latency.count,
      p50Ms: round(latency.p50Ms),
      p90Ms: round(latency.p90Ms),
      p99Ms: round(latency.p99Ms),
      meanMs: round(latency.meanMs),
      maxMs: round(latency.maxMs),
    },
  };
}

const round1 = (n: number) => round(n, 1);

async function runOnce(options: LoadOptions, recorder: LatencyRecorder): Promise<Counts> {
  const pool = new Pool(options.baseUrl, { connections: options.clients, pipelining: 1 });
  const before = recorder.count;
  const xCache: Record<string, number> = {};
  let errors = 0;
  let firstError: string | null = null;
  let n = 0;
  const start = nowMs();
  const measureFrom = start + options.warmupMs;
  const stopAt = measureFrom + options.durationMs;
  // CPU is sampled from the end of the warm-up until the last answer (a few ms past stopAt at most).
  const sampleCpu = () => ({
    server: readThreadCpu(options.serverPid),
    loadgen: process.cpuUsage(),
    machine: systemBusySeconds(),
  });
  let cpuFrom: ReturnType<typeof sampleCpu> | null = null;
  const cpuTimer = setTimeout(() => {
    cpuFrom = sampleCpu();
  }, options.warmupMs);

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
    clearTimeout(cpuTimer);
    await pool.close();
  }
  const from = cpuFrom as ReturnType<typeof sampleCpu> | null;
  let cpu: CpuSeconds | null = null;
  if (from) {
    const to = sampleCpu();
    const server = threadCpuShares(from.server, to.server);
    const loadgen = process.cpuUsage(from.loadgen);
    cpu = {
      server: server ? server.mainSeconds + server.busiestOtherSeconds + server.restSeconds : null,
      loadgen: (loadgen.user + loadgen.system) / 1e6,
      machine: to.machine - from.machine,
    };
  }
  return { requests: recorder.count - before, errors, firstError, xCache, cpu };
}
