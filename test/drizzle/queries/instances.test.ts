import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../../drizzle/client/client.ts';
import type { Database } from '../../../drizzle/client/types.ts';
import { migrateDatabase } from '../../../drizzle/migrate.ts';
import {
  insertRequested,
  listLiveInstances,
  listRecentInstances,
  markLaunched,
  markStatus,
  PENDING,
} from '../../../drizzle/queries/instances.ts';
import { loadDataConfig } from '../../../shared/config/data.ts';
import { type Backend, createEmptyPgDatabase, withMigratedDatabase } from '../../support/test-database.ts';

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0, 123);
const launched = { provider: 'runpod', providerInstanceId: 'pod-1', region: 'EU-RO-1', publicUrl: null };

describe.each<Backend>(['postgres', 'pglite'])(
  'gpu_instances queries on %s',
  { timeout: 120_000 },
  (backend) => {
    let db: Database;
    withMigratedDatabase(backend, (opened) => {
      db = opened;
    });

    it('writes a requested row with placeholders and epoch-millisecond times', async () => {
      const row = await insertRequested(db, { clientToken: 'tok-req', gpuType: 'A100-80GB', nowMs: T0 });
      expect(row).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        provider: PENDING,
        providerInstanceId: null,
        clientToken: 'tok-req',
        region: PENDING,
        gpuType: 'A100-80GB',
        status: 'requested',
        hourlyCostUsd: null,
        publicUrl: null,
        launchedAt: T0,
        readyAt: null,
        terminatedAt: null,
        failureReason: null,
      });
    });

    it('records the launch, the first ready and end times, and keeps a failure reason', async () => {
      const row = await insertRequested(db, { clientToken: 'tok-life', gpuType: 'A100-80GB', nowMs: T0 });
      await markLaunched(db, row.id, { ...launched, hourlyCostUsd: 1.64 });
      await markStatus(db, row.id, 'ready', T0 + 1_000);
      await markStatus(db, row.id, 'ready', T0 + 2_000);
      await markStatus(db, row.id, 'failed', T0 + 3_000, 'host failed at the provider');
      await markStatus(db, row.id, 'terminated', T0 + 4_000);
      const [stored] = (await listRecentInstances(db, 500)).filter((r) => r.id === row.id);
      expect(stored).toMatchObject({
        provider: 'runpod',
        providerInstanceId: 'pod-1',
        region: 'EU-RO-1',
        status: 'terminated',
        hourlyCostUsd: 1.64,
        readyAt: T0 + 1_000,
        terminatedAt: T0 + 3_000,
        failureReason: 'host failed at the provider',
      });
      expect((await listLiveInstances(db)).map((r) => r.id)).not.toContain(row.id);
    });

    it('lists live rows oldest first and recent rows newest first, ties by id', async () => {
      await db.execute(sql`DELETE FROM gpu_instances`);
      const made = [];
      for (const [i, at] of [T0, T0 + 10, T0 + 10, T0 + 20].entries()) {
        made.push(
          await insertRequested(db, { clientToken: `tok-order-${i}`, gpuType: 'A100-80GB', nowMs: at }),
        );
      }
      await markStatus(db, made[3]!.id, 'terminated', T0 + 30);
      const tie = [made[1]!.id, made[2]!.id].sort();
      expect((await listLiveInstances(db)).map((r) => r.id)).toEqual([made[0]!.id, ...tie]);
      expect((await listRecentInstances(db, 3)).map((r) => r.id)).toEqual([made[3]!.id, ...tie]);
    });
  },
);

describe('gpu_instances reads with a read replica (two real PostgreSQL databases)', () => {
  let handle: DatabaseHandle;
  let primaryDb: Awaited<ReturnType<typeof createEmptyPgDatabase>>;
  let replicaDb: Awaited<ReturnType<typeof createEmptyPgDatabase>>;

  beforeAll(async () => {
    primaryDb = await createEmptyPgDatabase();
    replicaDb = await createEmptyPgDatabase();
    handle = await createDatabase(
      loadDataConfig({
        DATABASE_URL: primaryDb.url,
        DATABASE_REPLICA_URLS: replicaDb.url,
        DATABASE_STICKY_MS: '0',
      }),
    );
    // The "replica" never receives the primary's writes, so a row read back proves which one answered.
    await migrateDatabase(handle.primary);
    await migrateDatabase(handle.replicas[0]!);
  }, 120_000);

  afterAll(async () => {
    await handle?.close();
    await primaryDb?.drop();
    await replicaDb?.drop();
  });

  it('reads from the primary, so the reconciler never misses a launch it just wrote', async () => {
    const row = await insertRequested(handle.db, {
      clientToken: 'tok-replica',
      gpuType: 'A100-80GB',
      nowMs: T0,
    });
    expect((await listLiveInstances(handle.db)).map((r) => r.id)).toEqual([row.id]);
    expect((await listRecentInstances(handle.session('cli'))).map((r) => r.id)).toEqual([row.id]);
  });
});
