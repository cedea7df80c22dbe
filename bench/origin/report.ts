import type { EventLoopStats } from '../../origin/observability/event-loop.ts';
import type { LoadResult, SequentialResult } from './load.ts';
import { bestBatch, type RawResult } from './raw.ts';

export interface MachineInfo {
  cpuModel: string;
  cpuCount: number;
  availableParallelism: number;
  totalMemGiB: number;
  /** 1-minute load average when the run started: other work on the machine skews every figure. */
  loadAvg1mAtStart: number;
  platform: string;
  release: string;
  arch: string;
  node: string;
  onnxruntime: string;
  date: string;
  gitCommit: string | null;
}

export interface HttpRun extends LoadResult {
  batching: 'on' | 'off';
}

export interface LowLoad {
  origin: SequentialResult;
  rawP50Ms: number;
  rawP99Ms: number;
  /** origin − raw. */
  diffP50Ms: number;
  diffP99Ms: number;
}

export interface Target {
  name: string;
  pass: boolean;
  detail: string;
}

export interface BenchResults {
  machine: MachineInfo;
  settings: Record<string, unknown>;
  model: { name: string; file: string; configSource: string; dynamicBatching: unknown };
  raw: RawResult;
  /**
   * Raw onnxruntime measured again right after the batching-on binary run (batch 1 and the best batch size):
   * the machine's speed drifts over a run, so the throughput target uses the mean of both measurements and the
   * low-load comparison the single-item latency measured next to it.
   */
  rawAgain: RawResult;
  http: HttpRun[];
  lowLoad: LowLoad;
  loadgenLagP99MaxMs: number;
  targets: Target[];
  allTargetsPass: boolean;
}

const fmt = (n: number | null | undefined, digits = 2) =>
  n === null || n === undefined ? 'n/a' : n.toFixed(digits);

function find(http: HttpRun[], batching: 'on' | 'off', body: 'json' | 'binary'): HttpRun {
  const run = http.find((r) => r.batching === batching && r.body === body);
  if (!run) throw new Error(`missing HTTP run batching ${batching} / ${body}`);
  return run;
}

/** The raw reference for the throughput target: best batch size, mean of its measurement before and after. */
function rawReference(
  raw: RawResult,
  rawAgain: RawResult,
): { batchSize: number; before: number; after: number; mean: number } {
  const best = bestBatch(raw);
  const again = rawAgain.batches.find((b) => b.batchSize === best.batchSize);
  const after = again ? again.itemsPerSecond : best.itemsPerSecond;
  return {
    batchSize: best.batchSize,
    before: best.itemsPerSecond,
    after,
    mean: (best.itemsPerSecond + after) / 2,
  };
}

/** The targets, computed from the measured figures only. */
export function evaluateTargets(
  raw: RawResult,
  rawAgain: RawResult,
  http: HttpRun[],
  lowLoad: LowLoad,
): Target[] {
  const onBin = find(http, 'on', 'binary');
  const offBin = find(http, 'off', 'binary');
  const ref = rawReference(raw, rawAgain);
  const best = ref.mean;
  const lags = http.map((r) => r.originLagP99MaxMs);
  const maxLag = lags.some((l) => l === null) ? null : Math.max(...(lags as number[]));
  const totalErrors = http.reduce((s, r) => s + r.errors, 0) + lowLoad.origin.errors;
  return [
    {
      name: 'binary + batching ≥ 0.8 × best raw items/s',
      pass: onBin.itemsPerSecond >= 0.8 * best,
      detail: `${fmt(onBin.itemsPerSecond, 1)} vs 0.8 × ${fmt(best, 1)} = ${fmt(0.8 * best, 1)} items/s (${fmt((100 * onBin.itemsPerSecond) / best, 1)}% of raw; raw batch ${ref.batchSize} ${fmt(ref.before, 1)} items/s before the HTTP runs, ${fmt(ref.after, 1)} right after this one, mean used)`,
    },
    {
      name: 'batching on ≥ 2 × batching off (binary)',
      pass: onBin.itemsPerSecond >= 2 * offBin.itemsPerSecond,
      detail: `${fmt(onBin.itemsPerSecond, 1)} vs 2 × ${fmt(offBin.itemsPerSecond, 1)} = ${fmt(2 * offBin.itemsPerSecond, 1)} items/s (×${fmt(onBin.itemsPerSecond / offBin.itemsPerSecond)})`,
    },
    {
      name: 'low-load origin p50 within 1 ms of raw session.run p50',
      pass: Math.abs(lowLoad.diffP50Ms) <= 1,
      detail: `origin ${fmt(lowLoad.origin.latency.p50Ms, 3)} ms vs raw ${fmt(lowLoad.rawP50Ms, 3)} ms (Δ ${fmt(lowLoad.diffP50Ms, 3)} ms)`,
    },
    {
      name: 'origin event-loop lag p99 < 20 ms throughout',
      pass: maxLag !== null && maxLag < 20,
      detail:
        maxLag === null
          ? 'no event-loop lag figure was scraped from /metrics'
          : `max over ${http.reduce((s, r) => s + r.originLagScrapes.length, 0)} scrapes: ${fmt(maxLag)} ms`,
    },
    {
      name: 'no failed requests',
      pass: totalErrors === 0,
      detail: `${totalErrors} errors`,
    },
  ];
}

/**
 * Where the CPU goes per item, and the ceilings those costs imply. Every figure here is measured in this run
 * (per-thread CPU from /proc); nothing is assumed.
 */
function cpuSection(r: BenchResults): string[] {
  const out: string[] = [];
  const runs = r.http.filter((h) => h.cpuPerItem !== null && h.cpuPerItem !== undefined);
  if (runs.length === 0) return out;
  out.push(
    '**Where the CPU goes** (CPU ms per item served over the measured window, per thread, from /proc; worker = the onnxruntime session thread)',
  );
  out.push('');
  out.push(
    '| Dynamic batching | Body | origin main thread | onnxruntime worker | other origin threads | load generator | total | ceiling on these cores, items/s |',
  );
  out.push('|---|---|---:|---:|---:|---:|---:|---:|');
  const cores = r.machine.availableParallelism;
  for (const h of runs) {
    const c = h.cpuPerItem!;
    const total = c.mainMs + c.workerMs + c.otherMs + c.loadgenMs;
    out.push(
      `| ${h.batching} | ${h.body} | ${fmt(c.mainMs, 3)} | ${fmt(c.workerMs, 3)} | ${fmt(c.otherMs, 3)} | ${fmt(c.loadgenMs, 3)} | ${fmt(total, 3)} | ${fmt((cores * 1000) / total, 0)} |`,
    );
  }
  out.push('');
  const single = r.raw.batches.find((b) => b.batchSize === 1);
  const best = bestBatch(r.raw);
  const off = r.http.find((h) => h.batching === 'off' && h.body === 'binary');
  if (single && off) {
    out.push(
      `Batching can only remove per-request overhead: onnxruntime itself costs ${fmt(single.cpuMsPerItem, 3)} CPU ms per item at batch 1 and ${fmt(best.cpuMsPerItem, 3)} at batch ${best.batchSize} ` +
        `(best raw ${fmt(best.itemsPerSecond, 1)} items/s). With batching off the origin served ${fmt(off.itemsPerSecond, 1)} items/s, so "batching on ≥ 2 × off" needs ` +
        `${fmt(2 * off.itemsPerSecond, 1)} items/s, ${fmt((2 * off.itemsPerSecond) / best.itemsPerSecond)} × what onnxruntime alone reached with the whole machine to itself.`,
    );
    out.push('');
  }
  return out;
}

export function targetLines(targets: Target[]): string[] {
  return targets.map((t) => `${t.pass ? 'PASS' : 'FAIL'}  ${t.name}: ${t.detail}`);
}

function lagCell(s: EventLoopStats): string {
  return fmt(s.p99Ms);
}

export function renderMarkdown(r: BenchResults): string {
  const m = r.machine;
  const lines: string[] = [];
  lines.push('## Origin benchmark (PaddleOCR direction classifier `ocr-cls`)');
  lines.push('');
  lines.push(
    `${m.cpuModel} × ${m.cpuCount} (${m.platform} ${m.arch}), Node ${m.node}, onnxruntime-node ${m.onnxruntime}, ` +
      `${m.date.slice(0, 10)}${m.gitCommit ? `, commit ${m.gitCommit}` : ''}, load average ${fmt(m.loadAvg1mAtStart)} at start. ` +
      `Session options: intraOpNumThreads ${r.raw.sessionOptions.intraOpNumThreads}, interOpNumThreads ${r.raw.sessionOptions.interOpNumThreads}, graph optimization ${r.raw.sessionOptions.graphOptimizationLevel}.`,
  );
  lines.push('');
  lines.push('**Raw onnxruntime (in-process `session.run`, closed loop)**');
  lines.push('');
  lines.push('| Batch size | items/s | p50 ms / run | p99 ms / run | CPU ms / item |');
  lines.push('|---:|---:|---:|---:|---:|');
  for (const b of r.raw.batches) {
    lines.push(
      `| ${b.batchSize} | ${fmt(b.itemsPerSecond, 1)} | ${fmt(b.latency.p50Ms, 3)} | ${fmt(b.latency.p99Ms, 3)} | ${fmt(b.cpuMsPerItem, 3)} |`,
    );
  }
  lines.push('');
  const ref = rawReference(r.raw, r.rawAgain);
  const again1 = r.rawAgain.batches.find((b) => b.batchSize === 1);
  lines.push(
    `Measured again right after the batching-on binary HTTP run (the machine's speed drifts during a run): batch ${ref.batchSize} ${fmt(ref.after, 1)} items/s (before: ${fmt(ref.before, 1)}; the throughput target uses the mean, ${fmt(ref.mean, 1)})` +
      (again1
        ? `, batch 1 p50 ${fmt(again1.latency.p50Ms, 3)} ms (the low-load comparison below uses this one).`
        : '.'),
  );
  lines.push('');
  const s = r.settings;
  lines.push(
    `**Origin over HTTP** (${s['concurrency']} closed-loop clients, 1 item per request, ${s['warmupS']} s warm-up + ${s['durationS']} s measured, load generator on the same machine)`,
  );
  lines.push('');
  lines.push(
    '| Dynamic batching | Body | items/s | p50 ms | p99 ms | Avg batch | Origin avg queue ms | Origin loop lag p99 (max) ms | Loadgen loop lag p99 ms | CPU cores origin / loadgen / machine | Errors |',
  );
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const h of r.http) {
    lines.push(
      `| ${h.batching} | ${h.body} | ${fmt(h.itemsPerSecond, 1)} | ${fmt(h.latency.p50Ms)} | ${fmt(h.latency.p99Ms)} | ${fmt(h.avgBatchSize)} | ${fmt(h.origin.avgQueueMs)} | ${fmt(h.originLagP99MaxMs)} | ${lagCell(h.loadgenLag)} | ${fmt(h.origin.cpuCores)} / ${fmt(h.loadgenCpuCores)} / ${fmt(h.systemCpuCores)} | ${h.errors} |`,
    );
  }
  lines.push('');
  lines.push(...cpuSection(r));
  const ll = r.lowLoad;
  lines.push(
    `**Latency at low load** (1 client, sequential, ${ll.origin.requests} requests, binary body, batching on)`,
  );
  lines.push('');
  lines.push('| | p50 ms | p99 ms |');
  lines.push('|---|---:|---:|');
  lines.push(`| Raw \`session.run\` (batch 1) | ${fmt(ll.rawP50Ms, 3)} | ${fmt(ll.rawP99Ms, 3)} |`);
  lines.push(
    `| Origin over HTTP | ${fmt(ll.origin.latency.p50Ms, 3)} | ${fmt(ll.origin.latency.p99Ms, 3)} |`,
  );
  lines.push(`| Difference | ${fmt(ll.diffP50Ms, 3)} | ${fmt(ll.diffP99Ms, 3)} |`);
  lines.push('');
  lines.push(
    `Origin's own view of these requests (means from /metrics): queue ${fmt(ll.origin.origin.avgQueueMs, 3)} ms, ` +
      `compute ${fmt(ll.origin.origin.avgComputeMs, 3)} ms, request ${fmt(ll.origin.origin.avgRequestMs, 3)} ms.`,
  );
  lines.push('');
  lines.push('**Targets**');
  lines.push('');
  lines.push('| Target | Result | Measured |');
  lines.push('|---|---|---|');
  for (const t of r.targets) lines.push(`| ${t.name} | ${t.pass ? 'PASS' : 'FAIL'} | ${t.detail} |`);
  lines.push('');
  return lines.join('\n');
}
