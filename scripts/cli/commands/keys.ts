import {
  createKeyAudited,
  type KeySummary,
  listKeys,
  revokeKeyAudited,
  rotateKeyAudited,
} from '../../../drizzle/queries/keys.ts';
import { requireTenant } from '../../../drizzle/queries/tenants.ts';
import { AppError } from '../../../shared/errors/index.ts';
import { authCacheKey } from '../../../shared/redis-keys.ts';
import { UsageError } from '../../usage-error.ts';
import { parseDurationSeconds } from '../args.ts';
import { table } from '../output.ts';
import type { CliContext, CommandGroup } from '../types.ts';

const DEFAULT_OVERLAP = '24h';

/**
 * Drops the edge's Redis copy of a key after its change committed, so the next request re-reads Postgres.
 * Without Redis configured there is nothing to drop; if Redis fails, edges keep the old state until the
 * cache entry's TTL ends, and the operator is told so.
 */
async function invalidate(
  ctx: CliContext,
  prefix: string,
): Promise<{ cacheInvalidated: boolean; warnings: string[] }> {
  const redis = ctx.redis();
  if (!redis) return { cacheInvalidated: false, warnings: [] };
  try {
    await redis.del(authCacheKey(prefix));
    return { cacheInvalidated: true, warnings: [] };
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return {
      cacheInvalidated: false,
      warnings: [
        `could not delete ${authCacheKey(prefix)} from Redis (${why}); edges may accept the old key state until their auth cache expires`,
      ],
    };
  }
}

function parseScopes(raw: unknown): string[] | undefined {
  if (raw === undefined) return undefined;
  const scopes = String(raw)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (scopes.length === 0) throw new UsageError('--scopes needs at least one model name or *');
  return scopes;
}

function parseExpiry(flags: Record<string, unknown>): Date | null {
  const inRaw = flags['expires-in'];
  const atRaw = flags['expires-at'];
  if (inRaw !== undefined && atRaw !== undefined)
    throw new UsageError('give --expires-in or --expires-at, not both');
  if (inRaw !== undefined) {
    const seconds = parseDurationSeconds('--expires-in', String(inRaw));
    if (seconds <= 0) throw new UsageError('--expires-in must be more than 0');
    return new Date(Date.now() + seconds * 1000);
  }
  if (atRaw !== undefined) {
    const at = new Date(String(atRaw));
    if (!/^\d{4}-\d{2}-\d{2}/.test(String(atRaw)) || Number.isNaN(at.getTime())) {
      throw new UsageError(
        `--expires-at must be an ISO date or time, e.g. 2027-01-31T00:00:00Z (got "${atRaw}")`,
      );
    }
    return at;
  }
  return null;
}

function keyRow(k: KeySummary) {
  return [k.prefix, k.id, k.name || null, k.env, k.scopes.join(','), k.expiresAt, k.revokedAt, k.lastUsedAt];
}

const KEY_HEADERS = ['PREFIX', 'ID', 'NAME', 'ENV', 'SCOPES', 'EXPIRES', 'REVOKED', 'LAST USED'];

export const keysGroup: CommandGroup = {
  name: 'keys',
  summary: 'create, list, revoke and rotate API keys',
  commands: [
    {
      name: 'create',
      summary: 'create a key for a tenant; the full key is printed once and never stored',
      flags: {
        tenant: { type: 'string', description: 'tenant name', required: true },
        name: { type: 'string', description: 'a label for the key' },
        scopes: { type: 'string', description: 'comma-separated model names, or * for all (default *)' },
        env: { type: 'string', description: 'live or test (default live)', choices: ['live', 'test'] },
        'expires-in': { type: 'string', description: 'lifetime: 90s, 15m, 24h, 30d' },
        'expires-at': { type: 'string', description: 'expiry as an ISO date/time' },
      },
      details: 'example: npm run cli -- keys create --tenant acme --scopes ocr-cls,ocr-det --expires-in 90d',
      async run(ctx, { flags }) {
        const scopes = parseScopes(flags['scopes']);
        const expiresAt = parseExpiry(flags);
        const db = await ctx.db();
        const tenant = await requireTenant(db, String(flags['tenant']));
        // The key and its audit row commit together (the admin API writes through the same query).
        const created = await createKeyAudited(
          db,
          {
            tenantId: tenant.id,
            name: flags['name'] === undefined ? '' : String(flags['name']),
            ...(scopes ? { scopes } : {}),
            env: (flags['env'] as 'live' | 'test' | undefined) ?? 'live',
            expiresAt,
          },
          { actor: ctx.actor },
        );
        return {
          data: { key: created.key, ...created.record, tenant: tenant.name },
          text: [created.key],
          warnings: [
            `created key ${created.record.prefix} for tenant ${tenant.name}; the line above is the only time the full key is shown`,
          ],
        };
      },
    },
    {
      name: 'list',
      summary: 'list a tenant’s keys (never secrets); active ones unless --all',
      flags: {
        tenant: { type: 'string', description: 'tenant name', required: true },
        all: { type: 'boolean', description: 'include revoked keys' },
      },
      async run(ctx, { flags }) {
        const db = await ctx.db();
        const tenant = await requireTenant(db, String(flags['tenant']));
        const keys = await listKeys(db, tenant.id, { includeRevoked: Boolean(flags['all']) });
        return {
          data: keys,
          text: keys.length
            ? table(KEY_HEADERS, keys.map(keyRow))
            : [`tenant ${tenant.name} has no ${flags['all'] ? '' : 'active '}keys`],
        };
      },
    },
    {
      name: 'revoke',
      summary: 'revoke a key at once (and drop it from the edge’s Redis cache when Redis is configured)',
      positionals: [{ name: 'key', description: 'key id, prefix, or the full key', required: true }],
      flags: { tenant: { type: 'string', description: 'only if the key belongs to this tenant' } },
      async run(ctx, { positionals, flags }) {
        const ref = positionals[0]!;
        const db = await ctx.db();
        const tenant =
          flags['tenant'] === undefined ? null : await requireTenant(db, String(flags['tenant']));
        const result = await revokeKeyAudited(db, ref, tenant ? { tenantId: tenant.id } : {}, {
          actor: ctx.actor,
        });
        if (!result)
          throw new AppError('NOT_FOUND', `no key "${ref}"${tenant ? ` for tenant ${tenant.name}` : ''}`);
        // After the commit: an edge that refills its cache now reads the revoked row.
        const cache = await invalidate(ctx, result.key.prefix);
        return {
          data: {
            ...result.key,
            alreadyRevoked: result.alreadyRevoked,
            cacheInvalidated: cache.cacheInvalidated,
          },
          text: [
            result.alreadyRevoked
              ? `key ${result.key.prefix} was already revoked at ${result.key.revokedAt}`
              : `revoked key ${result.key.prefix} at ${result.key.revokedAt}`,
          ],
          warnings: cache.warnings,
        };
      },
    },
    {
      name: 'rotate',
      summary: 'issue a replacement key; the old one keeps working for the overlap window, then expires',
      positionals: [{ name: 'key', description: 'key id, prefix, or the full key', required: true }],
      flags: {
        overlap: {
          type: 'string',
          description: `how long the old key keeps working (default ${DEFAULT_OVERLAP}; 0 = stop now)`,
        },
        tenant: { type: 'string', description: 'only if the key belongs to this tenant' },
      },
      async run(ctx, { positionals, flags }) {
        const ref = positionals[0]!;
        const overlapSeconds = parseDurationSeconds('--overlap', String(flags['overlap'] ?? DEFAULT_OVERLAP));
        const db = await ctx.db();
        const tenant =
          flags['tenant'] === undefined ? null : await requireTenant(db, String(flags['tenant']));
        const result = await rotateKeyAudited(
          db,
          ref,
          { overlapSeconds, ...(tenant ? { tenantId: tenant.id } : {}) },
          { actor: ctx.actor },
        );
        if (!result)
          throw new AppError('NOT_FOUND', `no key "${ref}"${tenant ? ` for tenant ${tenant.name}` : ''}`);
        const cache = await invalidate(ctx, result.oldKey.prefix);
        return {
          data: {
            key: result.key,
            newKey: result.newKey,
            oldKey: result.oldKey,
            cacheInvalidated: cache.cacheInvalidated,
          },
          text: [result.key],
          warnings: [
            `rotated ${result.oldKey.prefix} → ${result.newKey.prefix}; the old key expires at ${result.oldKey.expiresAt}. The line above is the only time the new key is shown`,
            ...cache.warnings,
          ],
        };
      },
    },
  ],
};
