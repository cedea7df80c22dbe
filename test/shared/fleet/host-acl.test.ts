import { randomBytes } from 'node:crypto';
import { Redis } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstashBridge, type UpstashBridge } from '../../../scripts/dev/upstash-bridge.ts';
import { HOST_REGISTRY_ACL_RULES, hostAclSetUser } from '../../../shared/fleet/host-acl.ts';
import {
  deregisterOrigin,
  heartbeatOrigin,
  listLiveOrigins,
  registerOrigin,
} from '../../../shared/fleet/registry.ts';
import { drainKey } from '../../../shared/redis-keys.ts';
import { REDIS_URL, type RegistryFixture, sampleRecord, startRegistryFixture } from './registry-fixture.ts';

// A Redis 7 ACL user with exactly the host rules, and the heartbeat's own code going through the REST bridge
// authenticated as that user: what a GPU host holding HOST_REGISTRY_REST_TOKEN can and cannot do.
const USER = `aiserve-host-${randomBytes(4).toString('hex')}`;
const PASSWORD = randomBytes(16).toString('hex');
let fx: RegistryFixture;
let bridge: UpstashBridge;
let host: Redis;

beforeAll(async () => {
  fx = await startRegistryFixture();
  await fx.direct.call('ACL', 'SETUSER', USER, 'reset', 'on', `>${PASSWORD}`, ...HOST_REGISTRY_ACL_RULES);
  const url = new URL(REDIS_URL);
  url.username = USER;
  url.password = PASSWORD;
  bridge = await startUpstashBridge({ redisUrl: url.toString(), token: 'host', host: '127.0.0.1', port: 0 });
  host = new Redis({ url: bridge.url, token: 'host', retry: { retries: 0 } });
});

afterAll(async () => {
  await bridge?.close();
  await fx?.direct.call('ACL', 'DELUSER', USER);
  await fx?.close();
});

describe('host registry ACL', () => {
  it('lets a host register, heartbeat, read its drain marker and leave, seen by the edge', async () => {
    const id = fx.id('acl');
    const now = Date.now();
    await registerOrigin(host, sampleRecord(id, { heartbeatAt: now }), { ttlMs: 10_000, nowMs: now });
    await heartbeatOrigin(host, sampleRecord(id, { heartbeatAt: now + 1 }), {
      ttlMs: 10_000,
      nowMs: now + 1,
    });
    expect((await listLiveOrigins(fx.redis, Date.now())).some((o) => o.id === id)).toBe(true);
    await fx.direct.set(drainKey(id), JSON.stringify({ instanceId: 'i', requestedAt: now, deadlineAt: now }));
    expect(await host.get(drainKey(id))).toBeTruthy();
    await deregisterOrigin(host, id);
    expect((await listLiveOrigins(fx.redis, Date.now())).some((o) => o.id === id)).toBe(false);
    await fx.direct.del(drainKey(id));
  });

  it('refuses everything else: auth records, cached answers, usage events, rate limits, other commands', async () => {
    const refused: [string, () => Promise<unknown>][] = [
      ['write an auth record', () => host.set('aiserve:auth:abcdefghijkl', '{}')],
      ['read an auth record', () => host.get('aiserve:auth:abcdefghijkl')],
      ['write a cached answer', () => host.set('aiserve:cache:x', '{}')],
      ['append a usage event', () => host.xadd('aiserve:usage', '*', { e: '{}' })],
      ['run a script (the rate limiter)', () => host.eval('return 1', [], [])],
      ['list keys', () => host.keys('*')],
      ['flush', () => host.flushdb()],
    ];
    for (const [what, attempt] of refused) {
      await expect(attempt(), what).rejects.toThrow(/NOPERM/);
    }
  });

  it('prints one ACL SETUSER line with the rules for the Upstash console', () => {
    const line = hostAclSetUser('aiserve-host', 'TOKEN');
    expect(line).toBe(`ACL SETUSER aiserve-host on >TOKEN ${HOST_REGISTRY_ACL_RULES.join(' ')}`);
    expect(line).toContain('~aiserve:origin:*');
    expect(line).not.toMatch(/~\*|\+@all/);
  });
});
