import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { request } from 'undici';

export const BENCH_MODEL = 'ocr-cls';

export interface BenchRepos {
  /** Shipped config: dynamic_batching as committed. */
  batchingOn: string;
  /** Same config with the dynamic_batching block removed (Triton then runs every request alone). */
  batchingOff: string;
  /** Where the shipped config came from. */
  configSource: string;
  /** The shipped config as read (for the results file). */
  config: Record<string, unknown>;
}

async function shippedConfig(
  root: string,
  scratch: string,
): Promise<{ config: Record<string, unknown>; source: string; modelFile?: string }> {
  const committed = join(root, 'scripts/models/configs', `${BENCH_MODEL}.json`);
  if (existsSync(committed)) {
    return {
      config: JSON.parse(await readFile(committed, 'utf8')) as Record<string, unknown>,
      source: 'scripts/models/configs/ocr-cls.json',
    };
  }
  const prepare = join(root, 'scripts/models/prepare.ts');
  if (existsSync(prepare)) {
    const mod = (await import(pathToFileURL(prepare).href)) as { prepareModels?: (dir: string) => unknown };
    if (typeof mod.prepareModels === 'function') {
      const dir = join(scratch, 'prepared');
      await mod.prepareModels(dir);
      const path = join(dir, BENCH_MODEL, 'config.json');
      return {
        config: JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>,
        source: 'scripts/models/prepare.ts prepareModels()',
        modelFile: join(dir, BENCH_MODEL, '1', 'model.onnx'),
      };
    }
  }
  throw new Error(
    `cannot find the shipped ${BENCH_MODEL} config: neither scripts/models/configs/${BENCH_MODEL}.json nor prepareModels() in scripts/models/prepare.ts`,
  );
}

async function writeRepo(dir: string, config: Record<string, unknown>, modelFile: string): Promise<void> {
  await mkdir(join(dir, BENCH_MODEL, '1'), { recursive: true });
  await writeFile(join(dir, BENCH_MODEL, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  const fileName =
    typeof config['default_model_filename'] === 'string' ? config['default_model_filename'] : 'model.onnx';
  await copyFile(modelFile, join(dir, BENCH_MODEL, '1', fileName));
}

/** Two one-model Triton repositories under `scratch`: the shipped ocr-cls config, and the same without batching. */
export async function prepareBenchRepos(
  root: string,
  scratch: string,
  modelPath: string,
): Promise<BenchRepos> {
  const { config, source, modelFile } = await shippedConfig(root, scratch);
  if (config['dynamic_batching'] === undefined) {
    throw new Error(`the shipped ${BENCH_MODEL} config (${source}) has no dynamic_batching block`);
  }
  const file = modelFile && existsSync(modelFile) ? modelFile : modelPath;
  const batchingOn = join(scratch, 'batching-on');
  const batchingOff = join(scratch, 'batching-off');
  await writeRepo(batchingOn, config, file);
  const { dynamic_batching: _dropped, ...withoutBatching } = config;
  await writeRepo(batchingOff, withoutBatching, file);
  return { batchingOn, batchingOff, configSource: source, config };
}

/** A free TCP port on 127.0.0.1 (bound then released; the origin binds it right after). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not pick a free port'))));
    });
  });
}

const live = new Set<ChildProcess>();
const scratchDirs = new Set<string>();
let handlersInstalled = false;

/** Removes `dir` when the process exits, however it exits (signals included). */
export function removeOnExit(dir: string): void {
  installHandlers();
  scratchDirs.add(dir);
}

/** Kills every origin this process started (synchronously: safe in 'exit' handlers). */
export function killAllOrigins(signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  }
  live.clear();
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    killAllOrigins('SIGKILL');
    for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
  });
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}: stopping origin processes\n`);
      killAllOrigins('SIGKILL');
      process.exit(code);
    });
  }
}

export interface OriginHandle {
  readonly label: string;
  readonly port: number;
  readonly baseUrl: string;
  readonly pid: number | undefined;
  /** Last lines the origin wrote (stdout and stderr), for error reports. */
  tail(): string;
  stop(): Promise<void>;
}

export interface StartOriginOptions {
  root: string;
  repository: string;
  label: string;
  log: (line: string) => void;
  readyTimeoutMs?: number;
}

/** Env vars that would make the origin's session options differ from the defaults the raw run uses. */
const STRIPPED_ENV = [
  'PORT',
  'HOST',
  'MODEL_REPOSITORY',
  'MODEL_CONTROL_MODE',
  'LOAD_MODELS',
  'EXECUTION_PROVIDER',
  'INTRA_OP_THREADS',
  'INTER_OP_THREADS',
  'GRAPH_OPTIMIZATION',
  'ORIGIN_AUTH',
  'LOG_LEVEL',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
];

/** Starts `node --import tsx origin/main.ts` on a free port and waits until ocr-cls is ready. */
export async function startOrigin(opts: StartOriginOptions): Promise<OriginHandle> {
  installHandlers();
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of STRIPPED_ENV) delete env[key];
  Object.assign(env, {
    PORT: String(port),
    HOST: '127.0.0.1',
    MODEL_REPOSITORY: opts.repository,
    ORIGIN_AUTH: 'off',
    LOG_LEVEL: 'warn',
    GPU_METRICS: 'false',
    SHUTDOWN_TIMEOUT_MS: '5000',
  });
  // BENCH_NODE_ARGS: extra Node flags for the origin (for example --cpu-prof to profile a run), as in bench:edge.
  const nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, ['--import', 'tsx', ...nodeArgs, 'origin/main.ts'], {
    cwd: opts.root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const lines: string[] = [];
  let forwarded = 0;
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      lines.push(line);
      if (lines.length > 40) lines.shift();
      if (forwarded < 10) opts.log(`  [origin ${opts.label}] ${line.slice(0, 300)}`);
      else if (forwarded === 10) opts.log(`  [origin ${opts.label}] (further output suppressed)`);
      forwarded++;
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', () => live.delete(child));
  const spawnError = new Promise<never>((_, reject) => child.once('error', reject));
  spawnError.catch(() => {});

  const baseUrl = `http://127.0.0.1:${port}`;
  const handle: OriginHandle = {
    label: opts.label,
    port,
    baseUrl,
    pid: child.pid,
    tail: () => lines.join('\n'),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 90_000);
  let lastError = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `origin (${opts.label}) exited with ${child.exitCode ?? child.signalCode} before it was ready:\n${handle.tail()}`,
      );
    }
    try {
      // Server readiness first (a 4xx while starting), then the model's, so no probe hits a loading model.
      let ready = false;
      for (const path of ['/v2/health/ready', `/v2/models/${BENCH_MODEL}/ready`]) {
        const res = await request(`${baseUrl}${path}`, { headersTimeout: 2000, bodyTimeout: 2000 });
        await res.body.dump();
        ready = res.statusCode === 200;
        if (!ready) {
          lastError = `GET ${path}: HTTP ${res.statusCode}`;
          break;
        }
      }
      if (ready) return handle;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    await Promise.race([new Promise((r) => setTimeout(r, 250)), spawnError]);
  }
  await handle.stop();
  throw new Error(`origin (${opts.label}) not ready within the timeout (${lastError}):\n${handle.tail()}`);
}
