import { asc, eq, sql } from 'drizzle-orm';
import { AppError } from '../../shared/errors/index.ts';
import type { Database } from '../client/types.ts';
import { models } from '../schema/models.ts';
import { type AuditBy, appendAudit, auditEntry } from './audit.ts';

export interface ModelSettings {
  name: string;
  cacheable: boolean;
  cacheTtlSeconds: number;
  shareable: boolean;
  visibility: 'public' | 'private';
  ownerTenantId: string | null;
}

/** What a model without a row gets: cacheable for 300 s, cached per tenant, public. */
export const DEFAULT_MODEL_SETTINGS: Omit<ModelSettings, 'name'> = {
  cacheable: true,
  cacheTtlSeconds: 300,
  shareable: false,
  visibility: 'public',
  ownerTenantId: null,
};

// A day: longer TTLs would outlive most model redeploys and make stale answers likely.
export const MAX_CACHE_TTL_SECONDS = 86_400;

const columns = {
  name: models.name,
  cacheable: models.cacheable,
  cacheTtlSeconds: models.cacheTtlSeconds,
  shareable: models.shareable,
  visibility: models.visibility,
  ownerTenantId: models.ownerTenantId,
};

/** The model's settings row, or null: the caller applies DEFAULT_MODEL_SETTINGS. */
export async function findModelSettings(db: Database, name: string): Promise<ModelSettings | null> {
  const [row] = await db.select(columns).from(models).where(eq(models.name, name)).limit(1);
  return row ?? null;
}

export async function listModelSettings(db: Database): Promise<(ModelSettings & { updatedAt: string })[]> {
  const rows = await db
    .select({ ...columns, updatedAt: models.updatedAt })
    .from(models)
    .orderBy(asc(models.name));
  return rows.map((r) => ({ ...r, updatedAt: r.updatedAt.toISOString() }));
}

export type ModelSettingsPatch = Partial<Omit<ModelSettings, 'name'>>;

const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

function validateModelPatch(name: string, patch: ModelSettingsPatch): void {
  if (!MODEL_NAME.test(name)) {
    throw new AppError(
      'INVALID_REQUEST',
      `model name "${name}" must be 1-128 characters of A-Z, a-z, 0-9, ".", "_" or "-"`,
    );
  }
  const ttl = patch.cacheTtlSeconds;
  if (ttl !== undefined && (!Number.isInteger(ttl) || ttl < 0 || ttl > MAX_CACHE_TTL_SECONDS)) {
    throw new AppError(
      'INVALID_REQUEST',
      `cache TTL must be an integer from 0 to ${MAX_CACHE_TTL_SECONDS} seconds (got ${ttl})`,
    );
  }
  if (patch.visibility !== undefined && patch.visibility !== 'public' && patch.visibility !== 'private') {
    throw new AppError(
      'INVALID_REQUEST',
      `visibility must be "public" or "private" (got "${patch.visibility}")`,
    );
  }
}

/**
 * Creates or updates a model's settings; fields left out keep their current value (or the default for a
 * new row). Returns the settings before (null when the row is new) and after, for the audit log.
 */
export async function setModelSettings(
  db: Database,
  name: string,
  patch: ModelSettingsPatch,
): Promise<{ before: ModelSettings | null; after: ModelSettings }> {
  validateModelPatch(name, patch);
  return db.transaction(async (tx) => {
    const [before] = await tx.select(columns).from(models).where(eq(models.name, name)).for('update');
    const next = { ...DEFAULT_MODEL_SETTINGS, ...before, ...stripUndefined(patch), name };
    const [after] = await tx
      .insert(models)
      .values(next)
      .onConflictDoUpdate({
        target: models.name,
        set: {
          cacheable: next.cacheable,
          cacheTtlSeconds: next.cacheTtlSeconds,
          shareable: next.shareable,
          visibility: next.visibility,
          ownerTenantId: next.ownerTenantId,
          updatedAt: sql`now()`,
        },
      })
      .returning(columns);
    return { before: before ?? null, after: after! };
  });
}

/**
 * `setModelSettings` and its `model.updated` audit row (before and after) in one transaction: when the append
 * fails the settings stay as they were.
 */
export function setModelSettingsAudited(
  db: Database,
  name: string,
  patch: ModelSettingsPatch,
  by: AuditBy,
): Promise<{ before: ModelSettings | null; after: ModelSettings }> {
  return db.transaction(async (t) => {
    const tx = t as unknown as Database;
    const result = await setModelSettings(tx, name, patch);
    await appendAudit(
      tx,
      auditEntry(by, 'model.updated', `model:${name}`, { before: result.before, after: result.after }),
    );
    return result;
  });
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
