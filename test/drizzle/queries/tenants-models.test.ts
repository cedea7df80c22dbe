import { describe, expect, it } from 'vitest';
import type { Database } from '../../../drizzle/client/types.ts';
import { type AuditBy, listAudit, verifyAuditChain } from '../../../drizzle/queries/audit.ts';
import {
  DEFAULT_MODEL_SETTINGS,
  findModelSettings,
  listModelSettings,
  setModelSettings,
  setModelSettingsAudited,
} from '../../../drizzle/queries/models.ts';
import { pgErrorCode } from '../../../drizzle/queries/pg-errors.ts';
import {
  createTenant,
  createTenantAudited,
  ensureTenant,
  findTenantByName,
  listTenants,
  requireTenant,
} from '../../../drizzle/queries/tenants.ts';
import { breakAuditLog, repairAuditLog } from '../../support/audit-fault.ts';
import { type Backend, withMigratedDatabase } from '../../support/test-database.ts';

describe.each<Backend>(['postgres', 'pglite'])(
  'tenants and model settings on %s',
  { timeout: 120_000 },
  (backend) => {
    let db: Database;
    withMigratedDatabase(backend, (opened) => {
      db = opened;
    });

    it('creates a tenant with its plan’s limits unless overridden', async () => {
      const free = await createTenant(db, { name: 'free-co' });
      expect(free).toMatchObject({ plan: 'free', requestsPerMinute: 60, burst: 10, disabled: false });
      const custom = await createTenant(db, { name: 'big-co', plan: 'enterprise', burst: 5 });
      expect(custom).toMatchObject({ plan: 'enterprise', requestsPerMinute: 6000, burst: 5 });
    });

    it('refuses a duplicate name with CONFLICT naming the tenant', async () => {
      await createTenant(db, { name: 'dup' });
      await expect(createTenant(db, { name: 'dup' })).rejects.toMatchObject({
        code: 'CONFLICT',
        message: 'tenant "dup" already exists',
      });
    });

    it('refuses an invalid name with INVALID_REQUEST', async () => {
      await expect(createTenant(db, { name: 'Has Spaces' })).rejects.toMatchObject({
        code: 'INVALID_REQUEST',
      });
    });

    it('refuses a name that looks like a tenant id, which the admin API would read as an id', async () => {
      await expect(createTenant(db, { name: '00000000-0000-0000-0000-000000000000' })).rejects.toMatchObject({
        code: 'INVALID_REQUEST',
        message: expect.stringContaining('looks like a tenant id'),
      });
      expect((await createTenant(db, { name: '0000-not-a-uuid' })).name).toBe('0000-not-a-uuid');
    });

    it('ensures a tenant idempotently', async () => {
      const first = await ensureTenant(db, { name: 'seeded' });
      const second = await ensureTenant(db, { name: 'seeded' });
      expect(first.created).toBe(true);
      expect(second.created).toBe(false);
      expect(second.tenant.id).toBe(first.tenant.id);
    });

    it('lists tenants by name and resolves names, NOT_FOUND for unknown ones', async () => {
      const names = (await listTenants(db)).map((t) => t.name);
      expect(names).toEqual([...names].sort());
      expect((await findTenantByName(db, 'dup'))?.name).toBe('dup');
      await expect(requireTenant(db, 'nobody')).rejects.toMatchObject({
        code: 'NOT_FOUND',
        message: 'unknown tenant "nobody"',
      });
    });

    it('has no settings for an unconfigured model (the caller uses the defaults)', async () => {
      expect(await findModelSettings(db, 'ocr-cls')).toBeNull();
      expect(DEFAULT_MODEL_SETTINGS).toMatchObject({
        cacheable: true,
        cacheTtlSeconds: 300,
        shareable: false,
      });
    });

    it('sets model settings field by field, keeping the others, and reports before and after', async () => {
      const first = await setModelSettings(db, 'ocr-cls', { cacheTtlSeconds: 60 });
      expect(first.before).toBeNull();
      expect(first.after).toEqual({ ...DEFAULT_MODEL_SETTINGS, name: 'ocr-cls', cacheTtlSeconds: 60 });
      const second = await setModelSettings(db, 'ocr-cls', { shareable: true });
      expect(second.before).toEqual(first.after);
      expect(second.after).toMatchObject({ cacheTtlSeconds: 60, shareable: true, cacheable: true });
      expect(await findModelSettings(db, 'ocr-cls')).toEqual(second.after);
      await setModelSettings(db, 'ocr-det', { cacheable: false, visibility: 'private' });
      expect((await listModelSettings(db)).map((m) => [m.name, m.cacheable])).toEqual([
        ['ocr-cls', true],
        ['ocr-det', false],
      ]);
    });

    it('rejects a negative, fractional or too-long TTL and a bad visibility', async () => {
      for (const ttl of [-1, 1.5, 86_401]) {
        await expect(setModelSettings(db, 'm', { cacheTtlSeconds: ttl })).rejects.toMatchObject({
          code: 'INVALID_REQUEST',
        });
      }
      await expect(
        setModelSettings(db, 'm', { visibility: 'secret' as unknown as 'public' }),
      ).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
      expect(await findModelSettings(db, 'm')).toBeNull();
    });

    describe('audited writes: the change and its audit row commit together', () => {
      const by: AuditBy = {
        actor: 'operator',
        request: { id: 'req-tm-000001', ip: '192.0.2.9', userAgent: null },
      };

      async function failsWithAuditBroken(fn: () => Promise<unknown>): Promise<void> {
        await breakAuditLog(db);
        try {
          const err = await fn().then(
            () => null,
            (e: unknown) => e,
          );
          expect(pgErrorCode(err)).toBe('53100');
        } finally {
          await repairAuditLog(db);
        }
        expect(await verifyAuditChain(db)).toMatchObject({ ok: true });
      }

      it('creates a tenant with one tenant.created row, and none (nor the tenant) when the append fails', async () => {
        const t = await createTenantAudited(db, { name: 'audited-tenant', plan: 'pro' }, by);
        const rows = await listAudit(db, { target: `tenant:${t.id}` });
        expect(rows).toHaveLength(1);
        expect(rows[0]).toMatchObject({
          actor: 'operator',
          action: 'tenant.created',
          details: {
            name: 'audited-tenant',
            plan: 'pro',
            requestsPerMinute: 600,
            burst: 100,
            request: by.request,
          },
        });
        await failsWithAuditBroken(() => createTenantAudited(db, { name: 'never-tenant' }, by));
        expect(await findTenantByName(db, 'never-tenant')).toBeNull();
        // A refused name is the caller's error, and writes no row either.
        await expect(createTenantAudited(db, { name: 'audited-tenant' }, by)).rejects.toMatchObject({
          code: 'CONFLICT',
        });
        expect(await listAudit(db, { action: 'tenant.created' })).toHaveLength(1);
      });

      it('sets model settings with one model.updated row (before and after), unchanged when the append fails', async () => {
        const first = await setModelSettingsAudited(db, 'audited-model', { cacheTtlSeconds: 30 }, by);
        await failsWithAuditBroken(() =>
          setModelSettingsAudited(db, 'audited-model', { cacheable: false }, by),
        );
        expect(await findModelSettings(db, 'audited-model')).toEqual(first.after);
        await failsWithAuditBroken(() =>
          setModelSettingsAudited(db, 'never-model', { cacheable: false }, by),
        );
        expect(await findModelSettings(db, 'never-model')).toBeNull();
        const rows = await listAudit(db, { target: 'model:audited-model' });
        expect(rows).toHaveLength(1);
        expect(rows[0]!.details).toEqual({ before: null, after: first.after, request: by.request });
      });
    });
  },
);
