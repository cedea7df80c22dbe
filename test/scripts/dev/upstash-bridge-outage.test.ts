import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../scripts/dev/stack/free-port.ts';
import { startUpstashBridge, type UpstashBridge } from '../../../scripts/dev/upstash-bridge.ts';

/** A private redis-server this test may stop and restart (the shared one on 6379 is left alone). */
const hasRedisServer = (() => {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

let redis: ChildProcess | undefined;
let bridge: UpstashBridge | undefined;

async function startRedis(port: number): Promise<ChildProcess> {
  const proc = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  for (let i = 0; i < 100; i++) {
    try {
      execFileSync('redis-cli', ['-p', String(port), 'ping'], { stdio: 'ignore' });
      return proc;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  proc.kill('SIGKILL');
  throw new Error('redis-server did not start');
}

async function stopRedis(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
}

afterAll(async () => {
  await bridge?.close();
  if (redis) await stopRedis(redis);
});

const command = (body: unknown) =>
  fetch(`${bridge!.url}/`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bridge!.token}` },
    body: JSON.stringify(body),
    // A bridge that parked the request until Redis came back would hit this and fail the test.
    signal: AbortSignal.timeout(10_000),
  });

describe.skipIf(!hasRedisServer)('Upstash bridge while Redis is down', () => {
  it('answers 503 naming Redis at once while it is down, and serves again after it restarts', async () => {
    const port = await freePort();
    redis = await startRedis(port);
    bridge = await startUpstashBridge({ redisUrl: `redis://127.0.0.1:${port}`, token: 'outage-test-token' });
    expect((await command(['SET', 'k', 'v'])).status).toBe(200);

    await stopRedis(redis);
    const down = await command(['GET', 'k']);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ error: expect.stringMatching(/^ERR Redis unavailable: /) });

    redis = await startRedis(port);
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      status = (await command(['PING'])).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
    const res = await command(['SET', 'k', 'again']);
    expect(await res.json()).toEqual({ result: 'OK' });
  });
});
