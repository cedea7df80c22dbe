import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Redis } from '@upstash/redis';
import { Redis as IORedis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstashBridge, type UpstashBridge } from '../../../scripts/dev/upstash-bridge.ts';
import { deleteKeysWithPrefix } from '../../support/redis-cleanup.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `aiserve:test:bridge:${randomUUID()}:`;
const k = (name: string) => `${prefix}${name}`;

let bridge: UpstashBridge;
let redis: Redis;

const client = (opts: { autoPipeline?: boolean } = {}) =>
  new Redis({
    url: bridge.url,
    token: bridge.token,
    enableTelemetry: false,
    enableAutoPipelining: opts.autoPipeline ?? false,
    retry: false,
  });

async function raw(path: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${bridge.url}${path}`, {
    method: 'POST',
    ...init,
    headers: { authorization: `Bearer ${bridge.token}`, ...(init.headers as Record<string, string>) },
  });
  return { status: res.status, body: await res.json() };
}

/** Bounded poll until Redis reports a client blocked on `list` (so the LPUSH below really comes second). */
async function waitForBlockedClient(): Promise<void> {
  const admin = new IORedis(REDIS_URL);
  try {
    for (let i = 0; i < 200; i++) {
      const clients = String(await admin.client('LIST'));
      if (clients.includes('cmd=blpop')) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error('BLPOP never reached Redis');
  } finally {
    admin.disconnect();
  }
}

beforeAll(async () => {
  bridge = await startUpstashBridge({ redisUrl: REDIS_URL, token: randomBytes(16).toString('hex') });
  redis = client();
});

afterAll(async () => {
  await bridge?.close();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

describe('Upstash bridge with the real @upstash/redis client', () => {
  it('round-trips strings, including non-ASCII text, through the base64 response encoding', async () => {
    expect(await redis.set(k('s'), 'héllo ✓ 世界')).toBe('OK');
    expect(await redis.get(k('s'))).toBe('héllo ✓ 世界');
    // A value that looks like JSON comes back parsed, as against hosted Upstash.
    await redis.set(k('json'), { a: 1, b: ['x'] });
    expect(await redis.get(k('json'))).toEqual({ a: 1, b: ['x'] });
    expect(await redis.incrby(k('n'), 5)).toBe(5);
    expect(await redis.incr(k('n'))).toBe(6);
    expect(await redis.get(k('missing'))).toBeNull();
    expect(await redis.set(k('nx'), 'v', { nx: true, px: 60_000 })).toBe('OK');
    expect(await redis.set(k('nx'), 'w', { nx: true })).toBeNull();
    const ttl = await redis.pttl(k('nx'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('returns hashes in the shape the client expects (HGETALL as a flat array it turns into an object)', async () => {
    expect(await redis.hset(k('h'), { plan: 'pro', rpm: 600 })).toBe(2);
    expect(await redis.hget(k('h'), 'plan')).toBe('pro');
    expect(await redis.hgetall(k('h'))).toEqual({ plan: 'pro', rpm: 600 });
    expect(await redis.hincrby(k('h'), 'rpm', 1)).toBe(601);
    expect(await redis.hgetall(k('no-such-hash'))).toBeNull();
  });

  it('returns sorted sets in RESP2 shape (WITHSCORES flat, ZRANGE BYSCORE as the fleet registry uses it)', async () => {
    await redis.zadd(
      k('z'),
      { score: 10, member: 'a' },
      { score: 20, member: 'b' },
      { score: 30, member: 'c' },
    );
    expect(await redis.zrange(k('z'), 0, -1, { withScores: true })).toEqual(['a', 10, 'b', 20, 'c', 30]);
    expect(await redis.zrange(k('z'), 15, '+inf', { byScore: true })).toEqual(['b', 'c']);
    expect(await redis.zscore(k('z'), 'b')).toBe(20);
  });

  it('serves streams: XADD, a consumer group, XREADGROUP and XACK', async () => {
    const stream = k('usage');
    const id1 = await redis.xadd(stream, '*', { id: 'e1', e: '{"n":1}' });
    const id2 = await redis.xadd(
      stream,
      '*',
      { id: 'e2', e: '{"n":2}' },
      { trim: { type: 'MAXLEN', threshold: 1000, comparison: '~' } },
    );
    expect(id1).toMatch(/^\d+-\d+$/);
    expect(await redis.xlen(stream)).toBe(2);
    expect(await redis.xgroup(stream, { type: 'CREATE', group: 'g', id: '0' })).toBe('OK');
    const read = (await redis.xreadgroup('g', 'c1', stream, '>', { count: 10 })) as [
      string,
      [string, string[]][],
    ][];
    expect(read).toHaveLength(1);
    const [name, entries] = read[0]!;
    expect(name).toBe(stream);
    expect(entries.map((e) => e[0])).toEqual([id1, id2]);
    // The client JSON-parses field values by default, as it does against hosted Upstash.
    expect(entries[0]![1]).toEqual(['id', 'e1', 'e', { n: 1 }]);
    expect(await redis.xack(stream, 'g', [id1, id2])).toBe(2);
    const pending = (await redis.xpending(stream, 'g', '-', '+', 10)) as unknown[];
    expect(pending).toEqual([]);
  });

  it('runs Lua scripts with EVAL, SCRIPT LOAD and EVALSHA', async () => {
    const script = "redis.call('SET', KEYS[1], ARGV[1]); return {redis.call('GET', KEYS[1]), 42}";
    expect(await redis.eval(script, [k('lua')], ['from-lua'])).toEqual(['from-lua', 42]);
    const sha = await redis.scriptLoad(script);
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    expect(await redis.evalsha(sha, [k('lua2')], ['again'])).toEqual(['again', 42]);
    await expect(redis.evalsha('0'.repeat(40), [], [])).rejects.toThrow(/NOSCRIPT/);
  });

  it('accepts Upstash-only script flags: drops allow-key-locking, keeps Redis flags, and EVALSHA of the script as sent works', async () => {
    const script = "#!lua flags=allow-key-locking,no-writes\nreturn redis.call('GET', KEYS[1])";
    await redis.set(k('flagged'), 'val');
    expect(await redis.eval(script, [k('flagged')], [])).toBe('val');
    const sha = await redis.scriptLoad(script);
    expect(sha).toBe(createHash('sha1').update(script).digest('hex'));
    expect(await redis.evalsha(sha, [k('flagged')], [])).toBe('val');
    expect(await redis.scriptExists(sha)).toEqual([1]);
    // no-writes survives the rewrite: Redis still refuses a write from this script.
    const writer = "#!lua flags=allow-key-locking,no-writes\nreturn redis.call('SET', KEYS[1], 'x')";
    await expect(redis.eval(writer, [k('flagged')], [])).rejects.toThrow(/Write commands are not allowed/);
  });

  it('executes an explicit pipeline in one request and a MULTI/EXEC transaction', async () => {
    const before = bridge.requests();
    const p = redis.pipeline();
    p.set(k('p1'), 'a');
    p.incr(k('p2'));
    p.get(k('p1'));
    expect(await p.exec()).toEqual(['OK', 1, 'a']);
    expect(bridge.requests() - before).toBe(1);

    const tx = redis.multi();
    tx.incr(k('tx'));
    tx.incr(k('tx'));
    tx.get(k('tx'));
    expect(await tx.exec()).toEqual([1, 2, 2]);
  });

  it('auto-pipelining sends the reads issued in one tick as ONE HTTP request (and the writes as one more)', async () => {
    const auto = client({ autoPipeline: true });
    await auto.set(k('ap'), 'x');
    await auto.hset(k('ap-h'), { f: 'v' });
    let before = bridge.requests();
    const reads = await Promise.all([
      auto.get(k('ap')),
      auto.hget(k('ap-h'), 'f'),
      auto.exists(k('ap')),
      auto.mget(k('ap'), k('nothing')),
    ]);
    expect(reads).toEqual(['x', 'v', 1, ['x', null]]);
    expect(bridge.requests() - before).toBe(1);

    // The client keeps separate read and write pipelines, so a mixed tick costs exactly two round trips.
    before = bridge.requests();
    const mixed = await Promise.all([auto.get(k('ap')), auto.incr(k('ap-n')), auto.incr(k('ap-n'))]);
    expect(mixed).toEqual(['x', 1, 2]);
    expect(bridge.requests() - before).toBe(2);
  });

  it('reports a command error as an UpstashError carrying Redis message', async () => {
    await redis.set(k('str'), 'v');
    await expect(redis.lpush(k('str'), 'x')).rejects.toThrow(/WRONGTYPE/);
  });

  it('keeps a blocking command on its own connection so other requests are not stuck behind it', async () => {
    const list = k('blocking');
    const popped = raw('/', { body: JSON.stringify(['BLPOP', list, '10']) });
    await waitForBlockedClient();
    // Issued while BLPOP waits: on a shared connection this LPUSH would queue behind it until the timeout.
    await raw('/', { body: JSON.stringify(['LPUSH', list, 'wake']) });
    expect(await popped).toEqual({ status: 200, body: { result: [list, 'wake'] } });
  });
});

describe('Upstash bridge wire format', () => {
  it('rejects a missing or wrong token with 401 {"error":"Unauthorized"}', async () => {
    const none = await fetch(`${bridge.url}/get/x`);
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ error: 'Unauthorized' });
    const wrong = await raw('/get/x', { headers: { authorization: 'Bearer nope' } });
    expect(wrong).toEqual({ status: 401, body: { error: 'Unauthorized' } });
  });

  it('accepts the token as ?_token= like Upstash', async () => {
    const res = await fetch(`${bridge.url}/ping?_token=${bridge.token}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ result: 'PONG' });
  });

  it('supports the path form with query options and a POST body as the last argument, UTF-8 when not asked for base64', async () => {
    expect(await raw(`/set/${encodeURIComponent(k('path'))}/a%20b?EX=100`, { method: 'GET' })).toEqual({
      status: 200,
      body: { result: 'OK' },
    });
    expect(await raw(`/get/${encodeURIComponent(k('path'))}`, { method: 'GET' })).toEqual({
      status: 200,
      body: { result: 'a b' },
    });
    expect(await raw(`/set/${encodeURIComponent(k('body'))}`, { body: 'raw body value' })).toEqual({
      status: 200,
      body: { result: 'OK' },
    });
    expect((await raw('/', { body: JSON.stringify(['GET', k('body')]) })).body).toEqual({
      result: 'raw body value',
    });
    const ttl = await raw('/', { body: JSON.stringify(['TTL', k('path')]) });
    expect(ttl.body).toEqual({ result: expect.any(Number) });
  });

  it('base64-encodes every string in nested replies but leaves integers, null and OK alone', async () => {
    await raw('/', { body: JSON.stringify(['RPUSH', k('l'), 'a', 'bc']) });
    const res = await raw('/pipeline', {
      headers: { 'upstash-encoding': 'base64' },
      body: JSON.stringify([
        ['SET', k('b64'), 'v'],
        ['LRANGE', k('l'), 0, -1],
        ['GET', k('none')],
        ['LLEN', k('l')],
        ['EVAL', "return {1, 'x', {'y'}}", 0],
      ]),
    });
    expect(res).toEqual({
      status: 200,
      body: [
        { result: 'OK' },
        { result: [Buffer.from('a').toString('base64'), Buffer.from('bc').toString('base64')] },
        { result: null },
        { result: 2 },
        { result: [1, Buffer.from('x').toString('base64'), [Buffer.from('y').toString('base64')]] },
      ],
    });
  });

  it('answers a failing single command with HTTP 400 and {"error":"…"} in Redis words', async () => {
    const res = await raw('/', { body: JSON.stringify(['INCR', k('str-for-incr'), 'extra']) });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: expect.stringMatching(/^ERR wrong number of arguments/) });
  });

  it('fails only the failing command of a pipeline', async () => {
    await raw('/', { body: JSON.stringify(['SET', k('pstr'), 'v']) });
    const res = await raw('/pipeline', {
      body: JSON.stringify([
        ['INCR', k('pstr')],
        ['GET', k('pstr')],
      ]),
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual([
      { error: expect.stringMatching(/^ERR value is not an integer/) },
      { result: 'v' },
    ]);
  });

  it('aborts a whole transaction when Redis refuses a queued command (EXECABORT, nothing applied)', async () => {
    const res = await raw('/multi-exec', {
      body: JSON.stringify([['SET', k('tx-abort'), '1'], ['NOSUCHCOMMAND']]),
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: expect.stringMatching(/^EXECABORT/) });
    expect((await raw('/', { body: JSON.stringify(['EXISTS', k('tx-abort')]) })).body).toEqual({ result: 0 });
  });

  it('refuses connection-state commands and malformed bodies with 400 naming the problem', async () => {
    expect(await raw('/', { body: JSON.stringify(['SELECT', '2']) })).toEqual({
      status: 400,
      body: { error: 'ERR Command is not allowed over REST: SELECT' },
    });
    expect(await raw('/', { body: '{not json' })).toEqual({
      status: 400,
      body: { error: 'ERR request body is not valid JSON' },
    });
    expect(await raw('/', { body: JSON.stringify([]) })).toEqual({
      status: 400,
      body: { error: 'ERR command must be a non-empty JSON array of strings' },
    });
    expect(await raw('/pipeline', { body: JSON.stringify([['GET', {}]]) })).toEqual({
      status: 400,
      body: { error: 'ERR command 1: argument 1 must be a string or a number' },
    });
    const del = await raw('/get/x', { method: 'DELETE' });
    expect(del.status).toBe(405);
  });
});
