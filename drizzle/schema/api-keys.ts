import { sql } from 'drizzle-orm';
import { type AnyPgColumn, check, index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { tenants } from './tenants.ts';

/** API keys: only the public prefix and the SHA-256 of the secret are stored (see shared/keys/api-key.ts). */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    // Unique: the auth lookup (every request that misses the edge caches) finds the key by prefix.
    prefix: text('prefix').notNull().unique('api_keys_prefix_key'),
    secretHash: text('secret_hash').notNull(),
    name: text('name').notNull().default(''),
    // Model names this key may call, or '*' for all.
    scopes: text('scopes').array().notNull().default(sql`ARRAY['*']::text[]`),
    env: text('env', { enum: ['live', 'test'] })
      .notNull()
      .default('live'),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    rotatedFromId: uuid('rotated_from_id').references((): AnyPgColumn => apiKeys.id, {
      onDelete: 'set null',
    }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // Listing a tenant's usable keys (CLI, admin API) skips revoked ones, which accumulate forever.
    index('api_keys_tenant_active_idx').on(t.tenantId, t.createdAt.desc()).where(sql`${t.revokedAt} IS NULL`),
    check('api_keys_env_check', sql`${t.env} IN ('live', 'test')`),
  ],
);

export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type NewApiKeyRow = typeof apiKeys.$inferInsert;
