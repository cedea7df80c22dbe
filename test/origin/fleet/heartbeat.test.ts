import { createServer, type Server, type Socket } from 'node:net';
import { Redis } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHeartbeat, type HeartbeatLogger } from '../../../origin/fleet/heartbeat.ts';
import type { LoadSnapshot } from '../../../origin/fleet/load-sampler.ts';
import type { OriginRecord } from '../../../shared/fleet/origin-record.ts';
import { listLiveOrigins, type RegistryRedis } from '../../../shared/fleet/registry.ts';
import { ORIGINS_INDEX_KEY, originKey } from '../../../shared/redis-keys.ts';
import { type RegistryFixture, startRegistryFixture } from '../../shared/fleet/registry-fixture.ts';
import { FakeClock, flushPromises } from '../../support/fake-clock.ts';

let fx: RegistryFixture;
let silent: Server;
let silentUrl: string;
const sockets = new Set<Socket>();
beforeAll(async () => {
  fx = await startRegistryFixture();
  // Accepts connections and never answers: a Redis REST endpoint that hangs.
  silent = createServer((socket) => sockets.add(socket));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const addr = silent.address();
  silentUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});
afterAll(async () => {
  await fx?.close();
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((r) => silent?.close(() => r()));
});

function captureLogger() {
  const lines: { level: 'info' | 'warn'; msg: string; obj: object }[] = [];
  const logger: HeartbeatLogger = {
    info: (obj, msg) => lines.push({ level: 'info', msg, obj }),
    warn: (obj, msg) => lines.push({ level: 'warn', msg, obj }),
  };
  return { logger, lines };
}

function snapshot(inflight: number): LoadSnapshot {
  return {
    models: [{ name: 'ocr-cls', versions: ['1'] }],
    capacity: { maxInflight: 8 },
    load: { inflight, queueDepth: { 'ocr-cls': inflight * 2 }, p50LatencyMs: 5, gpuUtilization: null },
  };
}

/** A registry client that can be switched between a dead endpoint and the real one. */
function switchable(dead: RegistryRedis) {
  let live = false;
  const redis: RegistryRedis = {
    multi: () => (live ? fx.redis : dead).multi(),
    pipeline: () => (live ? fx.redis : dead).pipeline(),
    mget: ((...keys: string[]) => (live ? fx.redis : dead).mget(...keys)) as RegistryRedis['mget'],
  };
  return { redis, setLive: (v: boolean) => (live = v) };
}

/** Lets real I/O finish: bounded polling of a condition. */
async function eventually<T>(probe: () => Promise<T | undefined>, polls = 100): Promise<T | undefined> {
  for (let i = 0; i < polls; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
  return undefined;
}

const listed = async (id: string) => (await listLiveOrigins(fx.redis, Date.now())).find((o) => o.id === id);

function setup(
  label: string,
  redis: RegistryRedis = fx.redis,
  drainWatch?: { get(key: string): Promise<unknown>; onRequested(): void },
) {
  const clock = new FakeClock(0, Date.now());
  let inflight = 1;
  const { logger, lines } = captureLogger();
  const id = fx.id(label);
  const heartbeat = createHeartbeat({
    redis,
    identity: { id, url: 'http://127.0.0.1:9100', region: 'test-1', instanceId: 'inst-1' },
    sampler: { sample: async () => snapshot(inflight) },
    clock,
    logger,
    intervalMs: 5_000,
    ttlMs: 15_000,
    retryMs: 1_000,
    drainWriteTimeoutMs: 2_000,
    drainWatch,
  });
  return { clock, heartbeat, id, lines, setInflight: (n: number) => (inflight = n) };
}

describe('origin heartbeat', () => {
  it('registers on start with identity, load and status ready, and schedules the next beat one interval later', async () => {
    const { clock, heartbeat, id } = setup('start');
    expect(await heartbeat.start()).toBe(true);
    const rec = await listed(id);
    expect(rec).toMatchObject({
      id,
      url: 'http://127.0.0.1:9100',
      region: 'test-1',
      instanceId: 'inst-1',
      status: 'ready',
      heartbeatAt: Math.round(clock.wallNow()),
      ...snapshot(1),
    });
    expect(clock.nextTimerAt()).toBe(5_000);
    await heartbeat.drain();
  });

  it('each interval rewrites the record with fresh load and a later heartbeatAt', async () => {
    const { clock, heartbeat, id, setInflight } = setup('beat');
    await heartbeat.start();
    const first = (await listed(id))!;
    setInflight(6);
    clock.advance(5_000);
    const second = await eventually(async () => {
      const rec = await listed(id);
      return rec && rec.load.inflight === 6 ? rec : undefined;
    });
    expect(second?.heartbeatAt).toBe(first.heartbeatAt + 5_000);
    expect(second?.load.queueDepth).toEqual({ 'ocr-cls': 12 });
    expect(second?.startedAt).toBe(first.startedAt);
    await heartbeat.drain();
  });

  it('a drain marker from the control plane turns the next beat into status draining and asks the origin to drain once', async () => {
    const markers = new Map<string, unknown>();
    let requested = 0;
    const { clock, heartbeat, id, lines } = setup('drain-marker', fx.redis, {
      get: async (key) => markers.get(key) ?? null,
      onRequested: () => {
        requested++;
      },
    });
    await heartbeat.start();
    expect((await listed(id))?.status).toBe('ready');
    expect(requested).toBe(0);
    markers.set(`aiserve:drain:${id}`, { instanceId: 'inst-1', requestedAt: 1, deadlineAt: 2 });
    clock.advance(5_000);
    const draining = await eventually(async () => {
      const rec = await listed(id);
      return rec?.status === 'draining' ? rec : undefined;
    });
    expect(draining?.status).toBe('draining');
    expect(requested).toBe(1);
    expect(lines.some((l) => l.msg === 'drain requested by the control plane')).toBe(true);
    // Later beats keep the mark (never back to ready) and do not ask again.
    clock.advance(5_000);
    await flushPromises();
    expect(await eventually(async () => ((await listed(id))?.status === 'draining' ? true : undefined))).toBe(
      true,
    );
    expect(requested).toBe(1);
    await heartbeat.drain();
  });

  it('a failed write is logged and retried after retryMs, never thrown, and the origin joins once Redis answers', async () => {
    const dead = new Redis({ url: 'http://127.0.0.1:1', token: 'x', retry: { retries: 0 } });
    const sw = switchable(dead);
    const { clock, heartbeat, id, lines } = setup('retry', sw.redis);
    expect(await heartbeat.start()).toBe(false);
    expect(heartbeat.failures).toBe(1);
    expect(lines.some((l) => l.level === 'warn' && /heartbeat failed/.test(l.msg))).toBe(true);
    expect(clock.nextTimerAt()).toBe(1_000);
    sw.setLive(true);
    clock.advance(1_000);
    expect(await eventually(() => listed(id))).toBeDefined();
    expect(heartbeat.failures).toBe(0);
    expect(lines.some((l) => /reachable again/.test(l.msg))).toBe(true);
    await heartbeat.drain();
  });

  it('drain writes status draining, then removes the record and its index entry', async () => {
    const writes: OriginRecord[] = [];
    const recording: RegistryRedis = {
      multi: () => {
        const m = fx.redis.multi();
        const set = m.set.bind(m);
        (m as unknown as { set: typeof set }).set = ((key: string, value: string, opts: never) => {
          writes.push(JSON.parse(value) as OriginRecord);
          return set(key, value, opts);
        }) as typeof set;
        return m;
      },
      pipeline: () => fx.redis.pipeline(),
      mget: fx.redis.mget.bind(fx.redis) as RegistryRedis['mget'],
    };
    const { heartbeat, id, clock } = setup('drain', recording);
    await heartbeat.start();
    await heartbeat.drain();
    expect(writes.map((w) => w.status)).toEqual(['ready', 'draining']);
    expect(await listed(id)).toBeUndefined();
    expect(await fx.direct.exists(originKey(id))).toBe(0);
    expect(await fx.direct.zscore(ORIGINS_INDEX_KEY, id)).toBeNull();
    expect(clock.pendingTimers).toBe(0);
  });

  it('drain finishes even when the registry hangs: each write is bounded by drainWriteTimeoutMs', async () => {
    const hanging = new Redis({ url: silentUrl, token: 'x', retry: { retries: 0 } });
    const { clock, heartbeat, lines } = setup('hang', hanging);
    let firstBeat: boolean | undefined;
    const started = heartbeat.start().then((ok) => {
      firstBeat = ok;
    });
    let drained = false;
    const draining = heartbeat.drain().then(() => {
      drained = true;
    });
    // Every wait is on the fake clock; advance it until both settle (bounded).
    for (let i = 0; i < 50 && !(drained && firstBeat !== undefined); i++) {
      clock.advance(2_000);
      await flushPromises();
    }
    await Promise.all([draining, started]);
    expect(drained).toBe(true);
    expect(firstBeat).toBe(false);
    const drainFailures = lines.filter((l) => /failed during drain/.test(l.msg)).map((l) => l.msg);
    expect(drainFailures).toEqual([
      'fleet registry heartbeat failed during drain',
      'fleet registry draining mark failed during drain',
      'fleet registry deregistration failed during drain',
    ]);
  });

  it('stop() cancels the schedule without deregistering (the record then expires by itself)', async () => {
    const { clock, heartbeat, id } = setup('stop');
    await heartbeat.start();
    heartbeat.stop();
    expect(clock.pendingTimers).toBe(0);
    expect(await listed(id)).toBeDefined();
    expect(await fx.direct.pttl(originKey(id))).toBeLessThanOrEqual(15_000);
    await fx.redis.multi().del(originKey(id)).zrem(ORIGINS_INDEX_KEY, id).exec();
  });

  it('refuses a TTL that does not exceed the interval', () => {
    expect(() =>
      createHeartbeat({
        redis: fx.redis,
        identity: { id: 'x', url: 'http://127.0.0.1:1', region: 'r', instanceId: null },
        sampler: { sample: async () => snapshot(0) },
        clock: new FakeClock(),
        logger: captureLogger().logger,
        intervalMs: 5_000,
        ttlMs: 5_000,
      }),
    ).toThrow(/must exceed/);
  });
});
