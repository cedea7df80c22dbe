/**
 * `npm start`: the whole stack on this machine with nothing installed but Node. In order: the shipped models,
 * the database (embedded PGlite, or DATABASE_URL), migrations, the demo tenant and key, the Upstash REST bridge
 * (when REDIS_URL is set), the Neon WebSocket proxy, the origin (signed by a per-run key), the usage drain (when
 * REDIS_URL is set: it moves the edge's usage events from the Redis stream to Postgres), and the edge under
 * `wrangler dev`. It waits until every part answers, writes `.aiserve/local.json` and prints a curl that runs
 * a real inference through the edge. Ctrl-C stops the parts in reverse order (the edge first, then the drain,
 * which finishes and acks its batch) and exits 0.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { createDatabase } from '../../drizzle/client/client.ts';
import { migrateDatabase } from '../../drizzle/migrate.ts';
import { loadDataConfig } from '../../shared/config/data.ts';
import { loadConfig } from '../../shared/config/load.ts';
import { type StackConfig, stackConfigSchema } from '../../shared/config/local.ts';
import { USAGE_STREAM } from '../../shared/redis-keys.ts';
import { prepareModels } from '../models/prepare.ts';
import { exampleClsRequest } from './example-request.ts';
import { startNeonWsProxy } from './neon-ws-proxy.ts';
import { startPglite } from './pglite-server.ts';
import { type Child, startChild, waitForHttp } from './stack/child.ts';
import { ensureDemoKey } from './stack/demo-key.ts';
import { startEdgeProcess, writeEnvFile } from './stack/edge.ts';
import { freePort } from './stack/free-port.ts';
import { type LocalState, readLocalState, writeLocalState } from './stack/local-state.ts';
import { startUpstashBridge } from './upstash-bridge.ts';

const log = (line: string) => process.stdout.write(`[start] ${line}\n`);

/** What has been started, stopped in reverse order (edge, usage drain, origin, proxy, bridge, database). */
class Parts {
  #stops: { name: string; stop: () => Promise<unknown> }[] = [];
  #children: Child[] = [];
  #closed = false;

  add(name: string, stop: () => Promise<unknown>): void {
    // Ctrl-C during start-up: whatever finishes starting afterwards is stopped at once.
    if (this.#closed) void stop().catch(() => {});
    else this.#stops.push({ name, stop });
  }

  addChild(child: Child, graceMs: number): void {
    this.#children.push(child);
    this.add(child.name, () => child.stop(graceMs));
  }

  children(): Child[] {
    return this.#children;
  }

  async stopAll(): Promise<void> {
    this.#closed = true;
    while (this.#stops.length > 0) {
      const { name, stop } = this.#stops.pop()!;
      try {
        await stop();
        log(`stopped ${name}`);
      } catch (err) {
        log(`stopping ${name} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  /** Second Ctrl-C: no more waiting. */
  killAll(): void {
    for (const c of this.#children) {
      try {
        process.kill(-c.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

const displayPath = (p: string) => {
  const rel = relative(process.cwd(), p);
  return rel.startsWith('..') || isAbsolute(rel) ? p : rel;
};

async function startStack(config: StackConfig, parts: Parts): Promise<void> {
  const cwd = process.cwd();
  const stateDir = resolve(config.AISERVE_STATE_DIR);
  const timeoutMs = config.AISERVE_START_TIMEOUT_MS;
  const host = config.HOST;
  const previous = await readLocalState(stateDir);
  const state: LocalState = {};

  // 1. Models.
  const repo = resolve(process.env.MODEL_REPOSITORY ?? './models');
  if (!process.env.MODEL_REPOSITORY) await prepareModels(repo);
  await mkdir(join(stateDir, 'examples'), { recursive: true });
  const examplePath = join(stateDir, 'examples', 'ocr-cls.json');
  await writeFile(examplePath, JSON.stringify(exampleClsRequest()));
  state.exampleRequest = examplePath;

  // 2. Database: the given server, or embedded PGlite served on a local port.
  let databaseUrl = config.DATABASE_URL;
  if (!databaseUrl) {
    const pglite = await startPglite({ dataDir: config.PGLITE_DATA_DIR, host, port: config.PGLITE_PORT });
    parts.add('pglite', () => pglite.close());
    databaseUrl = pglite.url;
    log(`PGlite (${displayPath(pglite.dataDir)}) at ${pglite.url}`);
  }
  state.databaseUrl = databaseUrl;

  // 3. Migrations and the demo key, over node-postgres (the same SQL the edge's Neon driver will run).
  const data = await createDatabase(
    loadDataConfig({ DATABASE_URL: databaseUrl, DATABASE_DRIVER: 'pg', DATABASE_POOL_MAX: '2' }),
  );
  try {
    await migrateDatabase(data.primary);
    const demo = await ensureDemoKey(data.primary, previous.apiKey);
    state.apiKey = demo.key;
    log(demo.created ? 'created the demo tenant key' : 'reusing the demo key from the previous run');
  } finally {
    await data.close();
  }

  // 4. Redis through the Upstash REST bridge, when a Redis is given.
  let redisRest: { url: string; token: string } | undefined;
  if (config.REDIS_URL) {
    const bridge = await startUpstashBridge({
      redisUrl: config.REDIS_URL,
      token: randomBytes(24).toString('base64url'),
      port: config.UPSTASH_BRIDGE_PORT,
      host,
    });
    parts.add('upstash bridge', () => bridge.close());
    redisRest = { url: bridge.url, token: bridge.token };
    state.redisRestUrl = bridge.url;
    state.redisRestToken = bridge.token;
    log(`Upstash REST bridge for ${config.REDIS_URL} at ${bridge.url}`);
  }

  // 5. The Neon WebSocket proxy in front of the database (the edge reaches Postgres only this way).
  const dbUrl = new URL(databaseUrl);
  const proxy = await startNeonWsProxy({
    targetHost: dbUrl.hostname,
    targetPort: Number(dbUrl.port || 5432),
    port: config.NEON_WS_PROXY_PORT,
    host,
  });
  parts.add('neon proxy', () => proxy.close());
  state.neonWsProxy = proxy.address;

  // 6. The origin. Signed requests when the edge runs (the edge signs with a key made for this run).
  const signingKey = `local:${randomBytes(32).toString('base64url')}`;
  const originPort = config.ORIGIN_PORT ?? config.PORT;
  const originUrl = `http://${host}:${originPort}`;
  const origin = startChild({
    name: 'origin',
    command: process.execPath,
    args: ['--import', 'tsx', 'origin/main.ts'],
    cwd,
    env: {
      ...process.env,
      PORT: String(originPort),
      HOST: host,
      MODEL_REPOSITORY: repo,
      ...(config.AISERVE_EDGE
        ? { ORIGIN_AUTH: 'hmac', ORIGIN_SIGNING_KEYS: signingKey }
        : { ORIGIN_AUTH: process.env.ORIGIN_AUTH ?? 'off' }),
      ...(redisRest
        ? {
            REGISTRY_REDIS_REST_URL: redisRest.url,
            REGISTRY_REDIS_REST_TOKEN: redisRest.token,
            ORIGIN_PUBLIC_URL: originUrl,
          }
        : {}),
    },
  });
  parts.addChild(origin, 35_000);
  state.originUrl = originUrl;
  state.pids = { start: process.pid, origin: origin.pid };

  // 7. The usage drain, when the edge's usage goes to a Redis stream: nothing else moves it to Postgres. Started
  // before the edge so that it stops after it: on Ctrl-C the last events the edge appended are still drained.
  // Straight to Redis and the database (not through the bridge or the proxy), as a self-hosted drain runs.
  let drain: Child | undefined;
  if (config.REDIS_URL) {
    drain = startChild({
      name: 'usage-drain',
      command: process.execPath,
      args: ['--import', 'tsx', 'scripts/jobs/usage-drain.ts'],
      cwd,
      env: {
        USAGE_DRAIN_CONSUMER: 'npm-start',
        ...process.env,
        REDIS_URL: config.REDIS_URL,
        DATABASE_URL: databaseUrl,
        DATABASE_DRIVER: 'pg',
        DATABASE_POOL_MAX: '2',
      },
    });
    // The job ends a blocked read within USAGE_DRAIN_BLOCK_MS (2 s), then writes and acks the batch in hand.
    parts.addChild(drain, 15_000);
    state.pids.drain = drain.pid;
    log(`usage drain: Redis stream ${USAGE_STREAM} → Postgres usage_events`);
  }

  // 8. The edge in workerd.
  let edge: Child | undefined;
  if (config.AISERVE_EDGE) {
    const envFile = join(stateDir, 'edge.env');
    const adminToken = randomBytes(24).toString('base64url');
    await writeEnvFile(envFile, {
      ENVIRONMENT: 'dev',
      DATABASE_URL: databaseUrl,
      DATABASE_DRIVER: 'neon',
      NEON_WS_PROXY: proxy.address,
      // The Neon Pool arms its max-lifetime timer with setTimeout(...).unref(), which workerd's timers lack:
      // the first connection would crash the isolate. 0 turns that timer off.
      DATABASE_MAX_LIFETIME_SECONDS: '0',
      ORIGINS: `local=${originUrl}@local`,
      ORIGIN_SIGNING_KEY: signingKey,
      ADMIN_TOKEN: adminToken,
      ...(redisRest
        ? { UPSTASH_REDIS_REST_URL: redisRest.url, UPSTASH_REDIS_REST_TOKEN: redisRest.token }
        : {}),
    });
    edge = startEdgeProcess({
      port: config.EDGE_PORT,
      host,
      inspectorPort: await freePort(),
      envFile,
      stateDir,
      cwd,
      env: process.env,
    });
    parts.addChild(edge, 10_000);
    state.edgeUrl = `http://${host}:${config.EDGE_PORT}`;
    state.adminToken = adminToken;
    state.pids.edge = edge.pid;
  }

  await waitForHttp(`${originUrl}/v2/health/ready`, { child: origin, timeoutMs });
  log(`origin ready at ${originUrl}`);
  if (edge && state.edgeUrl) {
    await waitForHttp(`${state.edgeUrl}/v2/health/ready`, { child: edge, timeoutMs });
    log(`edge ready at ${state.edgeUrl}`);
  }

  const drainExit = drain?.exitCode();
  if (drain && drainExit !== null && drainExit !== undefined) {
    throw new Error(`usage-drain exited with code ${drainExit} during start-up`);
  }

  await writeLocalState(stateDir, state);
  printWelcome(state, stateDir);
  if (state.edgeUrl) await smokeTest(state);
}

function printWelcome(state: LocalState, stateDir: string): void {
  const example = displayPath(state.exampleRequest!);
  const lines = [''];
  if (state.edgeUrl) {
    lines.push(
      `AIServe is up. Edge: ${state.edgeUrl}   Origin: ${state.originUrl}   (state in ${displayPath(join(stateDir, 'local.json'))}; Ctrl-C stops it)`,
      '',
      'Try it through the edge with the demo key (PaddleOCR text-direction classifier; answers [p(0°), p(180°)]):',
      `  curl -s -X POST ${state.edgeUrl}/v2/models/ocr-cls/infer -H 'authorization: Bearer ${state.apiKey}' -H 'content-type: application/json' --data-binary @${example}`,
      'or with the CLI (same request, key and edge; `inference load` for a load test):',
      '  npm run cli -- inference infer ocr-cls',
    );
  } else {
    lines.push(
      `AIServe is up (origin only). Origin: ${state.originUrl}   (state in ${displayPath(join(stateDir, 'local.json'))}; Ctrl-C stops it)`,
      '',
      'Try it (PaddleOCR text-direction classifier; answers [p(0°), p(180°)]):',
      `  curl -s -X POST ${state.originUrl}/v2/models/ocr-cls/infer -H 'content-type: application/json' --data-binary @${example}`,
    );
  }
  lines.push(
    '',
    `Database: ${state.databaseUrl}${state.redisRestUrl ? `   Redis (Upstash REST): ${state.redisRestUrl}` : ''}`,
    '',
  );
  process.stdout.write(lines.join('\n'));
}

/** Runs the printed request once so a broken stack says so at start, not at the user's first curl. */
async function smokeTest(state: LocalState): Promise<void> {
  try {
    const { readFile } = await import('node:fs/promises');
    const res = await fetch(`${state.edgeUrl}/v2/models/ocr-cls/infer`, {
      method: 'POST',
      headers: { authorization: `Bearer ${state.apiKey}`, 'content-type': 'application/json' },
      body: await readFile(state.exampleRequest!),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    if (res.ok) log(`checked: the example request through the edge answers ${res.status}`);
    else log(`warning: the example request through the edge answered ${res.status}: ${text.slice(0, 300)}`);
  } catch (err) {
    log(
      `warning: the example request through the edge failed: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

async function main(): Promise<void> {
  const config = loadConfig(stackConfigSchema, process.env, 'npm start');
  const parts = new Parts();
  let stopping: Promise<void> | undefined;
  const shutdown = (code: number) => {
    stopping ??= parts.stopAll().then(() => process.exit(code));
    return stopping;
  };
  let firstSignalAt = 0;
  const onSignal = () => {
    if (stopping) {
      // A terminal's Ctrl-C reaches the whole process group and tsx relays it once more to this process, so
      // one key press arrives twice: only a later, separate signal means "stop waiting, kill everything".
      if (Date.now() - firstSignalAt < 1_000) return;
      parts.killAll();
      process.exit(1);
    }
    firstSignalAt = Date.now();
    log('stopping…');
    void shutdown(0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    await startStack(config, parts);
  } catch (err) {
    if (stopping) return;
    process.stderr.write(`npm start failed: ${err instanceof Error ? err.message : String(err)}\n`);
    await shutdown(1);
    return;
  }
  // A part that dies on its own takes the stack down with it: a half-running stack only confuses.
  for (const child of parts.children()) {
    void child.exited.then((code) => {
      if (stopping) return;
      process.stderr.write(
        `npm start: ${child.name} exited unexpectedly (code ${code}); stopping everything\n`,
      );
      void shutdown(1);
    });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`npm start failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
