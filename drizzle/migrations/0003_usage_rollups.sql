-- Custom migration (drizzle-kit generate --custom --name usage_rollups): one view of the edge across isolates.
-- The usage drain (and the edge's direct insert without Redis) counts every usage row it newly inserts into
-- per-minute rollups and into running totals, in the same statement as the insert (drizzle/pipeline/
-- insert-usage.ts), so a redelivered event, which inserts nothing, is never counted twice. The operator reads
-- the totals as Prometheus text at GET /admin/v1/metrics.
--
-- 1. usage_events: tenant_id becomes nullable and origin_ms is added.
--    A row without a tenant is an answer to a request without a valid key that the edge still counts: 401, 403
--    (a disabled tenant) and 429 (the per-IP limiter). Tenant reports all filter on tenant_id, so they never
--    see these rows. origin_ms: how long the request waited on the origin, retries included; NULL when no
--    origin was asked (a cache hit) and for events from edges older than this migration.
ALTER TABLE "usage_events" ALTER COLUMN "tenant_id" DROP NOT NULL;
--> statement-breakpoint
ALTER TABLE "usage_events" ADD COLUMN "origin_ms" integer;
--> statement-breakpoint
-- 2. usage_rollups: one row per minute, tenant, model, status class and cache result. PARTITIONED BY RANGE
--    (minute) by month like usage_events, with the same naming (usage_rollups_pYYYYMM, usage_rollups_default)
--    and the same retention (USAGE_RETENTION_MONTHS), applied by the partition maintenance job.
--    The histograms are cumulative counts per fixed upper bound in milliseconds, the +Inf bucket left out
--    (it is `requests`, or `origin_count`): ROLLUP_LATENCY_BUCKETS_MS in drizzle/schema/usage-rollups.ts,
--    1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000. Changing them needs a
--    migration that rewrites these arrays.
--    NULLS NOT DISTINCT (PostgreSQL 15+): a NULL tenant or model is one group, so the upsert finds its row.
CREATE TABLE "usage_rollups" (
	"minute" timestamp with time zone NOT NULL,
	"tenant_id" uuid,
	"model" text,
	"status_class" text NOT NULL,
	"cache" text NOT NULL,
	"requests" bigint NOT NULL,
	"items" bigint NOT NULL,
	"rate_limited" bigint NOT NULL,
	"auth_failures" bigint NOT NULL,
	"edge_ms_sum" bigint NOT NULL,
	"edge_le" bigint[] NOT NULL,
	"origin_count" bigint NOT NULL,
	"origin_ms_sum" bigint NOT NULL,
	"origin_le" bigint[] NOT NULL,
	CONSTRAINT "usage_rollups_key" UNIQUE NULLS NOT DISTINCT ("minute", "tenant_id", "model", "status_class", "cache")
) PARTITION BY RANGE ("minute");
--> statement-breakpoint
CREATE TABLE "usage_rollups_default" PARTITION OF "usage_rollups" DEFAULT;
--> statement-breakpoint
-- 3. usage_rollup_totals: the same counts without the minute, since this migration (plus the backfill below).
--    What the metrics endpoint reads: a handful of rows per tenant instead of a scan of every retained minute,
--    and totals that never go down when a month is retired, so Prometheus' rate() sees no false reset.
--    Not partitioned: one row per label set. A model that has never answered a 2xx is counted as '(other)'
--    (ROLLUP_OTHER_MODEL), so made-up model names cannot grow this table, and every scrape, without bound; the
--    per-minute rows keep the name.
CREATE TABLE "usage_rollup_totals" (
	"tenant_id" uuid,
	"model" text,
	"status_class" text NOT NULL,
	"cache" text NOT NULL,
	"requests" bigint NOT NULL,
	"items" bigint NOT NULL,
	"rate_limited" bigint NOT NULL,
	"auth_failures" bigint NOT NULL,
	"edge_ms_sum" bigint NOT NULL,
	"edge_le" bigint[] NOT NULL,
	"origin_count" bigint NOT NULL,
	"origin_ms_sum" bigint NOT NULL,
	"origin_le" bigint[] NOT NULL,
	-- The newest event counted: how far behind the drain is, as a gauge.
	"newest_ts" timestamp with time zone NOT NULL,
	CONSTRAINT "usage_rollup_totals_key" UNIQUE NULLS NOT DISTINCT ("tenant_id", "model", "status_class", "cache")
);
--> statement-breakpoint
-- The current month and the next two, as 0001 does for usage_events.
DO $$
DECLARE
	month_start date;
BEGIN
	FOR i IN 0..2 LOOP
		month_start := (date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => i))::date;
		EXECUTE format(
			'CREATE TABLE IF NOT EXISTS %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
			'usage_rollups_p' || to_char(month_start, 'YYYYMM'),
			'usage_rollups',
			month_start::timestamp AT TIME ZONE 'UTC',
			(month_start + interval '1 month')::timestamp AT TIME ZONE 'UTC'
		);
	END LOOP;
END
$$;
--> statement-breakpoint
-- 4. Backfill from the usage already stored, so the rollups cover the retained window. The ALTER TABLE above
--    holds usage_events' lock until this migration commits, so no insert can slip between the backfill and
--    the first insert that counts itself. Same expressions as drizzle/pipeline/insert-usage.ts (a test
--    runs this statement against that code's output). latency_ms and origin_ms are whole milliseconds.
-- backfill:start
INSERT INTO "usage_rollups" ("minute", "tenant_id", "model", "status_class", "cache", "requests", "items",
	"rate_limited", "auth_failures", "edge_ms_sum", "edge_le", "origin_count", "origin_ms_sum", "origin_le")
SELECT date_trunc('minute', ts, 'UTC'), tenant_id, model, (status / 100)::text || 'xx', cache,
	count(*), coalesce(sum(items), 0), count(*) FILTER (WHERE status = 429),
	count(*) FILTER (WHERE status IN (401, 403)), coalesce(sum(latency_ms), 0),
	ARRAY[count(*) FILTER (WHERE latency_ms <= 1), count(*) FILTER (WHERE latency_ms <= 2),
		count(*) FILTER (WHERE latency_ms <= 5), count(*) FILTER (WHERE latency_ms <= 10),
		count(*) FILTER (WHERE latency_ms <= 25), count(*) FILTER (WHERE latency_ms <= 50),
		count(*) FILTER (WHERE latency_ms <= 100), count(*) FILTER (WHERE latency_ms <= 250),
		count(*) FILTER (WHERE latency_ms <= 500), count(*) FILTER (WHERE latency_ms <= 1000),
		count(*) FILTER (WHERE latency_ms <= 2500), count(*) FILTER (WHERE latency_ms <= 5000),
		count(*) FILTER (WHERE latency_ms <= 10000), count(*) FILTER (WHERE latency_ms <= 30000),
		count(*) FILTER (WHERE latency_ms <= 60000)]::bigint[],
	count(origin_ms), coalesce(sum(origin_ms), 0),
	ARRAY[count(*) FILTER (WHERE origin_ms <= 1), count(*) FILTER (WHERE origin_ms <= 2),
		count(*) FILTER (WHERE origin_ms <= 5), count(*) FILTER (WHERE origin_ms <= 10),
		count(*) FILTER (WHERE origin_ms <= 25), count(*) FILTER (WHERE origin_ms <= 50),
		count(*) FILTER (WHERE origin_ms <= 100), count(*) FILTER (WHERE origin_ms <= 250),
		count(*) FILTER (WHERE origin_ms <= 500), count(*) FILTER (WHERE origin_ms <= 1000),
		count(*) FILTER (WHERE origin_ms <= 2500), count(*) FILTER (WHERE origin_ms <= 5000),
		count(*) FILTER (WHERE origin_ms <= 10000), count(*) FILTER (WHERE origin_ms <= 30000),
		count(*) FILTER (WHERE origin_ms <= 60000)]::bigint[]
FROM "usage_events"
GROUP BY 1, 2, 3, 4, 5;
--> statement-breakpoint
INSERT INTO "usage_rollup_totals" ("tenant_id", "model", "status_class", "cache", "requests", "items",
	"rate_limited", "auth_failures", "edge_ms_sum", "edge_le", "origin_count", "origin_ms_sum", "origin_le",
	"newest_ts")
SELECT tenant_id,
	CASE WHEN model IS NULL OR model IN (SELECT model FROM "usage_events" WHERE status BETWEEN 200 AND 299)
		THEN model ELSE '(other)' END,
	(status / 100)::text || 'xx', cache,
	count(*), coalesce(sum(items), 0), count(*) FILTER (WHERE status = 429),
	count(*) FILTER (WHERE status IN (401, 403)), coalesce(sum(latency_ms), 0),
	ARRAY[count(*) FILTER (WHERE latency_ms <= 1), count(*) FILTER (WHERE latency_ms <= 2),
		count(*) FILTER (WHERE latency_ms <= 5), count(*) FILTER (WHERE latency_ms <= 10),
		count(*) FILTER (WHERE latency_ms <= 25), count(*) FILTER (WHERE latency_ms <= 50),
		count(*) FILTER (WHERE latency_ms <= 100), count(*) FILTER (WHERE latency_ms <= 250),
		count(*) FILTER (WHERE latency_ms <= 500), count(*) FILTER (WHERE latency_ms <= 1000),
		count(*) FILTER (WHERE latency_ms <= 2500), count(*) FILTER (WHERE latency_ms <= 5000),
		count(*) FILTER (WHERE latency_ms <= 10000), count(*) FILTER (WHERE latency_ms <= 30000),
		count(*) FILTER (WHERE latency_ms <= 60000)]::bigint[],
	count(origin_ms), coalesce(sum(origin_ms), 0),
	ARRAY[count(*) FILTER (WHERE origin_ms <= 1), count(*) FILTER (WHERE origin_ms <= 2),
		count(*) FILTER (WHERE origin_ms <= 5), count(*) FILTER (WHERE origin_ms <= 10),
		count(*) FILTER (WHERE origin_ms <= 25), count(*) FILTER (WHERE origin_ms <= 50),
		count(*) FILTER (WHERE origin_ms <= 100), count(*) FILTER (WHERE origin_ms <= 250),
		count(*) FILTER (WHERE origin_ms <= 500), count(*) FILTER (WHERE origin_ms <= 1000),
		count(*) FILTER (WHERE origin_ms <= 2500), count(*) FILTER (WHERE origin_ms <= 5000),
		count(*) FILTER (WHERE origin_ms <= 10000), count(*) FILTER (WHERE origin_ms <= 30000),
		count(*) FILTER (WHERE origin_ms <= 60000)]::bigint[],
	max(ts)
FROM "usage_events"
GROUP BY 1, 2, 3, 4;
-- backfill:end
