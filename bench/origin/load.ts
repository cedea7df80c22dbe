import { Buffer } from 'node:buffer';
import { Pool } from 'undici';
import { createEventLoopMonitor, type EventLoopStats } from '../../origin/observability/event-loop.ts';
import { INFERENCE_HEADER_CONTENT_LENGTH } from '../../origin/protocol/binary-codec.ts';
import { decodeInferResponse } from '../../origin/protocol/client/decode-response.ts';
import { encodeInferRequest } from '../../origin/protocol/client/encode-request.ts';
import { LatencyRecorder, type LatencySummary } from '../../shared/stats/latency.ts';
import { nowMs, round, systemBusySeconds } from '../measure/stats.ts';
import { readThreadCpu, threadCpuShares } from '../measure/thread-cpu.ts';
import {
  eventLoopLagP99Ms,
  modelCounters,
  type OriginWindowStats,
  originWindowStats,
  type Sample,
  scrapeMetrics,
} from './scrape.ts';

export type BodyKind = 'json' | 'binary';

/** One pre-encoded inference request, sent unchanged by every client. */
export interface RequestSpec {
  kind: BodyKind;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  /** What a correct response must contain. */
  output: { name: string; shape: number[] };
}

export interface BuildRequestOptions {
  model: string;
  inputName: string;
  outputName: string;
  item: Float32Array;
  itemShape: number[];
  outputShape: number[];
}

/**
 * One item (batch dim 1). JSON: data inline, JSON output. Binary: the binary tensor extension for the input
 * (binary_data_size + Inference-Header-Content-Length) and `binary_data_output: true` for the outputs.
 */
export function buildRequest(kind: BodyKind, opts: BuildRequestOptions): RequestSpec {
  const encoded = encodeInferRequest({
    inputs: [{ name: opts.inputName, datatype: 'FP32', shape: [1, ...opts.itemShape], data: opts.item }],
    binaryInputs: kind === 'binary',
    ...(kind === 'binary' ? { parameters: { binary_data_output: true } } : {}),
  });
  const body =
    typeof encoded.body === 'string' ? Buffer.from(encoded.body, 'utf8') : Buffer.from(encoded.body);
  return {
    kind,
    path: `/v2/models/${opts.model}/infer`,
    headers: { ...encoded.headers, 'content-length': String(body.byteLength) },
    body,
    output: { name: opts.outputName, shape: opts.outputShape },
  };
}

/** Sends one request on `pool`; resolves with null when the response is a correct 200, else a reason. */
async function sendOne(pool: Pool, spec: RequestSpec): Promise<string | null> {
  try {
    const res = await pool.request({
      path: spec.path,
      method: 'POST',
      headers: spec.headers,
      body: spec.body,
    });
    const bytes = new Uint8Array(await res.body.arrayBuffer());
    if (res.statusCode !== 200) {
      return `HTTP ${res.statusCode}: ${Buffer.from(bytes.subarray(0, 200)).toString('utf8')}`;
    }
    const hcl = res.headers[INFERENCE_HEADER_CONTENT_LENGTH];
    const decoded = decodeInferResponse(
      bytes,
      typeof hcl === 'string' ? { inferenceHeaderContentLength: hcl } : {},
    );
    if (spec.kind === 'binary' && typeof hcl !== 'string') return 'binary output requested but not returned';
    const out = decoded.outputs.find((o) => o.name === spec.output.name);
    if (!out) return `response lacks output ${spec.output.name}`;
    if (out.shape.join(',') !== spec.output.shape.join(',')) {
      return `output ${spec.output.name} has shape [${out.shape.join(',')}], expected [${spec.output.shape.join(',')}]`;
    }
    return null;
  } catch (err) {
    return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  }
}

export interface LoadOptions {
  baseUrl: string;
  model: string;
  spec: RequestSpec;
  concurrency: number;
  warmupS: number;
  durationS: number;
  /** Period of the origin /metrics scrapes during the measured window. */
  scrapeIntervalMs: number;
  /** The origin's process id, for per-thread CPU accounting (Linux). */
  originPid?: number | undefined;
}

/** CPU milliseconds per item served, by thread role (see measure/thread-cpu.ts); from the origin's inference count. */
interface CpuPerItem {
  /** Origin main thread: HTTP, body reading, codecs, batching, responses. */
  mainMs: number;
  /** The busiest other origin thread: the onnxruntime session worker. */
  workerMs: number;
  /** Every other origin thread (V8 GC helpers, libuv, loader). */
  otherMs: number;
  /** The load generator process (this one). */
  loadgenMs: number;
}

export interface LoadResult {
  body: BodyKind;
  concurrency: number;
  durationS: number;
  /** Requests completed inside the measured window (each is one item). */
  requests: number;
  itemsPerSecond: number;
  latency: LatencySummary;
  /** Failed requests (non-200, bad body, transport error) over warm-up and measurement together. */
  errors: number;
  warmupErrors: number;
  errorSamples: string[];
  /** Origin: inference_count / execution_count over the measured window. */
  avgBatchSize: number | null;
  inferenceDelta: number;
  executionDelta: number;
  /** Max over the scrapes of the origin's event-loop lag p99 (each scrape covers the time since the previous). */
  originLagP99MaxMs: number | null;
  /** Same, for the window that covers the warm-up (reported, not part of the target). */
  originLagP99WarmupMs: number | null;
  originLagScrapes: number[];
  /** The load generator's own event loop over the measured window. */
  loadgenLag: EventLoopStats;
  /** CPU used by the load generator process over the measured window, in cores. */
  loadgenCpuCores: number;
  /** CPU busy on the whole machine over the measured window, in cores: well above origin + loadgen = noise. */
  systemCpuCores: number;
  /** The origin's own view of the measured window (from its /metrics histograms and process CPU). */
  origin: OriginWindowStats;
  /** Where the CPU went per item; null without /proc (not Linux) or without an origin pid. */
  cpuPerItem: CpuPerItem | null;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Closed loop: `concurrency` clients, each one request at a time, for warm-up then the measured window. */
export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const pool = new Pool(opts.baseUrl, {
    connections: opts.concurrency,
    pipelining: 1,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const monitor = createEventLoopMonitor({ resolutionMs: 10 });
  const latency = new LatencyRecorder();
  const errorSamples: string[] = [];
  let errors = 0;
  let warmupErrors = 0;
  let measureStart = Number.POSITIVE_INFINITY;
  let measureEnd = Number.POSITIVE_INFINITY;
  let stop = false;

  const worker = async () => {
    while (!stop) {
      const t0 = nowMs();
      const failure = await sendOne(pool, opts.spec);
      const t1 = nowMs();
      if (failure !== null) {
        errors++;
        if (t0 < measureStart) warmupErrors++;
        if (errorSamples.length < 5) errorSamples.push(failure);
        continue;
      }
      if (t1 >= measureStart && t1 <= measureEnd) latency.add(t1 - t0);
    }
  };

  const started = nowMs();
  const workers = Array.from({ length: opts.concurrency }, worker);
  try {
    await sleep(Math.max(0, started + opts.warmupS * 1000 - nowMs()));
    // The first scrape closes the origin's lag window that covered the warm-up and snapshots the counters.
    const before = await scrapeMetrics(opts.baseUrl);
    const beforeAt = nowMs();
    const warmLag = eventLoopLagP99Ms(before);
    monitor.reset();
    const cpuBefore = process.cpuUsage();
    const busyBefore = systemBusySeconds();
    const threadsBefore = readThreadCpu(opts.originPid);
    measureStart = nowMs();
    measureEnd = measureStart + opts.durationS * 1000;
    const lags: number[] = [];
    let after: Sample[] = before;
    for (;;) {
      const next = Math.min(measureEnd, nowMs() + opts.scrapeIntervalMs);
      await sleep(Math.max(0, next - nowMs()));
      after = await scrapeMetrics(opts.baseUrl);
      const lag = eventLoopLagP99Ms(after);
      if (lag !== undefined) lags.push(lag);
      if (nowMs() >= measureEnd) break;
    }
    const afterAt = nowMs();
    const threadsAfter = readThreadCpu(opts.originPid);
    const loadgenLag = monitor.stats();
    const cpu = process.cpuUsage(cpuBefore);
    const windowS = (afterAt - measureStart) / 1000;
    const loadgenCpuCores = round((cpu.user + cpu.system) / 1e6 / windowS, 2);
    const systemCpuCores = round((systemBusySeconds() - busyBefore) / windowS, 2);
    stop = true;
    await Promise.all(workers);

    const c0 = modelCounters(before, opts.model);
    const c1 = modelCounters(after, opts.model);
    const inferenceDelta = c1.inferenceCount - c0.inferenceCount;
    const executionDelta = c1.executionCount - c0.executionCount;
    const durationS = opts.durationS;
    const summary = latency.summary();
    const shares = threadCpuShares(threadsBefore, threadsAfter);
    const perItem = (seconds: number) => round((seconds * 1000) / inferenceDelta, 4);
    const cpuPerItem =
      shares && inferenceDelta > 0
        ? {
            mainMs: perItem(shares.mainSeconds),
            workerMs: perItem(shares.busiestOtherSeconds),
            otherMs: perItem(shares.restSeconds),
            loadgenMs: perItem((cpu.user + cpu.system) / 1e6),
          }
        : null;
    return {
      body: opts.spec.kind,
      concurrency: opts.concurrency,
      durationS,
      requests: summary.count,
      itemsPerSecond: round(summary.count / durationS, 1),
      latency: summary,
      errors,
      warmupErrors,
      errorSamples,
      avgBatchSize: executionDelta > 0 ? round(inferenceDelta / executionDelta, 2) : null,
      inferenceDelta,
      executionDelta,
      originLagP99MaxMs: lags.length > 0 ? round(Math.max(...lags)) : null,
      originLagP99WarmupMs: warmLag === undefined ? null : round(warmLag),
      originLagScrapes: lags.map((l) => round(l)),
      loadgenLag,
      loadgenCpuCores,
      systemCpuCores,
      origin: originWindowStats(before, after, opts.model, (afterAt - beforeAt) / 1000),
      cpuPerItem,
    };
  } finally {
    stop = true;
    await Promise.allSettled(workers);
    monitor.stop();
    await pool.close();
  }
}

export interface SequentialOptions {
  baseUrl: string;
  model: string;
  spec: RequestSpec;
  warmupRequests: number;
  requests: number;
}

export interface SequentialResult {
  body: BodyKind;
  requests: number;
  latency: LatencySummary;
  errors: number;
  errorSamples: string[];
  /** The origin's own view of the measured requests. */
  origin: OriginWindowStats;
}

/** One client, one request at a time on a kept-alive connection: latency at low load. */
export async function runSequential(opts: SequentialOptions): Promise<SequentialResult> {
  const pool = new Pool(opts.baseUrl, { connections: 1, pipelining: 1, headersTimeout: 30_000 });
  const latency = new LatencyRecorder();
  const errorSamples: string[] = [];
  let errors = 0;
  let before: Sample[] = [];
  let beforeAt = 0;
  try {
    for (let i = 0; i < opts.warmupRequests + opts.requests; i++) {
      if (i === opts.warmupRequests) {
        before = await scrapeMetrics(opts.baseUrl);
        beforeAt = nowMs();
      }
      const t0 = nowMs();
      const failure = await sendOne(pool, opts.spec);
      const t1 = nowMs();
      if (failure !== null) {
        errors++;
        if (errorSamples.length < 5) errorSamples.push(failure);
      } else if (i >= opts.warmupRequests) {
        latency.add(t1 - t0);
      }
    }
  } finally {
    await pool.close();
  }
  const afterAt = nowMs();
  const after = await scrapeMetrics(opts.baseUrl);
  return {
    body: opts.spec.kind,
    requests: latency.count,
    latency: latency.summary(),
    errors,
    errorSamples,
    origin: originWindowStats(before, after, opts.model, (afterAt - beforeAt) / 1000),
  };
}
