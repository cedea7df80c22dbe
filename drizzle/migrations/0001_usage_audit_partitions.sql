-- Custom migration (drizzle-kit generate --custom): usage_events and audit_log are partitioned by month,
-- which drizzle-kit cannot express. Both tables are described for typed queries in drizzle/schema but are
-- left out of drizzle.config.ts, so drizzle-kit never tries to recreate them.
--
-- Partition naming (the maintenance job in drizzle/maintenance relies on it):
--   <table>_pYYYYMM  covers [first day of the month, first day of the next month) in UTC
--   <table>_default  catches anything outside the existing ranges, so no insert ever fails
CREATE TABLE "usage_events" (
	"event_id" uuid NOT NULL,
	"ts" timestamp with time zone NOT NULL,
	"tenant_id" uuid NOT NULL,
	"key_id" uuid,
	"model" text,
	"version" text,
	"route" text NOT NULL,
	"status" integer NOT NULL,
	"latency_ms" integer NOT NULL,
	"cache" text NOT NULL,
	"items" integer DEFAULT 1 NOT NULL,
	"request_id" text NOT NULL,
	"origin_id" text,
	-- A partitioned table's unique key must include the partition key; events carry their own ts, so a
	-- retried event lands on the same (event_id, ts) and ON CONFLICT DO NOTHING drops it.
	CONSTRAINT "usage_events_pkey" PRIMARY KEY ("event_id", "ts"),
	CONSTRAINT "usage_events_cache_check" CHECK ("cache" IN ('HIT-EDGE', 'HIT-REDIS', 'MISS', 'BYPASS', 'NONE'))
) PARTITION BY RANGE ("ts");
--> statement-breakpoint
-- Usage listings and reports by tenant over a time range, newest first; covering, so index-only scans.
CREATE INDEX "usage_events_tenant_ts_idx" ON "usage_events" USING btree ("tenant_id", "ts" DESC)
	INCLUDE ("model", "status", "latency_ms", "cache", "items");
--> statement-breakpoint
-- Per-key usage (is this key still used before I revoke it?); anonymous traffic has no key.
CREATE INDEX "usage_events_key_ts_idx" ON "usage_events" USING btree ("key_id", "ts" DESC)
	WHERE "key_id" IS NOT NULL;
--> statement-breakpoint
CREATE TABLE "usage_events_default" PARTITION OF "usage_events" DEFAULT;
--> statement-breakpoint
-- bigserial, not an identity column: PostgreSQL 15 does not allow identity columns on partitioned tables.
CREATE TABLE "audit_log" (
	"id" bigserial NOT NULL,
	"ts" timestamp with time zone DEFAULT now() NOT NULL,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"target" text NOT NULL,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"prev_hash" text NOT NULL,
	"hash" text NOT NULL,
	CONSTRAINT "audit_log_pkey" PRIMARY KEY ("id", "ts")
) PARTITION BY RANGE ("ts");
--> statement-breakpoint
-- "What happened to this key/model/instance", newest first.
CREATE INDEX "audit_log_target_ts_idx" ON "audit_log" USING btree ("target", "ts" DESC);
--> statement-breakpoint
CREATE TABLE "audit_log_default" PARTITION OF "audit_log" DEFAULT;
--> statement-breakpoint
-- The current month and the next two exist from the start, so a fresh database does not depend on the
-- maintenance job having run before the first request.
DO $$
DECLARE
	month_start date;
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['usage_events', 'audit_log'] LOOP
		FOR i IN 0..2 LOOP
			month_start := (date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => i))::date;
			EXECUTE format(
				'CREATE TABLE IF NOT EXISTS %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
				t || '_p' || to_char(month_start, 'YYYYMM'),
				t,
				month_start::timestamp AT TIME ZONE 'UTC',
				(month_start + interval '1 month')::timestamp AT TIME ZONE 'UTC'
			);
		END LOOP;
	END LOOP;
END
$$;
