import { z } from 'zod';

/**
 * What the edge needs to authorise a key, as `findKeyForAuth` (drizzle/queries/keys.ts) returns it and as it is
 * cached in isolate memory and in Redis (`aiserve:auth:<prefix>`). Parsed on the way out of Redis, so an entry
 * written by another version is treated as a miss rather than trusted.
 */
export const authKeyRecordSchema = z.object({
  keyId: z.string().min(1),
  tenantId: z.string().min(1),
  prefix: z.string().min(1),
  secretHash: z.string().regex(/^[0-9a-f]{64}$/),
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

export const AUTH_CACHE_PREFIX = 'aiserve:auth:';

export function authCacheKey(prefix: string): string {
  return `${AUTH_CACHE_PREFIX}${prefix}`;
}
