import { defineConfig } from 'drizzle-kit';

/**
 * `npm run db:generate` (drizzle-kit generate). Only the plain tables are listed: usage_events, audit_log and
 * usage_rollups are partitioned, which drizzle-kit cannot express, so they live in the custom migrations
 * `*_usage_audit_partitions.sql` and `*_usage_rollups.sql` (with usage_rollup_totals, which is written by the
 * same statement and documented beside them) and must stay out of drizzle-kit's snapshot (or it would try to
 * recreate them as ordinary tables).
 */
export default defineConfig({
  dialect: 'postgresql',
  schema: [
    './drizzle/schema/tenants.ts',
    './drizzle/schema/api-keys.ts',
    './drizzle/schema/models.ts',
    './drizzle/schema/instances.ts',
  ],
  out: './drizzle/migrations',
  strict: true,
  verbose: true,
});
