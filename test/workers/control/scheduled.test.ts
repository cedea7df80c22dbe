import { describe, expect, it } from 'vitest';
import type { ReconcileReport } from '../../../workers/control/reconcile/pass-state.ts';
import type { ControlServices } from '../../../workers/control/runner.ts';
import { runScheduledReconcile } from '../../../workers/control/scheduled.ts';
import type { EdgeLogger } from '../../../workers/observability/logger.ts';
import type { DatabaseSource } from '../../../workers/stores/database/database-source.ts';

function recordingLogger(
  lines: { level: string; fields: Record<string, unknown>; msg: string }[],
): EdgeLogger {
  const at =
    (level: string) =>
    (fields: Record<string, unknown>, msg: string): void => {
      lines.push({ level, fields, msg });
    };
  const logger: EdgeLogger = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  };
  return logger;
}

const primary = { marker: 'primary' };
const database = {
  use: async <T>(fn: (h: never) => Promise<T>) => fn({ primary } as never),
} as unknown as DatabaseSource;
const redis = { get: async () => null } as never;

const report: ReconcileReport = {
  dryRun: false,
  nowMs: 0,
  ran: true,
  decision: null,
  actions: [],
  counts: { launched: 1, launchFailed: 0, bootTimeouts: 0, terminated: 0, orphans: 0 },
  providers: [],
};

describe('scheduled fleet reconcile (Cron Trigger)', () => {
  it('skips with a warning naming what is missing when the edge has no database or Redis', async () => {
    const lines: { level: string; fields: Record<string, unknown>; msg: string }[] = [];
    const outcome = await runScheduledReconcile({
      env: {},
      database: null,
      redis: null,
      logger: recordingLogger(lines),
      reconcile: async () => {
        throw new Error('must not run');
      },
    });
    expect(outcome).toEqual({
      ran: false,
      reason: 'fleet reconcile needs DATABASE_URL and UPSTASH_REDIS_REST_URL',
    });
    expect(lines).toEqual([
      expect.objectContaining({ level: 'warn', msg: 'scheduled: fleet reconcile skipped' }),
    ]);
  });

  it('runs the real runner’s entry on the primary with the control config from the bindings, as actor cron', async () => {
    const seen: ControlServices[] = [];
    const lines: { level: string; fields: Record<string, unknown>; msg: string }[] = [];
    const outcome = await runScheduledReconcile({
      env: { CONTROL_PROVIDERS: 'runpod', RUNPOD_API_KEY: 'k', NOT_A_STRING: 42 },
      database,
      redis,
      logger: recordingLogger(lines),
      reconcile: async (services) => {
        seen.push(services);
        return report;
      },
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.db).toBe(primary);
    expect(seen[0]!.actor).toBe('cron');
    expect(outcome).toMatchObject({ ran: true, summary: { ran: true, counts: { launched: 1 } } });
    expect(lines.at(-1)).toMatchObject({ level: 'info', msg: 'scheduled: fleet reconcile done' });
  });

  it('warns when launched hosts would get the edge’s own Upstash token, and not once a host token is set', async () => {
    const run = async (env: Record<string, string>) => {
      const lines: { level: string; fields: Record<string, unknown>; msg: string }[] = [];
      await runScheduledReconcile({
        env,
        database,
        redis,
        logger: recordingLogger(lines),
        reconcile: async () => report,
      });
      return lines.filter((l) => l.msg === 'scheduled: host credentials');
    };
    const upstash = {
      RUNPOD_API_KEY: 'k',
      UPSTASH_REDIS_REST_URL: 'https://db.upstash.io',
      UPSTASH_REDIS_REST_TOKEN: 'edge-token',
    };
    const shared = await run(upstash);
    expect(shared).toHaveLength(1);
    expect(String(shared[0]!.fields['warning'])).toContain('fleet host-acl');
    expect(await run({ ...upstash, HOST_REGISTRY_REST_TOKEN: 'restricted' })).toEqual([]);
  });

  it('skips without failing when no GPU provider is configured, so the same cron can drain usage', async () => {
    const lines: { level: string; fields: Record<string, unknown>; msg: string }[] = [];
    const outcome = await runScheduledReconcile({
      env: {},
      database,
      redis,
      logger: recordingLogger(lines),
      reconcile: async () => {
        throw new Error('cannot launch hosts without CONTROL_ORIGIN_IMAGE');
      },
    });
    expect(outcome).toEqual({
      ran: false,
      reason: 'no GPU provider is configured (CONTROL_PROVIDERS or a provider API key)',
    });
    expect(lines).toEqual([
      expect.objectContaining({ level: 'info', msg: 'scheduled: fleet reconcile skipped' }),
    ]);
  });

  it('fails loudly on an invalid control configuration instead of running', async () => {
    await expect(
      runScheduledReconcile({
        env: { CONTROL_PROVIDERS: 'nope' },
        database,
        redis,
        logger: recordingLogger([]),
        reconcile: async () => report,
      }),
    ).rejects.toThrow(/nope/);
  });
});
