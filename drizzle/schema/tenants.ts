import { boolean, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** A customer account: every key, usage row and private model belongs to one. Limits come from the plan. */
export const tenants = pgTable('tenants', {
  id: uuid('id').primaryKey().defaultRandom(),
  // Unique: the CLI and admin API address tenants by name (the constraint's index serves that lookup).
  name: text('name').notNull().unique('tenants_name_key'),
  plan: text('plan').notNull().default('free'),
  requestsPerMinute: integer('requests_per_minute').notNull().default(60),
  burst: integer('burst').notNull().default(10),
  disabled: boolean('disabled').notNull().default(false),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

export type Tenant = typeof tenants.$inferSelect;
export type NewTenant = typeof tenants.$inferInsert;
