import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { Redis as IORedis } from 'ioredis';
import { round } from '../measure/stats.ts';
import {
  type LoadOptions,
  type LoadResult,
  type OutgoingRequest,
  runAlternating,
  runClosedLoop,
} from './load.ts';
import { type EdgeBenchResults, type HitRound, renderMarkdown, type ScenarioResult } from './report.ts';
import {
  type BenchDatabase,
  ROOT,
  type Server,
  setUpDatabase,
  startHelper,
  startNodeEdgeProcess,
} from './setup.ts';

/**
 * `npm run bench:edge`: a bare Hono handler, the full edge middleware chain on a cache hit, and a cache miss
 * through to a stub origin, each served by its own process (the edge as `npm run edge:node` runs it) and
 * driven by a closed-loop load generator on the same machine. Once with the in-memory stores, once with Redis
 * behind the local Upstash REST bridge. Results: bench/results/edge.{json,md}.
 */

const env = process.env;
const num = (name: string, fallback: number) => {
  const v = Number(env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};
const SETTINGS = {
  clients: num('BENCH_EDGE_CLIENTS', 16),
  warmupMs: num('BENCH_EDGE_WARMUP_MS', 2_000),
  durationMs: num('BENCH_EDGE_DURATION_MS', 5_000),
  /** Bare Hono and the edge's hit path alternate this many times (each round: warm-up + duration). */
  rounds: num('BENCH_EDGE_ROUNDS', 3),
  redisUrl: env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/13',
  pgAdminUrl: env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
};
const MODEL_PATH = '/v2/models/bench/infer';
const log = (line: string) => process.stdout.write(`bench:edge: ${line}\n`);

function body(values: number[]): string {
  return JSON.stringify({
    inputs: [{ name: 'x', datatype: 'FP32', shape: [1, values.length], data: values }],
  });
}

function headers(apiKey: string): Record<string, string> {
  return { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
}

const expectStatus = (status: number) => (s: number) =>
  s === status ? null : `HTTP ${s} (expected ${status})`;

function expectCache(prefix: string) {
  return (status: number, h: Record<string, string | string[] | undefined>) => {
    if (status !== 200) return `HTTP ${status}`;
    const x = h['x-cache'];
    return typeof x === 'string' && x.startsWith(prefix)
      ? null
      : `X-Cache ${String(x)} (expected ${prefix}…)`;
  };
}

function loadOptions(
  server: Server,
  request: (n: number) => OutgoingRequest,
  check: (status: number, h: Record<string, string | string[] | undefined>) => string | null,
): LoadOptions {
  return {
    baseUrl: server.url,
    serverPid: server.child.pid,
    clients: SETTINGS.clients,
    warmupMs: SETTINGS.warmupMs,
    durationMs: SETTINGS.durationMs,
    request,
    check,
  };
}

function load(
  server: Server,
  request: (n: number) => OutgoingRequest,
  check: (status: number, h: Record<string, string | string[] | undefined>) => string | null,
): Promise<LoadResult> {
  return runClosedLoop(loadOptions(server, request, check));
}

/** A primed hit: its X-Cache value and the headers the edge answered with. */
interface Primed {
  xCache: string;
  headers: Record<string, string>;
}

/** Sends the hit body until the edge answers it from its cache (the first answer fills it in the background). */
async function prime(edge: Server, req: OutgoingRequest): Promise<Primed> {
  const deadline = Date.now() + 10_000;
  let last = '';
  while (Date.now() < deadline) {
    const res = await fetch(`${edge.url}${req.path}`, {
      method: 'POST',
      headers: req.headers,
      body: req.body,
    });
    const text = await res.text();
    const xCache = res.headers.get('x-cache');
    last = `HTTP ${res.status} X-Cache ${xCache}: ${text.slice(0, 200)}`;
    if (res.status === 200 && xCache?.startsWith('HIT')) {
      return { xCache, headers: Object.fromEntries(res.headers) };
    }
    if (res.status !== 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the edge never answered the hit body from its cache (last: ${last})\n${edge.tail()}`);
}

/** Headers Node's HTTP server or Hono write for any JSON answer, bare Hono's included. */
const ANY_ANSWER_HEADERS = new Set(['connection', 'keep-alive', 'date', 'content-length', 'content-type']);

/** The headers the edge adds to a hit: what bare Hono answers with in the `bare-headers` reference. */
function edgeOwnHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !ANY_ANSWER_HEADERS.has(name)));
}

interface EdgeRun {
  hit: LoadResult;
  miss: LoadResult;
  /** Bare Hono's merged result when it alternated with this edge's hit path, else null. */
  bare: LoadResult | null;
  /** Bare Hono answering with the edge's own headers, alternated likewise, else null. */
  bareHeaders: { result: LoadResult; count: number } | null;
  rounds: HitRound[];
}

/**
 * The hit path, then the miss path, of one edge process. With `alternateWith`, the hit path alternates with
 * bare Hono and with bare Hono answering the edge's headers for SETTINGS.rounds rounds, all reported from those.
 */
async function edgeScenarios(
  store: 'memory' | 'redis',
  edgeEnv: Record<string, string>,
  apiKey: string,
  alternateWith?: { bare: Server; bareReq: OutgoingRequest },
): Promise<EdgeRun> {
  const edge = await startNodeEdgeProcess(`edge-${store}`, edgeEnv);
  let bareHeadersServer: Server | null = null;
  try {
    const salt = randomBytes(4).readUInt32LE(0);
    const hitReq = { path: MODEL_PATH, headers: headers(apiKey), body: body([0.1, 0.2, 0.3, salt]) };
    const primed = await prime(edge, hitReq);
    const hitOptions = loadOptions(edge, () => hitReq, expectCache('HIT'));
    let run: Omit<EdgeRun, 'miss'>;
    if (alternateWith) {
      const own = edgeOwnHeaders(primed.headers);
      bareHeadersServer = await startHelper('bare-headers', { BENCH_RESPONSE_HEADERS: JSON.stringify(own) });
      log(
        `${store}: cache primed (${primed.xCache}); bare Hono, bare Hono with the edge's ${Object.keys(own).length} headers and the hit path, ${SETTINGS.rounds} rounds each`,
      );
      const bareOptions = (server: Server) =>
        loadOptions(server, () => alternateWith.bareReq, expectStatus(200));
      const alt = await runAlternating(
        [bareOptions(alternateWith.bare), bareOptions(bareHeadersServer), hitOptions],
        SETTINGS.rounds,
      );
      const [bare, withHeaders, hit] = alt.results as [LoadResult, LoadResult, LoadResult];
      const rounds = alt.rounds.map(([b = 0, h = 0, x = 0]) => ({
        bare: b,
        bareHeaders: h,
        hit: x,
        ratio: round(x / b, 3),
      }));
      for (const r of rounds) {
        log(
          `${store}: round: bare ${r.bare} req/s, with the edge's headers ${r.bareHeaders} req/s, hit ${r.hit} req/s (× ${r.ratio})`,
        );
      }
      run = { hit, bare, bareHeaders: { result: withHeaders, count: Object.keys(own).length }, rounds };
    } else {
      log(`${store}: cache primed (${primed.xCache}); measuring the hit path`);
      run = { hit: await runClosedLoop(hitOptions), bare: null, bareHeaders: null, rounds: [] };
    }
    log(`${store}: hit ${run.hit.requestsPerSecond} req/s; measuring the miss path`);
    const miss = await load(
      edge,
      (n) => ({ path: MODEL_PATH, headers: headers(apiKey), body: body([n, salt, 0.5, 0.25]) }),
      expectCache('MISS'),
    );
    log(`${store}: miss ${miss.requestsPerSecond} req/s`);
    return { ...run, miss };
  } finally {
    await bareHeadersServer?.stop();
    await edge.stop();
  }
}

/** The hit and miss scenarios of one edge run, each with its ratio to bare Hono. */
function edgeResults(store: 'memory' | 'redis', run: EdgeRun, bareRps: number): ScenarioResult[] {
  const ratio = (r: LoadResult) => round(r.requestsPerSecond / bareRps, 3);
  return [
    { name: `edge, cache hit (${store} store)`, kind: 'hit', store, ...run.hit, ratioToBare: ratio(run.hit) },
    {
      name: `edge, cache miss to stub origin (${store} store)`,
      kind: 'miss',
      store,
      ...run.miss,
      ratioToBare: ratio(run.miss),
    },
  ];
}

async function redisReachable(url: string): Promise<IORedis | null> {
  const client = new IORedis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return client;
  } catch {
    client.disconnect();
    return null;
  }
}

function gitCommit(): string | null {
  try {
    return execSync('git rev-parse --short HEAD', { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const machine = {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cpuCount: cpus().length,
    totalMemGiB: round(totalmem() / 2 ** 30, 1),
    loadAvg1mAtStart: round(loadavg()[0] ?? 0, 2),
    node: process.version,
    date: new Date().toISOString(),
    gitCommit: gitCommit(),
  };
  log(
    `${machine.cpuModel} × ${machine.cpuCount}, load average ${machine.loadAvg1mAtStart}, ${SETTINGS.clients} clients, ${SETTINGS.warmupMs} ms warm-up + ${SETTINGS.durationMs} ms per scenario`,
  );
  const servers: Server[] = [];
  let db: BenchDatabase | null = null;
  let redis: IORedis | null = null;
  try {
    db = await setUpDatabase(SETTINGS.pgAdminUrl, log);
    log(`database: ${db.kind}`);
    const stub = await startHelper('stub-origin');
    servers.push(stub);
    const edgeEnv: Record<string, string> = {
      LOG_LEVEL: 'warn',
      ENVIRONMENT: 'dev',
      DATABASE_URL: db.url,
      STATIC_ORIGINS: `stub=${stub.url}`,
      ORIGIN_SIGNING_KEY: `bench:${randomBytes(24).toString('hex')}`,
    };

    const bare = await startHelper('bare');
    servers.push(bare);
    const bareReq = { path: MODEL_PATH, headers: headers(db.apiKey), body: body([0.1, 0.2, 0.3, 0.4]) };
    const memoryRun = await edgeScenarios('memory', edgeEnv, db.apiKey, { bare, bareReq });
    await bare.stop();
    servers.pop();
    const bareRun = memoryRun.bare!;
    log(`bare Hono ${bareRun.requestsPerSecond} req/s`);
    const withHeaders = memoryRun.bareHeaders!;
    const scenarios: ScenarioResult[] = [
      { name: 'bare Hono handler', kind: 'bare', store: null, ...bareRun, ratioToBare: 1 },
      {
        name: `bare Hono handler answering with the edge's ${withHeaders.count} headers`,
        kind: 'bare',
        store: null,
        ...withHeaders.result,
        ratioToBare: round(withHeaders.result.requestsPerSecond / bareRun.requestsPerSecond, 3),
      },
      ...edgeResults('memory', memoryRun, bareRun.requestsPerSecond),
    ];

    let redisSkipped: string | null = null;
    redis = await redisReachable(SETTINGS.redisUrl);
    if (!redis) {
      redisSkipped = `no Redis at ${SETTINGS.redisUrl}`;
      log(`Redis store skipped: ${redisSkipped}`);
    } else {
      await redis.flushdb();
      const token = randomBytes(24).toString('hex');
      const bridge = await startHelper('bridge', {
        BENCH_REDIS_URL: SETTINGS.redisUrl,
        BENCH_BRIDGE_TOKEN: token,
      });
      servers.push(bridge);
      const redisRun = await edgeScenarios(
        'redis',
        { ...edgeEnv, UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: token },
        db.apiKey,
      );
      scenarios.push(...edgeResults('redis', redisRun, bareRun.requestsPerSecond));
    }

    const memoryHit = scenarios.find((s) => s.kind === 'hit' && s.store === 'memory')!;
    const failed = scenarios.filter((s) => s.errors > 0);
    const targets = [
      {
        name: 'cache-hit path (in-memory store) ≥ 0.5 × bare Hono requests/s',
        pass: memoryHit.ratioToBare >= 0.5,
        detail: `${memoryHit.requestsPerSecond} vs 0.5 × ${bareRun.requestsPerSecond} = ${round(bareRun.requestsPerSecond / 2, 1)} req/s (× ${memoryHit.ratioToBare})`,
      },
      {
        name: 'no failed requests',
        pass: failed.length === 0,
        detail:
          failed.length === 0
            ? '0 errors'
            : failed.map((s) => `${s.name}: ${s.errors} (${s.firstError})`).join('; '),
      },
    ];
    const results: EdgeBenchResults = {
      machine,
      settings: { ...SETTINGS, database: db.kind, redisSkipped },
      scenarios,
      hitRounds: memoryRun.rounds,
      targets,
      allTargetsPass: targets.every((t) => t.pass),
    };
    const dir = join(ROOT, 'bench/results');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'edge.json'), `${JSON.stringify(results, null, 2)}\n`);
    const md = renderMarkdown(results);
    await writeFile(join(dir, 'edge.md'), md);
    process.stdout.write(`\n${md}\n`);
    log('wrote bench/results/edge.json and edge.md');
    // A missed target is a result, not a failure of the run (as in bench:origin): `npm run bench` goes on.
    for (const t of targets) log(`${t.pass ? 'PASS' : 'FAIL'}  ${t.name}: ${t.detail}`);
  } finally {
    for (const s of servers.reverse()) await s.stop().catch(() => {});
    if (redis) {
      await redis.flushdb().catch(() => {});
      redis.disconnect();
    }
    await db?.drop().catch(() => {});
  }
}

main().catch((err) => {
  process.stderr.write(
    `bench:edge failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
