import { ERROR_CODES, type ErrorCode } from '../../../shared/errors/codes.ts';
import { AppError } from '../../../shared/errors/index.ts';
import { UsageError } from '../../usage-error.ts';
import { type LoadSummary, runClosedLoop } from '../inference/closed-loop.ts';
import { InferenceSender, type Outcome } from '../inference/send.ts';
import { resolveBody, resolveTarget } from '../inference/target.ts';
import type { CommandGroup, FlagSpec, FlagValues } from '../types.ts';

const targetFlags = {
  url: { type: 'string', description: 'edge URL (default: AISERVE_EDGE_URL, else the local stack’s)' },
  key: { type: 'string', description: 'API key (default: AISERVE_API_KEY, else the local demo key)' },
  version: { type: 'string', description: 'model version (default: the origin’s choice)' },
  body: {
    type: 'string',
    description:
      'file with the Open Inference Protocol request (default: the local stack’s example for the model)',
  },
  data: { type: 'string', description: 'the request as inline JSON instead of --body' },
  'no-cache': {
    type: 'boolean',
    description: 'send Cache-Control: no-store, so every request reaches an origin (X-Cache: BYPASS)',
  },
  'timeout-ms': { type: 'int', description: 'per-request timeout in ms (default 30000)' },
} satisfies Record<string, FlagSpec>;

const LIMITS = { concurrency: 256, durationS: 600, requests: 10_000_000, timeoutMs: 600_000 };

function bounded(flags: FlagValues, name: string, fallback: number, max: number): number {
  const v = flags[name] === undefined ? fallback : Number(flags[name]);
  if (!Number.isInteger(v) || v < 1 || v > max) {
    throw new UsageError(`--${name} must be an integer from 1 to ${max} (got ${String(flags[name])})`);
  }
  return v;
}

/** The target, and a sender with `connections` kept-alive connections to it. */
function senderFor(
  env: Record<string, string | undefined>,
  model: string,
  flags: FlagValues,
  connections: number,
): { sender: InferenceSender; origin: string } {
  const target = resolveTarget(flags, env, model);
  const body = resolveBody(flags, env, model);
  const timeoutMs = bounded(flags, 'timeout-ms', 30_000, LIMITS.timeoutMs);
  const noCache = Boolean(flags['no-cache']);
  return {
    sender: new InferenceSender(target, body, { connections, noCache, timeoutMs }),
    origin: target.origin,
  };
}

/** A failed answer as the CLI's error (exit code by kind: 2 bad input, 3 unknown model, 5 unreachable). */
function failure(outcome: Outcome): AppError {
  if (outcome.status === null) return new AppError('DEPENDENCY_UNAVAILABLE', outcome.error ?? 'no answer');
  let code: ErrorCode = outcome.status >= 500 ? 'UPSTREAM_ERROR' : 'INVALID_REQUEST';
  try {
    const parsed = JSON.parse(outcome.text) as { code?: string };
    if (parsed.code && parsed.code in ERROR_CODES) code = parsed.code as ErrorCode;
  } catch {
    // Not a JSON error body: keep the status's kind.
  }
  return new AppError(code, `the edge answered ${outcome.error}`);
}

function tensorLine(o: { name?: string; datatype?: string; shape?: number[]; data?: unknown[] }): string {
  const data = Array.isArray(o.data) ? o.data : [];
  const shown = data.slice(0, 8).map((v) => (typeof v === 'number' ? Number(v.toPrecision(6)) : v));
  const more = data.length > shown.length ? `, … (${data.length} values)` : '';
  return `output ${o.name ?? '?'} ${o.datatype ?? '?'} [${(o.shape ?? []).join(',')}]: ${shown.join(', ')}${more}`;
}

function counts(c: Record<string, number>): string {
  const entries = Object.entries(c);
  return entries.length ? entries.map(([k, v]) => `${k} ${v}`).join(' · ') : '-';
}

function summaryText(model: string, origin: string, concurrency: number, s: LoadSummary): string[] {
  const l = s.latency;
  return [
    `${model} through ${origin}: ${concurrency} clients, ${(s.durationMs / 1000).toFixed(1)} s`,
    `requests ${s.requests} (${s.requestsPerSecond.toFixed(1)}/s), errors ${s.errors}`,
    `latency of successes: p50 ${l.p50Ms.toFixed(2)} ms · p90 ${l.p90Ms.toFixed(2)} ms · p99 ${l.p99Ms.toFixed(2)} ms · max ${l.maxMs.toFixed(2)} ms`,
    `status: ${counts(s.statuses)}`,
    `X-Cache: ${counts(s.xCache)}`,
    ...(s.firstError ? [`first error: ${s.firstError}`] : []),
  ];
}

export const inferenceGroup: CommandGroup = {
  name: 'inference',
  summary: 'invoke a model through the edge, and load-test it',
  commands: [
    {
      name: 'infer',
      summary: 'send one inference request through the edge and print the outputs, X-Cache and latency',
      positionals: [{ name: 'model', description: 'model name', required: true }],
      flags: targetFlags,
      details: [
        'examples:',
        '  npm run cli -- inference infer ocr-cls            (the local stack, its demo key and example)',
        '  npm run cli -- inference infer my-model --url https://api.example.com --key $KEY --body req.json',
      ].join('\n'),
      async run(ctx, { positionals, flags }) {
        const model = positionals[0]!;
        const { sender } = senderFor(ctx.env, model, flags, 1);
        try {
          const outcome = await sender.send();
          if (outcome.error !== null) throw failure(outcome);
          const body = JSON.parse(outcome.text) as { outputs?: Parameters<typeof tensorLine>[0][] };
          return {
            data: {
              status: outcome.status,
              xCache: outcome.xCache,
              requestId: outcome.requestId,
              latencyMs: Number(outcome.latencyMs.toFixed(3)),
              response: body,
            },
            text: [
              `HTTP ${outcome.status} · X-Cache ${outcome.xCache ?? '-'} · ${outcome.latencyMs.toFixed(1)} ms · request id ${outcome.requestId ?? '-'}`,
              ...(body.outputs ?? []).map(tensorLine),
            ],
          };
        } finally {
          await sender.close();
        }
      },
    },
    {
      name: 'load',
      summary: 'a closed-loop load test of one request through the edge, with progress every second',
      positionals: [{ name: 'model', description: 'model name', required: true }],
      flags: {
        ...targetFlags,
        concurrency: {
          type: 'int',
          description: `clients sending at once (default 8, at most ${LIMITS.concurrency})`,
        },
        'duration-s': {
          type: 'int',
          description: `seconds to run (default 10, at most ${LIMITS.durationS})`,
        },
        requests: { type: 'int', description: 'stop after this many requests, even before the duration' },
      },
      details: [
        'Answers from the edge cache are counted like any other; --no-cache makes every request reach an origin.',
        'examples:',
        '  npm run cli -- inference load ocr-cls --concurrency 16 --duration-s 20',
        '  npm run cli -- inference load ocr-cls --no-cache --requests 500 --json',
      ].join('\n'),
      async run(ctx, { positionals, flags }) {
        const model = positionals[0]!;
        const concurrency = bounded(flags, 'concurrency', 8, LIMITS.concurrency);
        const durationS = bounded(flags, 'duration-s', 10, LIMITS.durationS);
        const maxRequests =
          flags['requests'] === undefined ? null : bounded(flags, 'requests', 1, LIMITS.requests);
        const { sender, origin } = senderFor(ctx.env, model, flags, concurrency);
        ctx.progress(`load: ${model} through ${origin}, ${concurrency} clients, up to ${durationS} s`);
        let summary: LoadSummary;
        try {
          summary = await runClosedLoop(
            { concurrency, durationMs: durationS * 1000, maxRequests, progressEveryMs: 1000 },
            () => sender.send(),
            {
              onProgress: (p) =>
                ctx.progress(
                  `[${(p.elapsedMs / 1000).toFixed(0)}s] ${p.requests} requests, ${p.recentRate.toFixed(0)}/s, ${p.errors} errors`,
                ),
            },
          );
        } finally {
          await sender.close();
        }
        if (summary.requests > 0 && summary.errors === summary.requests && summary.statuses['error']) {
          throw new AppError('DEPENDENCY_UNAVAILABLE', `every request failed; first: ${summary.firstError}`);
        }
        return {
          data: { model, url: origin, concurrency, ...summary },
          text: summaryText(model, origin, concurrency, summary),
        };
      },
    },
  ],
};
