import ort from 'onnxruntime-node';
import { defaultIntraOpThreads } from '../../shared/config/origin.ts';
import { LatencyRecorder, type LatencySummary } from '../../shared/stats/latency.ts';
import { nowMs, round } from '../measure/stats.ts';

/** The origin's default session options (see origin/runtime/execution-provider.ts). */
function originDefaultSessionOptions(): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: defaultIntraOpThreads(),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    executionProviders: ['cpu'],
  };
}

export interface RawBatchResult {
  batchSize: number;
  runs: number;
  items: number;
  durationS: number;
  itemsPerSecond: number;
  /** Latency of one `session.run` (tensor creation included) at this batch size. */
  latency: LatencySummary;
  /** Process CPU per item while measuring (the cost of onnxruntime itself, with intra-op threads as set). */
  cpuMsPerItem: number;
}

export interface RawResult {
  sessionOptions: { intraOpNumThreads: number; interOpNumThreads: number; graphOptimizationLevel: string };
  batches: RawBatchResult[];
  /** Single-item (batch 1) `session.run` latency, for the low-load comparison. */
  singleItemLatency: LatencySummary;
}

/** The batch size with the most items/s. */
export function bestBatch(raw: RawResult): RawBatchResult {
  return raw.batches.reduce((a, b) => (b.itemsPerSecond > a.itemsPerSecond ? b : a));
}

export interface RawOptions {
  modelPath: string;
  inputName: string;
  /** One item: [C, H, W] flattened. */
  item: Float32Array;
  itemShape: number[];
  batchSizes: number[];
  warmupS: number;
  durationS: number;
  log: (line: string) => void;
}

function batchOf(item: Float32Array, n: number): Float32Array {
  const out = new Float32Array(item.length * n);
  for (let i = 0; i < n; i++) out.set(item, i * item.length);
  return out;
}

/** In-process onnxruntime throughput: a closed loop of `session.run` for a fixed time per batch size. */
export async function runRaw(opts: RawOptions): Promise<RawResult> {
  const sessionOptions = originDefaultSessionOptions();
  const session = await ort.InferenceSession.create(opts.modelPath, sessionOptions);
  const batches: RawBatchResult[] = [];
  try {
    for (const batchSize of opts.batchSizes) {
      const data = batchOf(opts.item, batchSize);
      const dims = [batchSize, ...opts.itemShape];
      const run = () => session.run({ [opts.inputName]: new ort.Tensor('float32', data, dims) });
      const warmEnd = nowMs() + opts.warmupS * 1000;
      do await run();
      while (nowMs() < warmEnd);
      const latency = new LatencyRecorder();
      const cpuBefore = process.cpuUsage();
      const start = nowMs();
      const end = start + opts.durationS * 1000;
      let runs = 0;
      let t = start;
      while (t < end) {
        const t0 = t;
        await run();
        t = nowMs();
        latency.add(t - t0);
        runs++;
      }
      const durationS = (t - start) / 1000;
      const cpu = process.cpuUsage(cpuBefore);
      const result: RawBatchResult = {
        batchSize,
        runs,
        items: runs * batchSize,
        durationS: round(durationS),
        itemsPerSecond: round((runs * batchSize) / durationS, 1),
        latency: latency.summary(),
        cpuMsPerItem: round((cpu.user + cpu.system) / 1000 / (runs * batchSize), 4),
      };
      batches.push(result);
      opts.log(
        `raw batch ${batchSize}: ${result.itemsPerSecond} items/s (${runs} runs, ${result.cpuMsPerItem} CPU ms/item, p50 ${round(result.latency.p50Ms)} ms, p99 ${round(result.latency.p99Ms)} ms)`,
      );
    }
  } finally {
    await session.release();
  }
  const single = batches.find((b) => b.batchSize === 1);
  if (!single) throw new Error('raw benchmark needs batch size 1 for the single-item latency');
  return {
    sessionOptions: {
      intraOpNumThreads: sessionOptions.intraOpNumThreads!,
      interOpNumThreads: sessionOptions.interOpNumThreads!,
      graphOptimizationLevel: String(sessionOptions.graphOptimizationLevel),
    },
    batches,
    singleItemLatency: single.latency,
  };
}
