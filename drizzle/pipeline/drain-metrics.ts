import type { Redis } from 'ioredis';
import { Counter, Gauge, Registry } from 'prom-client';
import type { BatchResult } from './usage-drain.ts';

/** What the drain reports as it works; `UsageDrain` calls it after every round. */
export interface DrainMetricsSink {
  batch(result: BatchResult): void;
  failure(): void;
}

export interface DrainMetrics extends DrainMetricsSink {
  readonly registry: Registry;
  render(): Promise<{ contentType: string; body: string }>;
}

export interface DrainMetricsOptions {
  /** When given, the stream length and the group's pending count are read (XLEN, XPENDING) at scrape time. */
  redis?: Redis;
  stream: string;
  group: string;
  registry?: Registry;
}

/** Prometheus counters for the drain (`usage_drain_*`), plus backlog gauges read from Redis at scrape time. */
export function createDrainMetrics(options: DrainMetricsOptions): DrainMetrics {
  const registry = options.registry ?? new Registry();
  const counter = (name: string, help: string) => new Counter({ name, help, registers: [registry] });
  const entries = counter('usage_drain_entries_total', 'Stream entries handled and acknowledged.');
  const written = counter('usage_drain_rows_written_total', 'Rows newly inserted into usage_events.');
  const duplicates = counter(
    'usage_drain_duplicates_total',
    'Valid entries whose event was already stored (redelivery, producer retry).',
  );
  const dead = counter('usage_drain_dead_letters_total', 'Entries moved to the dead-letter stream.');
  const claimed = counter('usage_drain_claimed_total', 'Entries claimed from idle (crashed) consumers.');
  const failures = counter('usage_drain_failures_total', 'Rounds that failed with nothing acknowledged.');
  const batches = counter('usage_drain_batches_total', 'Non-empty rounds written.');
  const { redis, stream, group } = options;
  if (redis) {
    new Gauge({
      name: 'usage_drain_stream_length',
      help: 'Entries in the usage stream (XLEN).',
      registers: [registry],
      async collect() {
        this.set(await redis.xlen(stream));
      },
    });
    new Gauge({
      name: 'usage_drain_pending',
      help: 'Entries delivered to the group and not yet acknowledged (XPENDING).',
      registers: [registry],
      async collect() {
        try {
          const summary = (await redis.xpending(stream, group)) as [number, ...unknown[]];
          this.set(Number(summary[0]));
        } catch {
          // No group yet (the drain has not started): nothing is pending.
          this.set(0);
        }
      },
    });
  }
  return {
    registry,
    batch(r) {
      if (r.entries === 0) return;
      batches.inc();
      entries.inc(r.entries);
      written.inc(r.written);
      duplicates.inc(r.duplicates);
      dead.inc(r.deadLettered);
      claimed.inc(r.claimed);
    },
    failure() {
      failures.inc();
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
