import { and, desc, eq, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import { AppError } from '../../shared/errors/index.ts';
import { generateApiKey, hashKeySecret, type KeyEnv, parseApiKey } from '../../shared/keys/api-key.ts';
import type { AuthKeyRecord } from '../../shared/keys/auth-record.ts';
import type { Database } from '../client/types.ts';
import { type ApiKeyRow, apiKeys } from '../schema/api-keys.ts';
import { tenants } from '../schema/tenants.ts';
import { type AuditBy, appendAudit, auditEntry } from './audit.ts';
import { isUuid } from './uuid.ts';

/** A key as listed to its owner: never the secret or its hash. */
export interface KeySummary {
  id: string;
  tenantId: string;
  prefix: string;
  name: string;
  scopes: string[];
  env: KeyEnv;
  expiresAt: string | null;
  revokedAt: string | null;
  rotatedFromId: string | null;
  lastUsedAt: string | null;
  createdAt: string;
}

/** Called with the prefix of every key whose auth state changed, so callers can drop cached copies. */
export type OnKeyChanged = (prefix: string) => void | Promise<void>;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function summary(row: ApiKeyRow): KeySummary {
  return {
    id: row.id,
    tenantId: row.tenantId,
    prefix: row.prefix,
    name: row.name,
    scopes: row.scopes,
    env: row.env,
    expiresAt: iso(row.expiresAt),
    revokedAt: iso(row.revokedAt),
    rotatedFromId: row.rotatedFromId,
    lastUsedAt: iso(row.lastUsedAt),
    createdAt: row.createdAt.toISOString(),
  };
}

/** One indexed lookup (api_keys_prefix_key) joined to the tenant. Revoked and expired keys are returned as
 * such, so the edge can cache the refusal too. */
export async function findKeyForAuth(db: Database, prefix: string): Promise<AuthKeyRecord | null> {
  const [row] = await db
    .select({ key: apiKeys, tenant: tenants })
    .from(apiKeys)
    .innerJoin(tenants, eq(tenants.id, apiKeys.tenantId))
    .where(eq(apiKeys.prefix, prefix))
    .limit(1);
  if (!row) return null;
  const { key, tenant } = row;
  return {
    keyId: key.id,
    tenantId: key.tenantId,
    prefix: key.prefix,
    secretHash: key.secretHash,
    scopes: key.scopes,
    expiresAt: iso(key.expiresAt),
    revokedAt: iso(key.revokedAt),
    tenant: {
      id: tenant.id,
      name: tenant.name,
      plan: tenant.plan,
      requestsPerMinute: tenant.requestsPerMinute,
      burst: tenant.burst,
      disabled: tenant.disabled,
    },
  };
}

export interface CreateKeyInput {
  tenantId: string;
  name?: string;
  scopes?: string[];
  env?: KeyEnv;
  expiresAt?: Date | null;
}

export interface CreatedKey {
  /** The full key: returned once, never stored. */
  key: string;
  record: KeySummary;
}

const SCOPE = /^(\*|[A-Za-z0-9][A-Za-z0-9._-]{0,127})$/;

function validateScopes(scopes: string[]): void {
  if (scopes.length === 0)
    throw new AppError('INVALID_REQUEST', 'a key needs at least one scope (a model name or *)');
  for (const s of scopes) {
    if (!SCOPE.test(s)) throw new AppError('INVALID_REQUEST', `scope "${s}" is not a model name or *`);
  }
}

async function insertKey(
  db: Database,
  input: CreateKeyInput & { rotatedFromId?: string },
): Promise<CreatedKey> {
  const scopes = input.scopes ?? ['*'];
  validateScopes(scopes);
  if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
    throw new AppError('INVALID_REQUEST', `expiry ${input.expiresAt.toISOString()} is in the past`);
  }
  const generated = generateApiKey(input.env ?? 'live');
  const [row] = await db
    .insert(apiKeys)
    .values({
      tenantId: input.tenantId,
      prefix: generated.prefix,
      secretHash: hashKeySecret(generated.secret),
      name: input.name ?? '',
      scopes,
      env: input.env ?? 'live',
      expiresAt: input.expiresAt ?? null,
      rotatedFromId: input.rotatedFromId ?? null,
    })
    .returning();
  return { key: generated.key, record: summary(row!) };
}

/** Creates a key for an existing tenant (resolve it first: a missing tenant is the caller's NOT_FOUND). */
export function createKey(db: Database, input: CreateKeyInput): Promise<CreatedKey> {
  return insertKey(db, input);
}

/**
 * Creates a key and its `key.created` audit row in one transaction: when the audit append fails, no key exists
 * (a key whose secret was never shown to anyone must not be left behind).
 */
export function createKeyAudited(db: Database, input: CreateKeyInput, by: AuditBy): Promise<CreatedKey> {
  return db.transaction(async (t) => {
    const tx = t as unknown as Database;
    const created = await insertKey(tx, input);
    await appendAudit(
      tx,
      auditEntry(by, 'key.created', `key:${created.record.prefix}`, {
        tenantId: created.record.tenantId,
        keyId: created.record.id,
        scopes: created.record.scopes,
        expiresAt: created.record.expiresAt,
      }),
    );
    return created;
  });
}

export async function listKeys(
  db: Database,
  tenantId: string,
  options: { includeRevoked?: boolean } = {},
): Promise<KeySummary[]> {
  // Active keys use the partial index api_keys_tenant_active_idx.
  const where = options.includeRevoked
    ? eq(apiKeys.tenantId, tenantId)
    : and(eq(apiKeys.tenantId, tenantId), isNull(apiKeys.revokedAt));
  const rows = await db.select().from(apiKeys).where(where).orderBy(desc(apiKeys.createdAt));
  return rows.map(summary);
}

/** A key addressed by id (uuid), prefix, or the full key string. */
function keyLocator(ref: string) {
  const full = parseApiKey(ref);
  if (full) return eq(apiKeys.prefix, full.prefix);
  if (isUuid(ref)) return eq(apiKeys.id, ref);
  return eq(apiKeys.prefix, ref);
}

export async function findKey(db: Database, ref: string): Promise<KeySummary | null> {
  const [row] = await db.select().from(apiKeys).where(keyLocator(ref)).limit(1);
  return row ? summary(row) : null;
}

/**
 * Revokes a key (idempotent: revoking a revoked key keeps the first revocation time). Returns null when no
 * such key exists. `onKeyChanged` runs after the commit, so a cache refilled right after sees the revocation.
 */
export async function revokeKey(
  db: Database,
  ref: string,
  options: { onKeyChanged?: OnKeyChanged; tenantId?: string } = {},
): Promise<{ key: KeySummary; alreadyRevoked: boolean } | null> {
  const scope = options.tenantId
    ? and(keyLocator(ref), eq(apiKeys.tenantId, options.tenantId))
    : keyLocator(ref);
  const [updated] = await db
    .update(apiKeys)
    .set({ revokedAt: sql`now()` })
    .where(and(scope, isNull(apiKeys.revokedAt)))
    .returning();
  let result: { key: KeySummary; alreadyRevoked: boolean } | null;
  if (updated) {
    result = { key: summary(updated), alreadyRevoked: false };
  } else {
    const [existing] = await db.select().from(apiKeys).where(scope).limit(1);
    result = existing ? { key: summary(existing), alreadyRevoked: true } : null;
  }
  if (result) await options.onKeyChanged?.(result.key.prefix);
  return result;
}

export interface RotateKeyOptions {
  /** How long the old key keeps working, so deployments can switch over (0 = it stops now). */
  overlapSeconds: number;
  onKeyChanged?: OnKeyChanged;
  tenantId?: string;
}

/**
 * Issues a replacement key with the same tenant, name, scopes, env and expiry, and makes the old key expire
 * after the overlap window (never later than it already would). Returns null when no such key exists;
 * CONFLICT when it is revoked or already expired (rotating it would resurrect it).
 */
export async function rotateKey(
  db: Database,
  ref: string,
  options: RotateKeyOptions,
): Promise<{ key: string; newKey: KeySummary; oldKey: KeySummary } | null> {
  if (!Number.isInteger(options.overlapSeconds) || options.overlapSeconds < 0) {
    throw new AppError(
      'INVALID_REQUEST',
      `overlap must be a whole number of seconds >= 0 (got ${options.overlapSeconds})`,
    );
  }
  const scope = options.tenantId
    ? and(keyLocator(ref), eq(apiKeys.tenantId, options.tenantId))
    : keyLocator(ref);
  const result = await db.transaction(async (tx) => {
    const [old] = await tx.select().from(apiKeys).where(scope).limit(1).for('update');
    if (!old) return null;
    if (old.revokedAt) throw new AppError('CONFLICT', `key ${old.prefix} is revoked and cannot be rotated`);
    if (old.expiresAt && old.expiresAt.getTime() <= Date.now()) {
      throw new AppError('CONFLICT', `key ${old.prefix} has expired and cannot be rotated`);
    }
    // One successor per key: rotating it again (or concurrently: the row lock above orders the callers) would
    // mint another live key from the same credential.
    const [successor] = await tx
      .select({ prefix: apiKeys.prefix })
      .from(apiKeys)
      .where(eq(apiKeys.rotatedFromId, old.id))
      .limit(1);
    if (successor) {
      throw new AppError(
        'CONFLICT',
        `key ${old.prefix} was already rotated (its successor is ${successor.prefix}); rotate that key instead, or revoke this one to end it now`,
      );
    }
    const created = await insertKey(tx as unknown as Database, {
      tenantId: old.tenantId,
      name: old.name,
      scopes: old.scopes,
      env: old.env,
      expiresAt: old.expiresAt,
      rotatedFromId: old.id,
    });
    const overlapEnds = sql`now() + make_interval(secs => ${options.overlapSeconds})`;
    const [oldUpdated] = await tx
      .update(apiKeys)
      .set({
        expiresAt: old.expiresAt ? sql`least(${apiKeys.expiresAt}, ${overlapEnds})` : overlapEnds,
      })
      .where(eq(apiKeys.id, old.id))
      .returning();
    return { key: created.key, newKey: created.record, oldKey: summary(oldUpdated!) };
  });
  if (result) await options.onKeyChanged?.(result.oldKey.prefix);
  return result;
}

/**
 * `revokeKey` and its `key.revoked` audit row in one transaction (none for a key already revoked: nothing
 * changed). `onKeyChanged` runs after the commit.
 */
export async function revokeKeyAudited(
  db: Database,
  ref: string,
  options: { onKeyChanged?: OnKeyChanged; tenantId?: string },
  by: AuditBy,
): Promise<{ key: KeySummary; alreadyRevoked: boolean } | null> {
  const result = await db.transaction(async (t) => {
    const tx = t as unknown as Database;
    const revoked = await revokeKey(tx, ref, options.tenantId ? { tenantId: options.tenantId } : {});
    if (revoked && !revoked.alreadyRevoked) {
      await appendAudit(
        tx,
        auditEntry(by, 'key.revoked', `key:${revoked.key.prefix}`, {
          tenantId: revoked.key.tenantId,
          keyId: revoked.key.id,
        }),
      );
    }
    return revoked;
  });
  if (result) await options.onKeyChanged?.(result.key.prefix);
  return result;
}

/**
 * `rotateKey` and its `key.rotated` audit row in one transaction: when the append fails there is no successor
 * and the old key keeps its expiry. The rotation's row lock on the old key comes first and the chain lock last
 * (see appendAudit). `onKeyChanged` runs after the commit.
 */
export async function rotateKeyAudited(
  db: Database,
  ref: string,
  options: RotateKeyOptions,
  by: AuditBy,
): Promise<{ key: string; newKey: KeySummary; oldKey: KeySummary } | null> {
  const { onKeyChanged, ...rotate } = options;
  const result = await db.transaction(async (t) => {
    const tx = t as unknown as Database;
    const rotated = await rotateKey(tx, ref, rotate);
    if (rotated) {
      await appendAudit(
        tx,
        auditEntry(by, 'key.rotated', `key:${rotated.oldKey.prefix}`, {
          tenantId: rotated.oldKey.tenantId,
          oldKeyId: rotated.oldKey.id,
          newKeyId: rotated.newKey.id,
          newPrefix: rotated.newKey.prefix,
          oldExpiresAt: rotated.oldKey.expiresAt,
        }),
      );
    }
    return rotated;
  });
  if (result) await onKeyChanged?.(result.oldKey.prefix);
  return result;
}

/**
 * Records that keys were used at `at` in one UPDATE. The edge collects prefixes in memory and flushes them
 * every so often, instead of writing on every request; a timestamp never moves backwards.
 */
export async function touchLastUsed(
  db: Database,
  prefixes: string[],
  at: Date = new Date(),
): Promise<number> {
  const unique = [...new Set(prefixes)];
  if (unique.length === 0) return 0;
  const rows = await db
    .update(apiKeys)
    .set({ lastUsedAt: at })
    .where(and(inArray(apiKeys.prefix, unique), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, at))))
    .returning({ id: apiKeys.id });
  return rows.length;
}
