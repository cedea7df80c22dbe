import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Child, waitForHttp } from '../../scripts/dev/stack/child.ts';
import { startEdgeProcess, writeEnvFile } from '../../scripts/dev/stack/edge.ts';
import { freePort } from '../../scripts/dev/stack/free-port.ts';

/** The edge worker under `wrangler dev` (real workerd), as `npm start` runs it, on free ports. */
export interface WorkerdEdge {
  base: string;
  worker: Child;
  /** Stops the worker and removes its state folder. */
  stop(): Promise<void>;
}

/**
 * Starts the worker with `vars` as its environment file in a fresh state folder (`<prefix><random>`) and waits
 * until it answers `/v2/health/live`. Every output line goes to `output`; `echo` also prints it.
 */
export async function startWorkerdEdge(options: {
  prefix: string;
  vars: Record<string, string>;
  output: string[];
  echo?: boolean;
}): Promise<WorkerdEdge> {
  const stateDir = await mkdtemp(join(tmpdir(), options.prefix));
  const envFile = join(stateDir, 'edge.env');
  await writeEnvFile(envFile, options.vars);
  const port = await freePort();
  const worker = startEdgeProcess({
    port,
    host: '127.0.0.1',
    inspectorPort: await freePort(),
    envFile,
    stateDir,
    cwd: process.cwd(),
    env: { ...process.env },
    write: (line) => {
      options.output.push(line);
      if (options.echo) process.stdout.write(line.endsWith('\n') ? line : `${line}\n`);
    },
  });
  const base = `http://127.0.0.1:${port}`;
  await waitForHttp(`${base}/v2/health/live`, { child: worker, timeoutMs: 150_000 });
  return {
    base,
    worker,
    async stop() {
      await worker.stop(5_000);
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
