import type { LoadResult } from './load.ts';

export interface ScenarioResult extends LoadResult {
  name: string;
  kind: 'bare' | 'hit' | 'miss';
  store: 'memory' | 'redis' | null;
  /** requests/s of this scenario over bare Hono's. */
  ratioToBare: number;
}

/** requests/s of one alternation round; `ratio` is hit over bare. */
export interface HitRound {
  bare: number;
  bareHeaders: number;
  hit: number;
  ratio: number;
}

export interface EdgeBenchResults {
  machine: {
    cpuModel: string;
    cpuCount: number;
    totalMemGiB: number;
    loadAvg1mAtStart: number;
    node: string;
    date: string;
    gitCommit: string | null;
  };
  settings: Record<string, unknown>;
  scenarios: ScenarioResult[];
  /** Bare Hono (plain and with the edge's headers) and the in-memory hit path, round by round (they alternate). */
  hitRounds: HitRound[];
  targets: { name: string; pass: boolean; detail: string }[];
  allTargetsPass: boolean;
}

const f = (n: number, digits = 2) => n.toFixed(digits);

function cpuCell(x: ScenarioResult): string {
  const c = x.cpuUsPerRequest;
  if (!c) return 'n/a';
  return `${c.server === null ? 'n/a' : f(c.server, 0)} / ${f(c.loadgen, 0)} / ${f(c.other, 0)}`;
}

export function renderMarkdown(r: EdgeBenchResults): string {
  const m = r.machine;
  const s = r.settings;
  const lines = [
    '## Edge benchmark (Node, `npm run bench:edge`)',
    '',
    `${m.cpuModel} × ${m.cpuCount}, Node ${m.node}, ${m.date.slice(0, 10)}${m.gitCommit ? `, commit ${m.gitCommit}` : ''}, load average ${f(m.loadAvg1mAtStart)} at start. ` +
      `${s.clients} closed-loop clients, ${s.warmupMs} ms warm-up + ${s.durationMs} ms measured per run; bare Hono, bare Hono answering with the edge's own response headers (what those headers cost by themselves) and the in-memory hit path alternate for ${s.rounds} runs each, the other scenarios run once; every server in its own process, load generator on the same machine; database: ${s.database}. CPU per request is read from /proc over the measured windows; the rest of the machine is every other process (PostgreSQL, Redis, the Upstash bridge, the stub origin).`,
    '',
    '| Scenario | req/s | p50 ms | p99 ms | × bare Hono | CPU µs/req: server / load generator / rest of machine | X-Cache seen | Errors |',
    '|---|---:|---:|---:|---:|---:|---|---:|',
    ...r.scenarios.map(
      (x) =>
        `| ${x.name} | ${f(x.requestsPerSecond, 1)} | ${f(x.latency.p50Ms, 3)} | ${f(x.latency.p99Ms, 3)} | ${f(x.ratioToBare, 3)} | ${cpuCell(x)} | ${
          Object.entries(x.xCache)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ') || '-'
        } | ${x.errors} |`,
    ),
    '',
    ...(s.redisSkipped ? [`Redis-backed store not measured: ${s.redisSkipped}.`, ''] : []),
    "**Bare Hono, bare Hono with the edge's headers, and the hit path (in-memory store), round by round**",
    '',
    "| Round | bare Hono req/s | with the edge's headers req/s | hit req/s | hit × bare |",
    '|---:|---:|---:|---:|---:|',
    ...r.hitRounds.map(
      (x, i) => `| ${i + 1} | ${f(x.bare, 1)} | ${f(x.bareHeaders, 1)} | ${f(x.hit, 1)} | ${f(x.ratio, 3)} |`,
    ),
    '',
    '**Targets**',
    '',
    '| Target | Result | Measured |',
    '|---|---|---|',
    ...r.targets.map((t) => `| ${t.name} | ${t.pass ? 'PASS' : 'FAIL'} | ${t.detail} |`),
    '',
  ];
  return lines.join('\n');
}
