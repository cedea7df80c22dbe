import { listPartitions, runPartitionMaintenance } from '../../../drizzle/maintenance/partitions.ts';
import { loadConfig } from '../../../shared/config/load.ts';
import { partitionsConfigSchema } from '../../../shared/config/pipeline.ts';
import { table } from '../output.ts';
import type { CommandGroup } from '../types.ts';

export const partitionsGroup: CommandGroup = {
  name: 'partitions',
  summary:
    'monthly partitions of usage_events, usage_rollups and audit_log: create ahead, archive or drop past retention',
  commands: [
    {
      name: 'run',
      summary: 'create the months ahead and detach months past retention (PARTITIONS_*, *_RETENTION_MONTHS)',
      flags: { 'dry-run': { type: 'boolean', description: 'print the plan and change nothing' } },
      async run(ctx, { flags }) {
        const config = loadConfig(partitionsConfigSchema, ctx.env, 'partition maintenance');
        const dryRun = flags['dry-run'] === true;
        const result = await runPartitionMaintenance(await ctx.db(), config, { dryRun });
        const text = result.actions.length
          ? table(
              ['action', 'partition', 'from', 'to'],
              result.actions.map((a) => [a.kind === 'create' ? 'create' : a.mode, a.name, a.from, a.to]),
            )
          : ['nothing to do: every partition is in place and none is past retention'];
        if (result.movedRows > 0) text.push(`${result.movedRows} rows moved out of a default partition`);
        if (dryRun && result.actions.length) text.push('dry run: nothing was changed');
        return { data: result, text };
      },
    },
    {
      name: 'list',
      summary: 'the partitions that exist now',
      async run(ctx) {
        const parts = await listPartitions(await ctx.db());
        const rows = Object.entries(parts).flatMap(([t, names]) => names.map((n) => [t, n]));
        return { data: parts, text: table(['table', 'partition'], rows) };
      },
    },
  ],
};
