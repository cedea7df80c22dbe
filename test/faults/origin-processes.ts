import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { deadUrl, SIGNING } from '../workers/routing/fake-origins.ts';

export interface OriginProcess {
  url: string;
  child: ChildProcess;
  /** SIGKILL: no drain, connections cut, like a crashed host. */
  kill(): void;
  stop(): Promise<void>;
}

/**
 * A real origin (`origin/main.ts`: onnxruntime-node, batching, signature checks) in its own process, so it
 * can be killed abruptly. Resolves once `/v2/health/ready` answers 200 (bounded wait).
 */
export async function startOriginProcess(repo: string): Promise<OriginProcess> {
  const url = await deadUrl();
  const port = new URL(url).port;
  const child = spawn(process.execPath, ['--import', 'tsx', 'origin/main.ts'], {
    env: {
      ...process.env,
      PORT: port,
      HOST: '127.0.0.1',
      MODEL_REPOSITORY: repo,
      MODEL_CONTROL_MODE: 'explicit',
      LOAD_MODELS: 'ocr-cls',
      ORIGIN_AUTH: 'hmac',
      ORIGIN_SIGNING_KEYS: `${SIGNING.keyId}:${SIGNING.secret}`,
      INTRA_OP_THREADS: '1',
      LOG_LEVEL: 'silent',
      GPU_METRICS: 'false',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  for (let i = 0; i < 240; i++) {
    if (child.exitCode !== null) throw new Error(`origin exited with ${child.exitCode}: ${stderr}`);
    const ready = await fetch(`${url}/v2/health/ready`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) {
      return {
        url,
        child,
        kill: () => child.kill('SIGKILL'),
        async stop() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
          child.kill('SIGKILL');
          await exited;
        },
      };
    }
    await sleep(250);
  }
  child.kill('SIGKILL');
  throw new Error(`origin did not become ready within 60 s: ${stderr}`);
}
