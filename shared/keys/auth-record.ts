import { z } from 'zod';

/**
 * What the edge needs to authorise a key: `findKeyForAuth` (drizzle/queries/keys.ts) returns it, and the edge
 * caches it in isolate memory and in Redis (`authCacheKey` in shared/redis-keys.ts), so it stays
 * JSON-serialisable. Parsed on the way out of Redis, so an entry written by another version is treated as a
 * miss rather than trusted.
 */
export const authKeyRecordSchema = z.object({
  keyId: z.string().min(1),
  tenantId: z.string().min(1),
  prefix: z.string().min(1),
  secretHash: z.string().regex(/^[0-9a-f]{64}$/),
  /** Model names, `*` for all, `admin` for the tenant's admin API. */
  scopes: z.array(z.string()),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  tenant: z.object({
    id: z.string().min(1),
    name: z.string(),
    plan: z.string(),
    requestsPerMinute: z.number().int().positive(),
    burst: z.number().int().positive(),
    disabled: z.boolean(),
  }),
});

export type AuthKeyRecord = z.infer<typeof authKeyRecordSchema>;
