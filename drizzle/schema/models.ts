import { sql } from 'drizzle-orm';
import { boolean, check, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { tenants } from './tenants.ts';

/**
 * Per-model edge settings. A model without a row uses the defaults (cacheable, 300 s, tenant-scoped), so
 * only models that differ need one.
 */
export const models = pgTable(
  'models',
  {
    name: text('name').primaryKey(),
    cacheable: boolean('cacheable').notNull().default(true),
    cacheTtlSeconds: integer('cache_ttl_seconds').notNull().default(300),
    // Shareable: one cached answer serves every tenant (the cache key leaves the tenant out).
    shareable: boolean('shareable').notNull().default(false),
    visibility: text('visibility', { enum: ['public', 'private'] })
      .notNull()
      .default('public'),
    ownerTenantId: uuid('owner_tenant_id').references(() => tenants.id, { onDelete: 'set null' }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check('models_cache_ttl_check', sql`${t.cacheTtlSeconds} >= 0`),
    check('models_visibility_check', sql`${t.visibility} IN ('public', 'private')`),
  ],
);

export type ModelRow = typeof models.$inferSelect;
