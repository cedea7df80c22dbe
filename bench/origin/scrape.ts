import { request } from 'undici';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the Prometheus text exposition format (enough of it for counters and gauges). */
function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** Sum of the samples named `name` whose labels include `match`; undefined when there is none. */
function sumSamples(samples: Sample[], name: string, match: Record<string, string> = {}): number | undefined {
  let total: number | undefined;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(match).some(([k, v]) => s.labels[k] !== v)) continue;
    total = (total ?? 0) + s.value;
  }
  return total;
}

export async function scrapeMetrics(baseUrl: string): Promise<Sample[]> {
  const res = await request(`${baseUrl}/metrics`, { headersTimeout: 10_000, bodyTimeout: 10_000 });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`GET /metrics answered ${res.statusCode}`);
  return parsePrometheus(text);
}

export interface ModelCounters {
  inferenceCount: number;
  executionCount: number;
}

export function modelCounters(samples: Sample[], model: string): ModelCounters {
  return {
    inferenceCount: sumSamples(samples, 'aiserve_origin_inference_count_total', { model }) ?? 0,
    executionCount: sumSamples(samples, 'aiserve_origin_execution_count_total', { model }) ?? 0,
  };
}

/** The origin's event-loop lag p99 in ms over the window since the previous scrape (the scrape resets it). */
export function eventLoopLagP99Ms(samples: Sample[]): number | undefined {
  const v = sumSamples(samples, 'aiserve_origin_event_loop_lag_seconds', { quantile: '0.99' });
  return v === undefined ? undefined : v * 1000;
}

/** Origin-side view of a window between two scrapes (diagnostics: where the time goes). */
export interface OriginWindowStats {
  /** Mean time a request waited in the batch queue. */
  avgQueueMs: number | null;
  /** Mean model execution time per batch. */
  avgComputeMs: number | null;
  /** Mean end-to-end request time measured inside the origin. */
  avgRequestMs: number | null;
  /** CPU used by the origin process (all threads), in cores: Δprocess_cpu_seconds_total / wall time. */
  cpuCores: number | null;
}

function histogramMeanMs(before: Sample[], after: Sample[], name: string, model: string): number | null {
  const sum = (s: Sample[]) => sumSamples(s, `${name}_sum`, { model });
  const count = (s: Sample[]) => sumSamples(s, `${name}_count`, { model });
  const s0 = sum(before);
  const s1 = sum(after);
  const c0 = count(before);
  const c1 = count(after);
  if (s0 === undefined || s1 === undefined || c0 === undefined || c1 === undefined || c1 <= c0) return null;
  return ((s1 - s0) / (c1 - c0)) * 1000;
}

export function originWindowStats(
  before: Sample[],
  after: Sample[],
  model: string,
  wallSeconds: number,
): OriginWindowStats {
  const cpu0 = sumSamples(before, 'process_cpu_seconds_total');
  const cpu1 = sumSamples(after, 'process_cpu_seconds_total');
  return {
    avgQueueMs: histogramMeanMs(before, after, 'aiserve_origin_queue_duration_seconds', model),
    avgComputeMs: histogramMeanMs(before, after, 'aiserve_origin_compute_duration_seconds', model),
    avgRequestMs: histogramMeanMs(before, after, 'aiserve_origin_request_duration_seconds', model),
    cpuCores:
      cpu0 === undefined || cpu1 === undefined || wallSeconds <= 0 ? null : (cpu1 - cpu0) / wallSeconds,
  };
}
