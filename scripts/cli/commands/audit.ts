import { listAudit, verifyAuditChain } from '../../../drizzle/queries/audit.ts';
import { AppError } from '../../../shared/errors/app-error.ts';
import { UsageError } from '../../usage-error.ts';
import { table } from '../output.ts';
import type { CommandGroup } from '../types.ts';

export const auditGroup: CommandGroup = {
  name: 'audit',
  summary: 'the hash-chained audit log of administrative actions',
  commands: [
    {
      name: 'list',
      summary: 'audit entries, newest first',
      flags: {
        limit: { type: 'int', description: 'entries to show, 1 to 1000 (default 50)' },
        before: {
          type: 'string',
          description: 'only entries with a smaller id (the next page after that id)',
        },
        target: {
          type: 'string',
          description: 'only entries about this target, e.g. key:<prefix> or model:<name>',
        },
        action: { type: 'string', description: 'only this action, e.g. key.revoked' },
      },
      async run(ctx, { flags }) {
        const limit = (flags['limit'] as number | undefined) ?? 50;
        if (limit < 1 || limit > 1000) throw new UsageError(`--limit must be from 1 to 1000 (got ${limit})`);
        const before = flags['before'] as string | undefined;
        if (before !== undefined && !/^\d+$/.test(before))
          throw new UsageError(`--before must be an entry id (got "${before}")`);
        const rows = await listAudit(await ctx.db(), {
          limit,
          ...(before ? { beforeId: before } : {}),
          ...(flags['target'] ? { target: String(flags['target']) } : {}),
          ...(flags['action'] ? { action: String(flags['action']) } : {}),
        });
        const text = table(
          ['id', 'ts', 'actor', 'action', 'target', 'details'],
          rows.map((r) => [r.id, r.ts, r.actor, r.action, r.target, JSON.stringify(r.details)]),
        );
        return { data: rows, text };
      },
    },
    {
      name: 'verify',
      summary: 'recompute the hash chain; exits 1 naming the first altered or missing row',
      async run(ctx) {
        const result = await verifyAuditChain(await ctx.db());
        if (!result.ok) {
          // Exit 1 (INTERNAL): the log no longer matches what was written; nothing a retry could fix.
          throw new AppError(
            'INTERNAL',
            `audit chain broken at entry ${result.firstBadId}: ${result.reason} (${result.rows} entries checked)`,
          );
        }
        return { data: result, text: [`audit chain intact: ${result.rows} entries verified`] };
      },
    },
  ],
};
