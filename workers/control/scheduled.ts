import { controlConfigSchema, providerOrder } from '../../shared/config/control.ts';
import { loadConfig } from '../../shared/config/load.ts';
import { stringBindings } from '../config.ts';
import type { EdgeLogger } from '../observability/logger.ts';
import type { DatabaseSource } from '../stores/database/database-source.ts';
import type { ControlRedis } from './fleet-state.ts';
import { type ControlServices, hostCredentialWarnings, runReconcile } from './runner.ts';

export interface ScheduledDeps {
  env: Record<string, unknown>;
  database: DatabaseSource | null;
  redis: ControlRedis | null;
  logger: EdgeLogger;
  /** Test seam: the reconcile pass (default: the real runner). */
  reconcile?: typeof runReconcile;
}

export type ScheduledOutcome =
  | { ran: true; summary: Record<string, unknown> }
  | { ran: false; reason: string };

/**
 * The Cron Trigger's fleet reconcile: the same runner as `npm run cli -- fleet reconcile`, on the edge's own
 * database and Redis. Without either there is no fleet to manage, so the pass is skipped with a log line
 * rather than failing every minute; a bad control configuration or a failing pass throws (the Workers
 * dashboard shows the failed invocation).
 */
export async function runScheduledReconcile(deps: ScheduledDeps): Promise<ScheduledOutcome> {
  if (!deps.database || !deps.redis) {
    const reason = `fleet reconcile needs ${[deps.database ? null : 'DATABASE_URL', deps.redis ? null : 'UPSTASH_REDIS_REST_URL'].filter(Boolean).join(' and ')}`;
    deps.logger.warn({ reason }, 'scheduled: fleet reconcile skipped');
    return { ran: false, reason };
  }
  const config = loadConfig(controlConfigSchema, stringBindings(deps.env), 'control');
  // A fleet of static or self-registering origins has no provider to rent from; the same Cron Trigger also
  // drains usage, so a deployment without a control plane must not fail every invocation.
  if (providerOrder(config).length === 0) {
    const reason = 'no GPU provider is configured (CONTROL_PROVIDERS or a provider API key)';
    deps.logger.info({ reason }, 'scheduled: fleet reconcile skipped');
    return { ran: false, reason };
  }
  const reconcile = deps.reconcile ?? runReconcile;
  const redis = deps.redis;
  const report = await deps.database.use((handle) => {
    const services: ControlServices = { db: handle.primary, redis, config, actor: 'cron' };
    return reconcile(services);
  });
  const summary = {
    ran: report.ran,
    desired: report.decision?.desired ?? null,
    add: report.decision?.add ?? 0,
    drain: report.decision?.drain.length ?? 0,
    counts: report.counts,
  };
  deps.logger.info(summary, 'scheduled: fleet reconcile done');
  for (const warning of hostCredentialWarnings(config))
    deps.logger.warn({ warning }, 'scheduled: host credentials');
  return { ran: true, summary };
}
