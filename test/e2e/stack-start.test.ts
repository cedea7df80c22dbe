import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/dev/stack/free-port.ts';
import type { LocalState } from '../../scripts/dev/stack/local-state.ts';
import { groupAlive, groupGone, processAlive } from '../support/process-state.ts';

/**
 * `npm start` end to end, as a new user runs it: no DATABASE_URL (embedded PGlite), no Redis (the edge's
 * in-memory stores), every port and the state folder moved so a developer's own stack is not touched.
 */
/** The edge's inference route (EDGE team); the stack test asks for a real inference once it exists. */
const EDGE_INFER_ROUTE = existsSync(join(process.cwd(), 'workers', 'routes', 'infer.ts'));

let dir: string | undefined;
let npm: ChildProcess | undefined;
let output = '';

// The parts run in their own process groups (so Ctrl-C reaches only npm start): a failed run must reap them too.
let partPids: number[] = [];

afterAll(async () => {
  if (npm?.pid && groupAlive(npm.pid)) process.kill(-npm.pid, 'SIGKILL');
  for (const pid of partPids) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (npm?.exitCode !== null && npm?.exitCode !== undefined) {
      throw new Error(`npm start exited (${npm.exitCode}) before ${what}:\n${output.slice(-4000)}`);
    }
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}:\n${output.slice(-4000)}`);
}

/** The curl line npm start printed, taken apart: URL, Authorization header, body file. */
function parsePrintedCurl(text: string): { url: string; authorization: string; bodyFile: string } {
  const line = text.split('\n').find((l) => l.trim().startsWith('curl ') && l.includes('/infer'));
  if (!line) throw new Error(`no curl line printed:\n${text.slice(-3000)}`);
  const url = /-X POST (\S+)/.exec(line)?.[1];
  const authorization = /-H 'authorization: ([^']+)'/.exec(line)?.[1];
  const bodyFile = /--data-binary @(\S+)/.exec(line)?.[1];
  if (!url || !authorization || !bodyFile) throw new Error(`unexpected curl line: ${line}`);
  return { url, authorization, bodyFile };
}

describe('npm start (the whole stack)', () => {
  it('starts every part, prints a curl that returns a real inference through the edge, and stops cleanly on Ctrl-C', async () => {
    dir = await mkdtemp(join(tmpdir(), 'aiserve-stack-'));
    const stateDir = join(dir, 'state');
    const [originPort, edgePort] = [await freePort(), await freePort()];
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      AISERVE_STATE_DIR: stateDir,
      PGLITE_DATA_DIR: join(dir, 'pglite'),
      ORIGIN_PORT: String(originPort),
      EDGE_PORT: String(edgePort),
      LOG_LEVEL: 'warn',
    };
    for (const k of ['DATABASE_URL', 'REDIS_URL', 'MODEL_REPOSITORY', 'PORT', 'AISERVE_EDGE']) delete env[k];
    // Its own process group, like a terminal session, so Ctrl-C can be sent to the group as a shell would.
    npm = spawn('npm', ['start'], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    npm.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    npm.stderr?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    // npm itself receives the group's SIGINT too and may end by that signal once the script has exited.
    const exited = new Promise<number | 'SIGINT' | null>((resolve) =>
      npm!.on('exit', (code, signal) => resolve(signal === 'SIGINT' ? 'SIGINT' : code)),
    );

    const localJson = join(stateDir, 'local.json');
    const state = await waitFor('local.json', 280_000, async () =>
      existsSync(localJson) ? (JSON.parse(await readFile(localJson, 'utf8')) as LocalState) : undefined,
    );
    partPids = Object.values(state.pids ?? {});
    expect(state.edgeUrl).toBe(`http://127.0.0.1:${edgePort}`);
    expect(state.originUrl).toBe(`http://127.0.0.1:${originPort}`);
    expect(state.databaseUrl).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
    expect(state.apiKey).toMatch(/^ais_live_[a-z0-9]{12}_[A-Za-z0-9]{32,}$/);
    expect(state.redisRestUrl).toBeUndefined();

    const curl = await waitFor('the printed curl', 30_000, async () =>
      output.includes('--data-binary') ? parsePrintedCurl(output) : undefined,
    );
    expect(curl.url).toBe(`${state.edgeUrl}/v2/models/ocr-cls/infer`);
    expect(curl.authorization).toBe(`Bearer ${state.apiKey}`);

    const res = await fetch(curl.url, {
      method: 'POST',
      headers: { authorization: curl.authorization, 'content-type': 'application/json' },
      body: await readFile(curl.bodyFile),
    });
    const text = await res.text();
    if (EDGE_INFER_ROUTE) {
      expect(res.status, text).toBe(200);
      const answer = JSON.parse(text) as {
        model_name: string;
        outputs: { name: string; datatype: string; shape: number[]; data: number[] }[];
      };
      expect(answer.model_name).toBe('ocr-cls');
      const [out] = answer.outputs;
      expect(out).toMatchObject({ name: 'softmax_0.tmp_0', datatype: 'FP32', shape: [1, 2] });
      // A real softmax from onnxruntime: two probabilities that sum to 1. (The synthetic stripes are
      // symmetric, so which of 0° and 180° wins says nothing; only that the model ran.)
      expect(out!.data[0]! + out!.data[1]!).toBeCloseTo(1, 4);
      for (const p of out!.data) expect(p).toBeGreaterThanOrEqual(0);
    } else {
      // Until the edge serves inference (workers/routes/infer.ts), the demo key must still authenticate
      // (through the Neon driver, the proxy and PGlite): the request gets past auth to the router's 404.
      expect(res.status, text).toBe(404);
      expect(JSON.parse(text)).toMatchObject({ code: 'NOT_FOUND' });
    }

    // The edge is really in front: no key, no inference.
    const anonymous = await fetch(curl.url, { method: 'POST', body: await readFile(curl.bodyFile) });
    expect(anonymous.status).toBe(401);
    await anonymous.body?.cancel();
    // And the origin refuses anything the edge did not sign.
    const direct = await fetch(`${state.originUrl}/v2/models/ocr-cls/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: await readFile(curl.bodyFile),
    });
    expect(direct.status).toBe(401);
    await direct.body?.cancel();

    // Ctrl-C, as a terminal sends it: to the whole foreground process group.
    process.kill(-npm.pid!, 'SIGINT');
    const code = await Promise.race([
      exited,
      new Promise<'hung'>((r) => setTimeout(() => r('hung'), 90_000)),
    ]);
    expect([0, 'SIGINT'], output.slice(-3000)).toContain(code);
    // npm may go first; the script keeps stopping its parts, writing to the same pipe, until the group is gone.
    expect(await groupGone(npm.pid!, 90_000), 'npm start left processes in its group').toBe(true);
    expect(output).not.toMatch(/npm start failed|ERR!/);
    expect(output).toContain('[start] stopped edge');
    expect(output).toContain('[start] stopped pglite');
    for (const [name, pid] of Object.entries(state.pids ?? {})) {
      expect((await groupGone(pid)) && !processAlive(pid), `${name} (pid ${pid}) left running`).toBe(true);
    }
    for (const url of [state.edgeUrl!, state.originUrl!]) {
      await expect(fetch(`${url}/v2/health/live`), `${url} still answers`).rejects.toThrow();
    }
  }, 400_000);
});
