import { sql } from 'drizzle-orm';
import { index, jsonb, numeric, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * Origins seen by the fleet registry. Redis holds the live view (heartbeats, 15 s TTL); this table is the
 * durable history an operator or the dashboard can query after an origin is gone.
 */
export const origins = pgTable(
  'origins',
  {
    id: text('id').primaryKey(),
    url: text('url').notNull(),
    region: text('region').notNull(),
    status: text('status').notNull(),
    models: jsonb('models').$type<{ name: string; versions: string[] }[]>().notNull().default([]),
    firstSeenAt: timestamp('first_seen_at', { withTimezone: true }).notNull().defaultNow(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
    instanceId: uuid('instance_id').references(() => gpuInstances.id, { onDelete: 'set null' }),
  },
  (t) => [
    // Fleet views list recently seen origins per region, newest first.
    index('origins_region_last_seen_idx').on(t.region, t.lastSeenAt.desc()),
  ],
);

/**
 * Where a GPU instance is in its life; the control plane owns the transitions: requested (row written before the
 * provider call, so a crash mid-launch leaves a token to find) → booting → ready → draining → terminated, or
 * failed at any point (with `failure_reason`); terminating is a terminate to retry.
 */
export type InstanceStatus =
  | 'requested'
  | 'booting'
  | 'ready'
  | 'draining'
  | 'terminating'
  | 'terminated'
  | 'failed';

/** GPU instances the control plane launched. */
export const gpuInstances = pgTable(
  'gpu_instances',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    provider: text('provider').notNull(),
    providerInstanceId: text('provider_instance_id'),
    // Unique: an idempotency token sent with the launch, so a retried launch never starts a second machine.
    clientToken: text('client_token').notNull().unique('gpu_instances_client_token_key'),
    region: text('region').notNull(),
    gpuType: text('gpu_type').notNull(),
    status: text('status').$type<InstanceStatus>().notNull(),
    hourlyCostUsd: numeric('hourly_cost_usd', { precision: 10, scale: 4, mode: 'number' }),
    publicUrl: text('public_url'),
    launchedAt: timestamp('launched_at', { withTimezone: true }).notNull().defaultNow(),
    readyAt: timestamp('ready_at', { withTimezone: true }),
    terminatedAt: timestamp('terminated_at', { withTimezone: true }),
    failureReason: text('failure_reason'),
  },
  (t) => [
    // The reconciler and cost report scan only live instances, a small slice of an ever-growing table.
    index('gpu_instances_live_idx').on(t.provider, t.status).where(sql`${t.terminatedAt} IS NULL`),
    // Provider callbacks and reconciliation map a provider's id back to our row.
    index('gpu_instances_provider_id_idx').on(t.provider, t.providerInstanceId),
  ],
);

export type OriginRow = typeof origins.$inferSelect;
export type GpuInstanceRow = typeof gpuInstances.$inferSelect;
export type NewGpuInstanceRow = typeof gpuInstances.$inferInsert;
