import { eq, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { Database } from '../../../drizzle/client/types.ts';
import { type AuditBy, listAudit, verifyAuditChain } from '../../../drizzle/queries/audit.ts';
import {
  createKey,
  createKeyAudited,
  findKey,
  findKeyForAuth,
  listKeys,
  revokeKey,
  revokeKeyAudited,
  rotateKey,
  rotateKeyAudited,
  touchLastUsed,
} from '../../../drizzle/queries/keys.ts';
import { pgErrorCode } from '../../../drizzle/queries/pg-errors.ts';
import { createTenant } from '../../../drizzle/queries/tenants.ts';
import { apiKeys } from '../../../drizzle/schema/api-keys.ts';
import { AppError } from '../../../shared/errors/index.ts';
import { hashKeySecret, parseApiKey, timingSafeEqualHex } from '../../../shared/keys/api-key.ts';
import { breakAuditLog, repairAuditLog } from '../../support/audit-fault.ts';
import { type Backend, withMigratedDatabase } from '../../support/test-database.ts';

describe.each<Backend>(['postgres', 'pglite'])('key lifecycle on %s', { timeout: 120_000 }, (backend) => {
  let db: Database;
  let tenantId: string;
  withMigratedDatabase(backend, async (opened) => {
    db = opened;
    tenantId = (await createTenant(db, { name: 'acme', plan: 'pro' })).id;
  });

  it('stores only the hash: the created key authenticates by prefix and its secret hash matches', async () => {
    const created = await createKey(db, { tenantId, name: 'ci', scopes: ['ocr-cls'] });
    const parsed = parseApiKey(created.key)!;
    expect(parsed.prefix).toBe(created.record.prefix);
    const [stored] = await db.select().from(apiKeys).where(eq(apiKeys.id, created.record.id));
    expect(JSON.stringify(stored)).not.toContain(parsed.secret);

    const auth = await findKeyForAuth(db, parsed.prefix);
    expect(auth).not.toBeNull();
    expect(timingSafeEqualHex(auth!.secretHash, await hashKeySecret(parsed.secret))).toBe(true);
    expect(auth).toMatchObject({
      keyId: created.record.id,
      tenantId,
      scopes: ['ocr-cls'],
      expiresAt: null,
      revokedAt: null,
      tenant: {
        id: tenantId,
        name: 'acme',
        plan: 'pro',
        requestsPerMinute: 600,
        burst: 100,
        disabled: false,
      },
    });
    // The edge caches it as JSON: it must survive a round trip unchanged.
    expect(JSON.parse(JSON.stringify(auth))).toEqual(auth);
  });

  it('finds nothing for an unknown prefix', async () => {
    expect(await findKeyForAuth(db, 'zzzzzzzzzzzz')).toBeNull();
  });

  it('rejects bad scopes and past expiry with INVALID_REQUEST', async () => {
    await expect(createKey(db, { tenantId, scopes: ['bad scope'] })).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
    await expect(createKey(db, { tenantId, scopes: [] })).rejects.toBeInstanceOf(AppError);
    await expect(createKey(db, { tenantId, expiresAt: new Date(Date.now() - 1000) })).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
  });

  it('records expiry so the edge can refuse the key after it', async () => {
    const expiresAt = new Date(Date.now() + 3_600_000);
    const created = await createKey(db, { tenantId, expiresAt });
    const auth = await findKeyForAuth(db, created.record.prefix);
    expect(auth!.expiresAt).toBe(expiresAt.toISOString());
  });

  it('revokes a key, reports the prefix to onKeyChanged, and keeps the first revocation time', async () => {
    const created = await createKey(db, { tenantId });
    const changed: string[] = [];
    const first = await revokeKey(db, created.record.prefix, { onKeyChanged: (p) => void changed.push(p) });
    expect(first!.alreadyRevoked).toBe(false);
    expect(changed).toEqual([created.record.prefix]);
    const auth = await findKeyForAuth(db, created.record.prefix);
    expect(auth!.revokedAt).toBe(first!.key.revokedAt);

    const again = await revokeKey(db, created.key);
    expect(again!.alreadyRevoked).toBe(true);
    expect(again!.key.revokedAt).toBe(first!.key.revokedAt);
  });

  it('revokes by id too, and returns null for an unknown key', async () => {
    const created = await createKey(db, { tenantId });
    expect((await revokeKey(db, created.record.id))!.key.prefix).toBe(created.record.prefix);
    expect(await revokeKey(db, 'nosuchprefix')).toBeNull();
  });

  it('does not revoke another tenant’s key when scoped to a tenant', async () => {
    const other = await createTenant(db, { name: 'other-co' });
    const created = await createKey(db, { tenantId: other.id });
    expect(await revokeKey(db, created.record.prefix, { tenantId })).toBeNull();
    expect((await findKeyForAuth(db, created.record.prefix))!.revokedAt).toBeNull();
  });

  it('lists active keys newest first without secrets, and revoked ones only when asked', async () => {
    const t = await createTenant(db, { name: 'lister' });
    const a = await createKey(db, { tenantId: t.id, name: 'a' });
    const b = await createKey(db, { tenantId: t.id, name: 'b' });
    await revokeKey(db, a.record.id);
    const active = await listKeys(db, t.id);
    expect(active.map((k) => k.name)).toEqual(['b']);
    expect(Object.keys(active[0]!)).not.toContain('secretHash');
    const all = await listKeys(db, t.id, { includeRevoked: true });
    expect(all.map((k) => k.id).sort()).toEqual([a.record.id, b.record.id].sort());
  });

  it('rotates: a new key with the same scopes, the old one expiring after the overlap', async () => {
    const old = await createKey(db, { tenantId, name: 'svc', scopes: ['ocr-det', 'ocr-cls'] });
    const changed: string[] = [];
    const before = Date.now();
    const rotated = await rotateKey(db, old.record.prefix, {
      overlapSeconds: 3600,
      onKeyChanged: (p) => void changed.push(p),
    });
    expect(rotated).not.toBeNull();
    expect(parseApiKey(rotated!.key)!.prefix).toBe(rotated!.newKey.prefix);
    expect(rotated!.newKey).toMatchObject({
      name: 'svc',
      scopes: ['ocr-det', 'ocr-cls'],
      rotatedFromId: old.record.id,
    });
    expect(changed).toEqual([old.record.prefix]);

    const oldAuth = await findKeyForAuth(db, old.record.prefix);
    const oldExpiry = Date.parse(oldAuth!.expiresAt!);
    // Within the overlap window the old key still works; it stops about an hour from now.
    expect(oldExpiry).toBeGreaterThan(before + 3_500_000);
    expect(oldExpiry).toBeLessThan(Date.now() + 3_700_000);
    expect(oldAuth!.revokedAt).toBeNull();
    const newAuth = await findKeyForAuth(db, rotated!.newKey.prefix);
    expect(newAuth!.expiresAt).toBeNull();
    expect(
      timingSafeEqualHex(newAuth!.secretHash, await hashKeySecret(parseApiKey(rotated!.key)!.secret)),
    ).toBe(true);
  });

  it('rotates with no overlap: the old key expires at once', async () => {
    const old = await createKey(db, { tenantId });
    await rotateKey(db, old.record.id, { overlapSeconds: 0 });
    const oldAuth = await findKeyForAuth(db, old.record.prefix);
    expect(Date.parse(oldAuth!.expiresAt!)).toBeLessThanOrEqual(Date.now() + 1000);
  });

  it('never extends an existing expiry when rotating', async () => {
    const soon = new Date(Date.now() + 60_000);
    const old = await createKey(db, { tenantId, expiresAt: soon });
    const rotated = await rotateKey(db, old.record.prefix, { overlapSeconds: 86_400 });
    expect(rotated!.oldKey.expiresAt).toBe(soon.toISOString());
    expect(rotated!.newKey.expiresAt).toBe(soon.toISOString());
  });

  it('rotates a key once: again, or concurrently, is CONFLICT naming its successor', async () => {
    const old = await createKey(db, { tenantId });
    const attempts = await Promise.allSettled(
      Array.from({ length: 4 }, () => rotateKey(db, old.record.prefix, { overlapSeconds: 600 })),
    );
    const made = attempts.filter((a) => a.status === 'fulfilled');
    expect(made).toHaveLength(1);
    const successor = (made[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof rotateKey>>>).value!
      .newKey;
    for (const a of attempts.filter((x) => x.status === 'rejected')) {
      expect((a as PromiseRejectedResult).reason).toMatchObject({
        code: 'CONFLICT',
        message: expect.stringContaining(successor.prefix),
      });
    }
    const successors = await db.select().from(apiKeys).where(eq(apiKeys.rotatedFromId, old.record.id));
    expect(successors).toHaveLength(1);
    // The successor itself can be rotated in turn.
    expect(await rotateKey(db, successor.prefix, { overlapSeconds: 0 })).not.toBeNull();
  });

  it('refuses to rotate a revoked or expired key (CONFLICT) and returns null for an unknown one', async () => {
    const revoked = await createKey(db, { tenantId });
    await revokeKey(db, revoked.record.id);
    await expect(rotateKey(db, revoked.record.prefix, { overlapSeconds: 60 })).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    const expired = await createKey(db, { tenantId });
    await db
      .update(apiKeys)
      .set({ expiresAt: sql`now() - interval '1 minute'` })
      .where(eq(apiKeys.id, expired.record.id));
    await expect(rotateKey(db, expired.record.prefix, { overlapSeconds: 60 })).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    expect(await rotateKey(db, 'nosuchprefix', { overlapSeconds: 60 })).toBeNull();
    await expect(rotateKey(db, expired.record.prefix, { overlapSeconds: -1 })).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
  });

  it('touches last_used_at for many keys in one call and never moves it backwards', async () => {
    const a = await createKey(db, { tenantId });
    const b = await createKey(db, { tenantId });
    const t1 = new Date('2030-01-01T00:00:00Z');
    expect(await touchLastUsed(db, [a.record.prefix, b.record.prefix, a.record.prefix], t1)).toBe(2);
    expect((await findKey(db, a.record.id))!.lastUsedAt).toBe(t1.toISOString());
    const earlier = new Date('2029-01-01T00:00:00Z');
    expect(await touchLastUsed(db, [a.record.prefix], earlier)).toBe(0);
    expect((await findKey(db, a.record.prefix))!.lastUsedAt).toBe(t1.toISOString());
    expect(await touchLastUsed(db, [])).toBe(0);
  });

  describe('audited writes: the change and its audit row commit together', () => {
    const by: AuditBy = {
      actor: 'key:adminprefix1',
      request: { id: 'req-0123456789', ip: '203.0.113.5', userAgent: 'curl/8' },
    };

    /** Runs `fn` with every audit append failing, and expects it to fail with the database's disk_full. */
    async function withAuditFailing(fn: () => Promise<unknown>): Promise<void> {
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

    const keysOf = async (id: string) => db.select().from(apiKeys).where(eq(apiKeys.tenantId, id));

    it('creates a key with one key.created row naming who and from where', async () => {
      const t = await createTenant(db, { name: 'audited-create' });
      const created = await createKeyAudited(db, { tenantId: t.id, scopes: ['m'] }, by);
      const rows = await listAudit(db, { target: `key:${created.record.prefix}` });
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        actor: 'key:adminprefix1',
        action: 'key.created',
        details: { tenantId: t.id, keyId: created.record.id, scopes: ['m'], request: by.request },
      });
      // Without a request (the CLI), details carry none.
      const cli = await createKeyAudited(db, { tenantId: t.id }, { actor: 'cli:ops' });
      const [row] = await listAudit(db, { target: `key:${cli.record.prefix}` });
      expect(row!.details).not.toHaveProperty('request');
    });

    it('leaves no key behind when the audit append fails', async () => {
      const t = await createTenant(db, { name: 'audited-create-fail' });
      await withAuditFailing(() => createKeyAudited(db, { tenantId: t.id }, by));
      expect(await keysOf(t.id)).toHaveLength(0);
    });

    it('revokes with one key.revoked row, reporting the change after the commit, and none when already revoked', async () => {
      const t = await createTenant(db, { name: 'audited-revoke' });
      const k = await createKey(db, { tenantId: t.id });
      const changed: (string | null)[] = [];
      const onKeyChanged = async (p: string) => {
        // Runs after the commit: a fresh read (another connection on Postgres) already sees the revocation.
        changed.push((await findKeyForAuth(db, p))?.revokedAt ?? null);
      };
      await withAuditFailing(() => revokeKeyAudited(db, k.record.prefix, { onKeyChanged }, by));
      expect(changed).toEqual([]);
      expect((await findKey(db, k.record.id))!.revokedAt).toBeNull();
      const revoked = await revokeKeyAudited(db, k.record.prefix, { onKeyChanged, tenantId: t.id }, by);
      expect(revoked!.alreadyRevoked).toBe(false);
      expect(changed).toEqual([revoked!.key.revokedAt]);
      expect(await revokeKeyAudited(db, k.record.prefix, {}, by)).toMatchObject({ alreadyRevoked: true });
      const rows = await listAudit(db, { target: `key:${k.record.prefix}`, action: 'key.revoked' });
      expect(rows).toHaveLength(1);
      expect(rows[0]!.details).toMatchObject({ tenantId: t.id, keyId: k.record.id, request: by.request });
    });

    it('rotates with one key.rotated row; a failed append leaves no successor and the old expiry', async () => {
      const t = await createTenant(db, { name: 'audited-rotate' });
      const k = await createKey(db, { tenantId: t.id });
      const changed: string[] = [];
      const onKeyChanged = (p: string) => void changed.push(p);
      await withAuditFailing(() =>
        rotateKeyAudited(db, k.record.id, { overlapSeconds: 0, onKeyChanged }, by),
      );
      expect(changed).toEqual([]);
      expect(await keysOf(t.id)).toHaveLength(1);
      expect((await findKey(db, k.record.id))!.expiresAt).toBeNull();
      const rotated = await rotateKeyAudited(db, k.record.id, { overlapSeconds: 60, onKeyChanged }, by);
      expect(changed).toEqual([k.record.prefix]);
      const rows = await listAudit(db, { target: `key:${k.record.prefix}`, action: 'key.rotated' });
      expect(rows).toHaveLength(1);
      expect(rows[0]!.details).toMatchObject({
        oldKeyId: k.record.id,
        newKeyId: rotated!.newKey.id,
        newPrefix: rotated!.newKey.prefix,
        oldExpiresAt: rotated!.oldKey.expiresAt,
        request: by.request,
      });
    });

    it('never deadlocks: concurrent rotations, revocations and creations on one key all end, one row per change', async () => {
      const t = await createTenant(db, { name: 'audited-race' });
      const k = await createKey(db, { tenantId: t.id });
      const attempts = await Promise.allSettled([
        rotateKeyAudited(db, k.record.prefix, { overlapSeconds: 60 }, by),
        revokeKeyAudited(db, k.record.prefix, {}, by),
        rotateKeyAudited(db, k.record.prefix, { overlapSeconds: 60 }, by),
        createKeyAudited(db, { tenantId: t.id }, by),
        revokeKeyAudited(db, k.record.prefix, {}, by),
        rotateKeyAudited(db, k.record.prefix, { overlapSeconds: 60 }, by),
      ]);
      for (const a of attempts) {
        // A refusal is a rotation that lost (CONFLICT: already rotated or revoked), never a deadlock (40P01).
        if (a.status === 'rejected') expect(a.reason).toMatchObject({ code: 'CONFLICT' });
      }
      const rotations = attempts.filter((a, i) => [0, 2, 5].includes(i) && a.status === 'fulfilled');
      const audited = await listAudit(db, { target: `key:${k.record.prefix}` });
      expect(audited.filter((r) => r.action === 'key.rotated')).toHaveLength(rotations.length);
      expect(audited.filter((r) => r.action === 'key.revoked')).toHaveLength(1);
      expect(await verifyAuditChain(db)).toMatchObject({ ok: true });
    });
  });
});
