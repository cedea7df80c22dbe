/**
 * Per-isolate counters (Workers have no shared process to scrape). Exposed to operators at
 * `GET /admin/v1/metrics` and logged; names follow Prometheus conventions so a scraper can be added later.
 */
type CounterName =
  | 'edge_requests_total'
  | 'edge_auth_cache_hits_memory_total'
  | 'edge_auth_cache_hits_redis_total'
  | 'edge_auth_db_lookups_total'
  | 'edge_auth_stale_served_total'
  | 'edge_auth_failures_total'
  | 'edge_auth_failures_limited_total'
  | 'edge_rate_limited_total'
  | 'edge_rate_limit_redis_failures_total'
  | 'edge_rate_limit_fail_open_total'
  | 'edge_rate_limit_fail_closed_total'
  | 'edge_usage_events_total'
  | 'edge_usage_direct_writes_total'
  | 'edge_usage_stream_full_total'
  | 'edge_usage_failures_total'
  | 'edge_usage_events_dropped_total'
  | 'edge_redis_errors_total'
  | 'edge_admin_refusals_audited_total'
  | 'edge_admin_refusals_unaudited_total';

export interface EdgeMetrics {
  inc(name: CounterName, by?: number): void;
  snapshot(): Record<string, number>;
}

export function createMetrics(): EdgeMetrics {
  const counters = new Map<string, number>();
  return {
    inc(name, by = 1) {
      counters.set(name, (counters.get(name) ?? 0) + by);
    },
    snapshot() {
      return Object.fromEntries(counters);
    },
  };
}
