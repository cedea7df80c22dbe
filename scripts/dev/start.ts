/**
 * `npm start`: the local stack on embedded defaults. For now that is the origin with the shipped PaddleOCR
 * models, unsigned (local direct use), and an example request written to disk and printed as a curl command.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { prepareModels } from '../models/prepare.ts';
import { exampleClsRequest } from './example-request.ts';

const port = Number(process.env.PORT ?? 8000);
const host = process.env.HOST ?? '127.0.0.1';
const repo = resolve(process.env.MODEL_REPOSITORY ?? './models');
const stateDir = resolve('.aiserve');

async function waitReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`origin exited with code ${child.exitCode} during start-up`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`origin not ready at ${url} after ${timeoutMs} ms`);
}

async function main(): Promise<void> {
  if (!process.env.MODEL_REPOSITORY) await prepareModels(repo);
  await mkdir(resolve(stateDir, 'examples'), { recursive: true });
  const examplePath = resolve(stateDir, 'examples', 'ocr-cls.json');
  await writeFile(examplePath, JSON.stringify(exampleClsRequest()));

  const originUrl = `http://${host}:${port}`;
  const child = spawn(process.execPath, ['--import', 'tsx', 'origin/main.ts'], {
    stdio: 'inherit',
    env: {
      ...process.env,
      PORT: String(port),
      HOST: host,
      MODEL_REPOSITORY: repo,
      ORIGIN_AUTH: process.env.ORIGIN_AUTH ?? 'off',
    },
  });
  const stop = (signal: NodeJS.Signals) => {
    if (child.exitCode === null) child.kill(signal);
  };
  process.on('SIGINT', () => stop('SIGTERM'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  child.on('exit', (code) => process.exit(code ?? 0));

  await waitReady(`${originUrl}/v2/health/ready`, child, 120_000);
  await writeFile(resolve(stateDir, 'local.json'), `${JSON.stringify({ originUrl }, null, 2)}\n`);

  const rel = '.aiserve/examples/ocr-cls.json';
  process.stdout.write(
    [
      '',
      `AIServe is up. Origin: ${originUrl}  (state in .aiserve/local.json; Ctrl-C stops it)`,
      '',
      'Try it (PaddleOCR text-direction classifier; answers [p(0°), p(180°)]):',
      `  curl -s -X POST ${originUrl}/v2/models/ocr-cls/infer -H 'content-type: application/json' --data-binary @${rel}`,
      '',
      `Models: curl -s -X POST ${originUrl}/v2/repository/index    Metrics: curl -s ${originUrl}/metrics`,
      '',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`npm start failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
