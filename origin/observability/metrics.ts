import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { isAppError } from '../../shared/errors/index.ts';
import { createEventLoopMonitor, type EventLoopMonitor } from './event-loop.ts';
import type { GpuSampler } from './gpu.ts';

export interface ModelLabels {
  model: string;
  version: string;
}

export interface PendingCount extends ModelLabels {
  pending: number;
}

/** Reads the current queue depth per model; called at scrape time so the gauge is always current. */
type PendingSource = () => Iterable<PendingCount>;

export interface OriginMetricsOptions {
  pending?: PendingSource;
  /** Default: a monitor owned (and stopped by `close`) by these metrics. */
  eventLoop?: EventLoopMonitor;
  /** GPU gauges are registered only when a sampler is given and it found nvidia-smi. */
  gpu?: GpuSampler | null;
  /** prom-client's default process/nodejs metrics; default true. */
  defaultMetrics?: boolean;
}

interface RequestRecord extends ModelLabels {
  /** `success` or the failure code (`QUEUE_FULL`, `INVALID_INPUT`, …); see `requestStatus`. */
  status: string;
  durationSeconds?: number;
}

interface BatchRecord extends ModelLabels {
  /** Items inferred in this execution. */
  batchSize: number;
  computeSeconds?: number;
}

export interface OriginMetrics {
  readonly registry: Registry;
  recordRequest(record: RequestRecord): void;
  /** One model execution: execution_count += 1, inference_count += batchSize. */
  recordBatch(record: BatchRecord): void;
  recordQueue(labels: ModelLabels, queueSeconds: number): void;
  setPendingSource(source: PendingSource): void;
  render(): Promise<{ contentType: string; body: string }>;
  /** Stops the owned event-loop monitor. */
  close(): void;
}

/** The `status` label for a request's outcome: `success`, an AppError code, or `INTERNAL`. */
export function requestStatus(err?: unknown): string {
  if (err === undefined || err === null) return 'success';
  return isAppError(err) ? err.code : 'INTERNAL';
}

/** 0.5 ms to 10 s. */
const LATENCY_BUCKETS_SECONDS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const;
const QUEUE_BUCKETS_SECONDS = [0.0001, 0.00025, ...LATENCY_BUCKETS_SECONDS] as const;
const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256] as const;

const P = 'aiserve_origin_';
const MODEL_LABELS = ['model', 'version'] as const;

/** Creates metrics with their own Registry, so tests and several servers in one process don't collide. */
export function createOriginMetrics(options: OriginMetricsOptions = {}): OriginMetrics {
  const registry = new Registry();
  const registers = [registry];
  let pendingSource: PendingSource | undefined = options.pending;
  const ownsMonitor = options.eventLoop === undefined;
  const eventLoop = options.eventLoop ?? createEventLoopMonitor({ resolutionMs: 10 });

  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  const requests = new Counter({
    name: `${P}requests_total`,
    help: 'Inference requests by outcome: success or the failure code.',
    labelNames: ['model', 'version', 'status'] as const,
    registers,
  });
  const inferenceCount = new Counter({
    name: `${P}inference_count_total`,
    help: 'Items inferred (a batch of n counts n).',
    labelNames: MODEL_LABELS,
    registers,
  });
  const executionCount = new Counter({
    name: `${P}execution_count_total`,
    help: 'Model executions (batches); inference_count / execution_count is the average batch size.',
    labelNames: MODEL_LABELS,
    registers,
  });
  const batchSize = new Histogram({
    name: `${P}batch_size`,
    help: 'Items per model execution.',
    labelNames: MODEL_LABELS,
    buckets: [...BATCH_SIZE_BUCKETS],
    registers,
  });
  const queueDuration = new Histogram({
    name: `${P}queue_duration_seconds`,
    help: 'Time a request waited in the batch queue.',
    labelNames: MODEL_LABELS,
    buckets: [...QUEUE_BUCKETS_SECONDS],
    registers,
  });
  const computeDuration = new Histogram({
    name: `${P}compute_duration_seconds`,
    help: 'Model execution time per batch.',
    labelNames: MODEL_LABELS,
    buckets: [...LATENCY_BUCKETS_SECONDS],
    registers,
  });
  const requestDuration = new Histogram({
    name: `${P}request_duration_seconds`,
    help: 'End-to-end inference request time at the origin.',
    labelNames: MODEL_LABELS,
    buckets: [...LATENCY_BUCKETS_SECONDS],
    registers,
  });
  new Gauge({
    name: `${P}pending_requests`,
    help: 'Requests queued and not yet executed.',
    labelNames: MODEL_LABELS,
    registers,
    collect() {
      this.reset();
      if (!pendingSource) return;
      for (const { model, version, pending } of pendingSource()) this.set({ model, version }, pending);
    },
  });
  new Gauge({
    name: `${P}event_loop_lag_seconds`,
    help: 'Event-loop delay since the previous scrape, by quantile (1 = max).',
    labelNames: ['quantile'] as const,
    registers,
    collect() {
      const s = eventLoop.stats();
      this.set({ quantile: '0.5' }, s.p50Ms / 1000);
      this.set({ quantile: '0.99' }, s.p99Ms / 1000);
      this.set({ quantile: '1' }, s.maxMs / 1000);
      eventLoop.reset();
    },
  });

  const gpu = options.gpu;
  if (gpu?.available) {
    const gpuGauge = (
      suffix: string,
      help: string,
      pick: (s: ReturnType<GpuSampler['latest']>[number]) => number | null,
    ) =>
      new Gauge({
        name: `${P}gpu_${suffix}`,
        help,
        labelNames: ['gpu'] as const,
        registers,
        collect() {
          this.reset();
          for (const sample of gpu.latest()) {
            const value = pick(sample);
            if (value !== null) this.set({ gpu: String(sample.index) }, value);
          }
        },
      });
    gpuGauge(
      'utilization_ratio',
      'GPU utilisation, 0..1 (nvidia-smi, sampled every few seconds).',
      (s) => s.utilizationRatio,
    );
    gpuGauge('memory_used_bytes', 'GPU memory in use.', (s) => s.memoryUsedBytes);
    gpuGauge('memory_total_bytes', 'GPU memory in total.', (s) => s.memoryTotalBytes);
  }

  return {
    registry,
    recordRequest({ model, version, status, durationSeconds }) {
      requests.inc({ model, version, status });
      if (durationSeconds !== undefined) requestDuration.observe({ model, version }, durationSeconds);
    },
    recordBatch({ model, version, batchSize: size, computeSeconds }) {
      const labels = { model, version };
      executionCount.inc(labels);
      inferenceCount.inc(labels, size);
      batchSize.observe(labels, size);
      if (computeSeconds !== undefined) computeDuration.observe(labels, computeSeconds);
    },
    recordQueue(labels, queueSeconds) {
      queueDuration.observe({ model: labels.model, version: labels.version }, queueSeconds);
    },
    setPendingSource(source) {
      pendingSource = source;
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
    close() {
      if (ownsMonitor) eventLoop.stop();
    },
  };
}
