import { describe, expect, it } from 'vitest';
import type { LastKnownStore } from '../../../workers/adapters/platform.ts';
import { FleetSnapshots, fleetSnapshotKey } from '../../../workers/routing/fleet-snapshot.ts';
import { origin } from './fleet-fixtures.ts';

function memoryStore() {
  const entries = new Map<string, { value: string; ttlSeconds: number }>();
  const store: LastKnownStore & { puts: number } = {
    puts: 0,
    async get(key) {
      return entries.get(key)?.value ?? null;
    },
    async put(key, value, ttlSeconds) {
      store.puts++;
      entries.set(key, { value, ttlSeconds });
    },
  };
  return { store, entries };
}

const options = (store: LastKnownStore) => ({ store, key: 'fleet-k', writeEveryMs: 30_000, ttlSeconds: 600 });

describe('FleetSnapshots', () => {
  it('writes on the first read, then at most once per interval while the membership is unchanged', async () => {
    const { store, entries } = memoryStore();
    const snapshots = new FleetSnapshots(options(store));
    const fleet = [origin('a'), origin('b')];
    expect(await snapshots.offer({ origins: fleet, readAt: 1_000 })).toBe(true);
    const busier = fleet.map((o) => ({ ...o, load: { ...o.load, inflight: 7 } }));
    expect(await snapshots.offer({ origins: busier, readAt: 20_000 })).toBe(false);
    expect(await snapshots.offer({ origins: busier, readAt: 31_000 })).toBe(true);
    expect(store.puts).toBe(2);
    expect(entries.get('fleet-k')!.ttlSeconds).toBe(600);
    expect(await snapshots.read()).toEqual({ readAt: 31_000, origins: busier });
  });

  it('writes a change of membership at once (an origin joined, left or started draining), never an empty fleet', async () => {
    const { store } = memoryStore();
    const snapshots = new FleetSnapshots(options(store));
    await snapshots.offer({ origins: [origin('a')], readAt: 1_000 });
    expect(await snapshots.offer({ origins: [origin('a'), origin('c')], readAt: 2_000 })).toBe(true);
    expect(await snapshots.offer({ origins: [origin('c')], readAt: 3_000 })).toBe(true);
    expect(await snapshots.offer({ origins: [origin('c', { status: 'draining' })], readAt: 4_000 })).toBe(
      true,
    );
    expect(await snapshots.offer({ origins: [], readAt: 5_000 })).toBe(false);
    expect((await snapshots.read())!.origins.map((o) => [o.id, o.status])).toEqual([['c', 'draining']]);
  });

  it('reads a malformed or foreign entry as none', async () => {
    const { store } = memoryStore();
    const snapshots = new FleetSnapshots(options(store));
    expect(await snapshots.read()).toBeNull();
    await store.put('fleet-k', 'not json', 60);
    expect(await snapshots.read()).toBeNull();
    await store.put('fleet-k', JSON.stringify({ readAt: 1, origins: [{ id: 'a' }] }), 60);
    expect(await snapshots.read()).toBeNull();
  });

  it('a failed write is tried again when the next one is due, not on every read', async () => {
    let fail = true;
    let attempts = 0;
    const store: LastKnownStore = {
      get: async () => null,
      put: async () => {
        attempts++;
        if (fail) throw new Error('disk full');
      },
    };
    const snapshots = new FleetSnapshots(options(store));
    await expect(snapshots.offer({ origins: [origin('a')], readAt: 0 })).rejects.toThrow('disk full');
    expect(await snapshots.offer({ origins: [origin('a')], readAt: 1_500 })).toBe(false);
    fail = false;
    expect(await snapshots.offer({ origins: [origin('a')], readAt: 30_000 })).toBe(true);
    expect(attempts).toBe(2);
  });

  it('keys each registry apart, without spelling out its URL', () => {
    const a = fleetSnapshotKey('https://eu1.upstash.io');
    expect(a).toMatch(/^fleet-[0-9a-f]{24}$/);
    expect(fleetSnapshotKey('https://eu1.upstash.io')).toBe(a);
    expect(fleetSnapshotKey('https://us1.upstash.io')).not.toBe(a);
  });
});
