import type { Database } from '../../../drizzle/client/types.ts';
import { findTenantByRef } from '../../../drizzle/queries/tenants.ts';
import { listUsageEvents, type UsageAggregate, usageReport } from '../../../drizzle/queries/usage.ts';
import { AppError } from '../../../shared/errors/app-error.ts';
import { UsageError } from '../../usage-error.ts';
import { table } from '../output.ts';
import type { CommandGroup, FlagSpec, FlagValues } from '../types.ts';

const rangeFlags = {
  tenant: { type: 'string', required: true, description: 'tenant name or id' },
  from: { type: 'string', required: true, description: 'start of the range, ISO 8601 (inclusive)' },
  to: { type: 'string', required: true, description: 'end of the range, ISO 8601 (exclusive)' },
} satisfies Record<string, FlagSpec>;

function parseTime(flag: string, raw: unknown): Date {
  const text = String(raw);
  // A date or date-time; Date.parse alone would also take "1" or "March".
  if (!/^\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?)?$/.test(text)) {
    throw new UsageError(
      `--${flag} must be an ISO 8601 date or time, e.g. 2026-11-01 or 2026-11-01T12:00:00Z (got "${text}")`,
    );
  }
  const d = new Date(/^\d{4}-\d\d-\d\d$/.test(text) ? `${text}T00:00:00Z` : text);
  if (Number.isNaN(d.getTime())) throw new UsageError(`--${flag} is not a real date (got "${text}")`);
  return d;
}

async function resolveRange(db: Database, flags: FlagValues) {
  const from = parseTime('from', flags['from']);
  const to = parseTime('to', flags['to']);
  if (from.getTime() >= to.getTime()) throw new UsageError('--from must be before --to');
  const ref = String(flags['tenant']);
  const tenant = await findTenantByRef(db, ref);
  if (!tenant) throw new AppError('NOT_FOUND', `no tenant "${ref}"`);
  return { tenant, from, to };
}

const pct = (r: number | null) => (r === null ? null : `${(r * 100).toFixed(1)}%`);
const ms = (v: number | null) => (v === null ? null : v.toFixed(1));

function line(label: string, a: UsageAggregate): (string | number | null)[] {
  return [
    label,
    a.requests,
    a.items,
    pct(a.cacheHitRatio),
    a.clientErrors,
    a.serverErrors,
    ms(a.p50LatencyMs),
    ms(a.p95LatencyMs),
  ];
}

export const usageGroup: CommandGroup = {
  name: 'usage',
  summary: 'usage reports and listings from the usage_events table',
  commands: [
    {
      name: 'report',
      summary:
        'requests, items, cache hit ratio, errors and p50/p95 latency for a tenant, in total and by model',
      flags: rangeFlags,
      details: 'example: npm run cli -- usage report --tenant acme --from 2026-11-01 --to 2026-12-01',
      async run(ctx, { flags }) {
        const db = await ctx.db();
        const { tenant, from, to } = await resolveRange(db, flags);
        const report = await usageReport(db, { tenantId: tenant.id, from, to });
        const data = { tenant: { id: tenant.id, name: tenant.name }, ...report };
        const text = [
          `tenant ${tenant.name} (${tenant.id}), ${report.from} to ${report.to}`,
          ...table(
            ['model', 'requests', 'items', 'cache hits', '4xx', '5xx', 'p50 ms', 'p95 ms'],
            [line('(all)', report.totals), ...report.byModel.map((m) => line(m.model ?? '(none)', m))],
          ),
        ];
        return { data, text };
      },
    },
    {
      name: 'list',
      summary: 'the raw usage events of a tenant, newest first, a page at a time',
      flags: {
        ...rangeFlags,
        limit: { type: 'int', description: 'events per page, 1 to 1000 (default 100)' },
        cursor: { type: 'string', description: 'the next-page cursor printed by the previous page' },
      },
      async run(ctx, { flags }) {
        const db = await ctx.db();
        const { tenant, from, to } = await resolveRange(db, flags);
        const limit = (flags['limit'] as number | undefined) ?? 100;
        if (limit < 1 || limit > 1000) throw new UsageError(`--limit must be from 1 to 1000 (got ${limit})`);
        const page = await listUsageEvents(db, {
          tenantId: tenant.id,
          from,
          to,
          limit,
          cursor: (flags['cursor'] as string | undefined) ?? null,
        });
        const text = table(
          ['ts', 'model', 'route', 'status', 'ms', 'cache', 'items', 'request id'],
          page.events.map((e) => [
            e.ts,
            e.model,
            e.route,
            e.status,
            e.latencyMs,
            e.cache,
            e.items,
            e.requestId,
          ]),
        );
        if (page.nextCursor) text.push(`next page: --cursor ${page.nextCursor}`);
        return { data: page, text };
      },
    },
  ],
};
