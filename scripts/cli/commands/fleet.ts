import { listAudit } from '../../../drizzle/queries/audit.ts';
import { listLiveInstances, listRecentInstances } from '../../../drizzle/queries/instances.ts';
import { controlConfigSchema, providerOrder } from '../../../shared/config/control.ts';
import { loadConfig } from '../../../shared/config/load.ts';
import { AppError } from '../../../shared/errors/app-error.ts';
import { HOST_REGISTRY_ACL_RULES, hostAclSetUser } from '../../../shared/fleet/host-acl.ts';
import { listLiveOrigins } from '../../../shared/fleet/registry.ts';
import { hostCredentialWarnings, loadSavedBreakers, runReconcile } from '../../../workers/control/runner.ts';
import { UsageError } from '../../usage-error.ts';
import { table } from '../output.ts';
import type { CliContext, CommandGroup } from '../types.ts';

function needRedis(ctx: CliContext) {
  const redis = ctx.redis();
  if (!redis) {
    throw new AppError(
      'INVALID_REQUEST',
      'fleet commands need UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN (the fleet registry lives there)',
    );
  }
  return redis;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export const fleetGroup: CommandGroup = {
  name: 'fleet',
  summary: 'GPU fleet: reconcile (autoscale and launch/drain through the providers) and status',
  commands: [
    {
      name: 'reconcile',
      summary:
        'one reconcile pass: settle instances, ask the autoscaler, launch or drain, audit the decision',
      flags: {
        'dry-run': {
          type: 'boolean',
          description: 'decide and report only: no launches, drains, writes or audit',
        },
      },
      details: 'Example: npm run cli -- fleet reconcile --dry-run',
      async run(ctx, { flags }) {
        const config = loadConfig(controlConfigSchema, ctx.env, 'control');
        const report = await runReconcile(
          { db: await ctx.db(), redis: needRedis(ctx), config, actor: ctx.actor },
          { dryRun: flags['dry-run'] === true },
        );
        if (!report.ran) {
          return {
            data: report,
            text: ['another reconcile run holds the lock; nothing done'],
            warnings: ['skipped: lock held'],
          };
        }
        const d = report.decision;
        const text = [
          `${report.dryRun ? 'dry run: ' : ''}desired ${d?.desired ?? '?'}, add ${d?.add ?? 0}, drain ${d?.drain.length ?? 0}${d?.panic ? ' (panic)' : ''}: ${d?.reason ?? ''}`,
          `launched ${report.counts.launched}, launch failures ${report.counts.launchFailed}, boot timeouts ${report.counts.bootTimeouts}, terminated ${report.counts.terminated}, orphans ${report.counts.orphans}`,
          '',
          ...table(
            ['provider', 'breaker', 'instances', 'error'],
            report.providers.map((p) => [p.name, p.breaker, p.listed, p.error ?? null]),
          ),
        ];
        if (report.actions.length > 0) {
          text.push(
            '',
            ...table(
              ['action', 'instance', 'provider', 'reason'],
              report.actions.map((a) => [a.kind, a.instanceId, a.provider ?? null, a.reason]),
            ),
          );
        }
        return { data: report, text, warnings: report.dryRun ? [] : hostCredentialWarnings(config) };
      },
    },
    {
      name: 'status',
      summary:
        'instances (live and recent), providers in failover order with breaker states, registry origins',
      flags: { limit: { type: 'int', description: 'recent instances to show, 1 to 500 (default 20)' } },
      async run(ctx, { flags }) {
        const limit = (flags['limit'] as number | undefined) ?? 20;
        if (limit < 1 || limit > 500) throw new UsageError(`--limit must be from 1 to 500 (got ${limit})`);
        const config = loadConfig(controlConfigSchema, ctx.env, 'control');
        const redis = needRedis(ctx);
        const db = await ctx.db();
        const [live, recent, origins, saved, lastDecision] = await Promise.all([
          listLiveInstances(db),
          listRecentInstances(db, limit),
          listLiveOrigins(redis, Date.now()),
          loadSavedBreakers(redis),
          listAudit(db, { action: 'fleet.decision', limit: 1 }),
        ]);
        const providers = providerOrder(config).map((name) => ({
          name,
          breaker: saved?.states[name] ?? 'closed',
        }));
        const hourly = live.reduce((sum, r) => sum + (r.hourlyCostUsd ?? 0), 0);
        const data = {
          providers,
          breakersSavedAt: iso(saved?.at ?? null),
          live: live.length,
          hourlyCostUsd: Number(hourly.toFixed(4)),
          origins: origins.map((o) => ({
            id: o.id,
            status: o.status,
            inflight: o.load.inflight,
            instanceId: o.instanceId,
          })),
          instances: recent,
          lastDecision: lastDecision[0] ?? null,
        };
        const text = [
          `providers (failover order): ${providers.map((p) => `${p.name} [${p.breaker}]`).join(', ') || 'none configured'}`,
          `live instances: ${live.length}, $${hourly.toFixed(2)}/h; origins in the registry: ${origins.length}`,
          `last decision: ${lastDecision[0] ? `${lastDecision[0].ts} ${JSON.stringify((lastDecision[0].details as { decision?: unknown }).decision)}` : 'none'}`,
          '',
          ...table(
            [
              'id',
              'provider',
              'provider id',
              'region',
              'gpu',
              'status',
              '$/h',
              'launched',
              'ready',
              'ended',
              'reason',
            ],
            recent.map((r) => [
              r.id,
              r.provider,
              r.providerInstanceId,
              r.region,
              r.gpuType,
              r.status,
              r.hourlyCostUsd,
              iso(r.launchedAt),
              iso(r.readyAt),
              iso(r.terminatedAt),
              r.failureReason,
            ]),
          ),
        ];
        return { data, text };
      },
    },
    {
      name: 'host-acl',
      summary: 'the Upstash ACL user to create for GPU hosts, so their registry token reaches nothing else',
      flags: {
        user: { type: 'string', description: 'ACL user name (default aiserve-host)' },
        token: {
          type: 'string',
          description: 'the token `ACL GENTOKEN <user>` returned (default: a placeholder)',
        },
      },
      details:
        'Hosts get HOST_REGISTRY_REST_TOKEN; with the edge’s own token a marketplace host could write auth records,\n' +
        'cached answers and usage. Nothing here touches a database: it prints what to run.',
      async run(_ctx, { flags }) {
        const user = (flags['user'] as string | undefined) ?? 'aiserve-host';
        if (!/^[A-Za-z0-9_-]{1,64}$/.test(user)) {
          throw new UsageError(`--user must be letters, digits, "-" or "_" (got "${user}")`);
        }
        const token = (flags['token'] as string | undefined) ?? '<token from ACL GENTOKEN>';
        const setUser = hostAclSetUser(user, token);
        return {
          data: { user, rules: HOST_REGISTRY_ACL_RULES, setUser },
          text: [
            'In the Upstash console CLI of the edge’s database (or redis-cli against it):',
            `  ACL GENTOKEN ${user}`,
            `  ${setUser}`,
            'Then give hosts that token (usable as a REST token as it is):',
            '  npx wrangler secret put HOST_REGISTRY_REST_TOKEN --env production',
          ],
        };
      },
    },
  ],
};
