import { type ChildProcess, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeInferRequest } from '../../origin/protocol/client/encode-request.ts';
import { makeRepository } from './origin-harness.ts';

let repo: string;
let child: ChildProcess | undefined;

beforeAll(async () => {
  repo = await makeRepository();
});
afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await rm(repo, { recursive: true, force: true });
});

function startProcess(
  env: Record<string, string>,
): Promise<{ url: string; logs: () => string; exited: Promise<number | null> }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'origin/main.ts'], {
    env: {
      ...process.env,
      PORT: '0',
      ORIGIN_AUTH: 'off',
      LOG_LEVEL: 'info',
      GPU_METRICS: 'false',
      MODEL_REPOSITORY: repo,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const ready = out.includes('"origin ready"');
      const m = out.match(/origin listening on (http:\/\/[^"\s]+)/);
      if (ready && m) {
        clearInterval(timer);
        resolve({ url: m[1]!, logs: () => out, exited });
      }
      if (proc.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`origin exited early:\n${out}`));
      }
    }, 50);
  });
}

describe('origin process lifecycle', () => {
  it('on SIGTERM turns unready at once, finishes every accepted request, and exits 0 within the bound', async () => {
    const { url, logs, exited } = await startProcess({ SHUTDOWN_TIMEOUT_MS: '20000' });
    const size = 320;
    const req = encodeInferRequest({
      inputs: [
        {
          name: 'x',
          datatype: 'FP32',
          shape: [1, 3, size, size],
          data: new Float32Array(3 * size * size).fill(0.2),
        },
      ],
      binaryInputs: true,
    });
    const inflight = Array.from({ length: 12 }, () =>
      fetch(`${url}/v2/models/ocr-det/infer`, {
        method: 'POST',
        body: req.body as BodyInit,
        headers: req.headers,
      }),
    );
    await new Promise((r) => setTimeout(r, 300));
    const signalled = Date.now();
    child!.kill('SIGTERM');
    // Signals arrive asynchronously: a probe sent in the same tick can be served before the handler runs.
    // "At once" means: from the moment the process has seen the signal, readiness is off.
    const seenBy = Date.now() + 2000;
    while (!logs().includes('shutdown requested') && Date.now() < seenBy) {
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(logs()).toContain('shutdown requested');

    const ready = await fetch(`${url}/v2/health/ready`).then(
      (r) => r.status,
      () => 'refused',
    );
    expect(ready === 'refused' || ready === 400).toBe(true);

    const responses = await Promise.all(inflight);
    const statuses = responses.map((r) => r.status);
    expect(statuses).toEqual(new Array(12).fill(200));
    expect(await exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(20_000);
    expect(logs()).toContain('draining');
    expect(logs()).toContain('origin stopped');
  });

  it('refuses to start with a readable message when the configuration is invalid', async () => {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'origin/main.ts'], {
      env: { ...process.env, PORT: 'eighty', MODEL_CONTROL_MODE: 'sometimes' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => proc.on('exit', resolve));
    expect(code).toBe(2);
    expect(err).toContain('PORT');
    expect(err).toContain('MODEL_CONTROL_MODE');
  });

  it('refuses to start signed mode without signing keys', async () => {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'origin/main.ts'], {
      env: {
        ...process.env,
        PORT: '0',
        ORIGIN_AUTH: 'hmac',
        ORIGIN_SIGNING_KEYS: '',
        MODEL_REPOSITORY: repo,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => proc.on('exit', resolve));
    expect(code).toBe(1);
    expect(out).toContain('ORIGIN_SIGNING_KEYS');
  });
});
