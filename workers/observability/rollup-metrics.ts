import type { RollupTotals } from '../../drizzle/queries/usage-rollups.ts';
import { ROLLUP_LATENCY_BUCKETS_MS } from '../../drizzle/schema/usage-rollups.ts';

/** What `GET /admin/v1/metrics` answers Prometheus with (text exposition format 0.0.4). */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Record<string, string>;

interface Sample {
  labels: Labels;
  value: number;
}

interface Histogram {
  labels: Labels;
  /** Cumulative counts per bucket bound, +Inf left out. */
  le: number[];
  count: number;
  sumSeconds: number;
}

/** Label values: backslash, double quote and line feed escaped, as the text format requires. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/** Numbers as Prometheus reads them (Go's ParseFloat): integers plain, and the special values by name. */
function num(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

function header(out: string[], name: string, type: 'counter' | 'gauge' | 'histogram', help: string): void {
  out.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
}

function counter(out: string[], name: string, help: string, samples: Sample[]): void {
  header(out, name, 'counter', help);
  for (const s of samples) out.push(`${name}${labelText(s.labels)} ${num(s.value)}`);
}

const LE_SECONDS = ROLLUP_LATENCY_BUCKETS_MS.map((ms) => num(ms / 1000));

function histogram(out: string[], name: string, help: string, series: Histogram[]): void {
  header(out, name, 'histogram', help);
  for (const h of series) {
    LE_SECONDS.forEach((le, i) => {
      out.push(`${name}_bucket${labelText({ ...h.labels, le })} ${num(h.le[i] ?? 0)}`);
    });
    out.push(`${name}_bucket${labelText({ ...h.labels, le: '+Inf' })} ${num(h.count)}`);
    out.push(`${name}_sum${labelText(h.labels)} ${num(h.sumSeconds)}`);
    out.push(`${name}_count${labelText(h.labels)} ${num(h.count)}`);
  }
}

/** Sums rows into the label sets `key` picks, in first-seen order (the rows come sorted). */
function groupBy<T>(
  rows: RollupTotals[],
  key: (r: RollupTotals) => Labels,
  add: (acc: T | undefined, r: RollupTotals) => T,
) {
  const groups = new Map<string, { labels: Labels; acc: T }>();
  for (const r of rows) {
    const labels = key(r);
    const id = JSON.stringify(labels);
    const g = groups.get(id);
    groups.set(id, { labels, acc: add(g?.acc, r) });
  }
  return [...groups.values()];
}

const addArrays = (a: number[] | undefined, b: number[]) => b.map((v, i) => (a?.[i] ?? 0) + v);

/**
 * The edge-wide series, from the rollup totals: counters since the rollups began (all isolates, every
 * edge), so `rate()` and `increase()` work across scrapes of any isolate. A request without a tenant (an auth
 * failure or a per-IP 429) has `tenant=""`; a request that named no model has `model=""`.
 */
export function renderRollupMetrics(rows: RollupTotals[]): string {
  const out: string[] = [];
  const tenant = (r: RollupTotals) => r.tenantId ?? '';
  const model = (r: RollupTotals) => r.model ?? '';
  const byTenantModel = (r: RollupTotals) => ({ tenant: tenant(r), model: model(r) });
  const sum = (pick: (r: RollupTotals) => number) => (acc: number | undefined, r: RollupTotals) =>
    (acc ?? 0) + pick(r);

  counter(
    out,
    'aiserve_edge_requests_total',
    'Requests the edge answered, by tenant, model, status class and cache result (every isolate, from the usage rollups).',
    rows.map((r) => ({
      labels: { tenant: tenant(r), model: model(r), status_class: r.statusClass, cache: r.cache },
      value: r.requests,
    })),
  );
  const perTenantModel = (pick: (r: RollupTotals) => number) =>
    groupBy(rows, byTenantModel, sum(pick)).map((g) => ({ labels: g.labels, value: g.acc }));
  counter(
    out,
    'aiserve_edge_items_total',
    'Inference items (batch rows) in the requests the edge answered, by tenant and model.',
    perTenantModel((r) => r.items),
  );
  counter(
    out,
    'aiserve_edge_rate_limited_total',
    'Requests refused with 429 (per-key limit, or per IP without a valid key: tenant=""), by tenant and model.',
    perTenantModel((r) => r.rateLimited).filter((s) => s.value > 0),
  );
  counter(
    out,
    'aiserve_edge_auth_failures_total',
    'Requests refused with 401 or 403 (tenant="" when no valid key was presented), by tenant and model.',
    perTenantModel((r) => r.authFailures).filter((s) => s.value > 0),
  );

  type Acc = { le: number[]; count: number; ms: number };
  const hist = (pick: (r: RollupTotals) => Acc): Histogram[] =>
    groupBy<Acc>(rows, byTenantModel, (acc, r) => {
      const x = pick(r);
      return { le: addArrays(acc?.le, x.le), count: (acc?.count ?? 0) + x.count, ms: (acc?.ms ?? 0) + x.ms };
    }).map((g) => ({ labels: g.labels, le: g.acc.le, count: g.acc.count, sumSeconds: g.acc.ms / 1000 }));
  histogram(
    out,
    'aiserve_edge_request_duration_seconds',
    'Edge total time per request (arrival to answer, whole milliseconds), by tenant and model.',
    hist((r) => ({ le: r.edgeLe, count: r.requests, ms: r.edgeMsSum })),
  );
  histogram(
    out,
    'aiserve_edge_origin_duration_seconds',
    'Time a request waited on the origin (retries included; requests that asked no origin are not counted), by tenant and model.',
    hist((r) => ({ le: r.originLe, count: r.originCount, ms: r.originMsSum })).filter((h) => h.count > 0),
  );

  header(
    out,
    'aiserve_edge_usage_newest_event_timestamp_seconds',
    'gauge',
    'Time of the newest usage event counted in these series: how far behind the usage drain is.',
  );
  const newest = rows.reduce((m, r) => Math.max(m, r.newestTs), 0);
  if (newest > 0) out.push(`aiserve_edge_usage_newest_event_timestamp_seconds ${num(newest / 1000)}`);
  return `${out.join('\n')}\n`;
}
