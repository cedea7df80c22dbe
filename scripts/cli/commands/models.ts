import {
  DEFAULT_MODEL_SETTINGS,
  listModelSettings,
  type ModelSettingsPatch,
  setModelSettingsAudited,
} from '../../../drizzle/queries/models.ts';
import { requireTenant } from '../../../drizzle/queries/tenants.ts';
import { UsageError } from '../../usage-error.ts';
import { parseBool, parseDurationSeconds } from '../args.ts';
import { table } from '../output.ts';
import type { CommandGroup } from '../types.ts';

export const modelsGroup: CommandGroup = {
  name: 'models',
  summary: 'per-model edge settings: cacheability, cache TTL, sharing across tenants, visibility',
  commands: [
    {
      name: 'list',
      summary: 'list models with settings (models without a row use the defaults shown at the end)',
      async run(ctx) {
        const models = await listModelSettings(await ctx.db());
        const d = DEFAULT_MODEL_SETTINGS;
        return {
          data: { models, defaults: d },
          text: [
            ...(models.length
              ? table(
                  ['NAME', 'CACHEABLE', 'TTL', 'SHAREABLE', 'VISIBILITY', 'OWNER', 'UPDATED'],
                  models.map((m) => [
                    m.name,
                    m.cacheable,
                    m.cacheTtlSeconds,
                    m.shareable,
                    m.visibility,
                    m.ownerTenantId,
                    m.updatedAt,
                  ]),
                )
              : ['no model has its own settings yet']),
            `defaults: cacheable ${d.cacheable}, ttl ${d.cacheTtlSeconds}s, shareable ${d.shareable}, visibility ${d.visibility}`,
          ],
        };
      },
    },
    {
      name: 'set',
      summary: 'change a model’s settings (fields not given keep their value)',
      positionals: [{ name: 'model', description: 'model name', required: true }],
      flags: {
        ttl: { type: 'string', description: 'cache TTL: seconds or 90s, 15m, 24h (max 1d)' },
        cacheable: { type: 'string', description: 'true or false' },
        shareable: { type: 'string', description: 'true: one cached answer serves every tenant' },
        visibility: { type: 'string', description: 'public or private', choices: ['public', 'private'] },
        owner: { type: 'string', description: 'owning tenant name (for private models)' },
      },
      details: 'example: npm run cli -- models set ocr-cls --ttl 10m --shareable true',
      async run(ctx, { positionals, flags }) {
        const name = positionals[0]!;
        const patch: ModelSettingsPatch = {};
        if (flags['ttl'] !== undefined)
          patch.cacheTtlSeconds = parseDurationSeconds('--ttl', String(flags['ttl']));
        if (flags['cacheable'] !== undefined)
          patch.cacheable = parseBool('--cacheable', String(flags['cacheable']));
        if (flags['shareable'] !== undefined)
          patch.shareable = parseBool('--shareable', String(flags['shareable']));
        if (flags['visibility'] !== undefined) patch.visibility = flags['visibility'] as 'public' | 'private';
        if (Object.keys(patch).length === 0 && flags['owner'] === undefined) {
          throw new UsageError(
            'nothing to change: give at least one of --ttl, --cacheable, --shareable, --visibility, --owner',
          );
        }
        const db = await ctx.db();
        if (flags['owner'] !== undefined)
          patch.ownerTenantId = (await requireTenant(db, String(flags['owner']))).id;
        const result = await setModelSettingsAudited(db, name, patch, { actor: ctx.actor });
        const a = result.after;
        return {
          data: result.after,
          text: [
            `model ${a.name}: cacheable ${a.cacheable}, ttl ${a.cacheTtlSeconds}s, shareable ${a.shareable}, visibility ${a.visibility}${a.ownerTenantId ? `, owner ${a.ownerTenantId}` : ''}`,
          ],
        };
      },
    },
  ],
};
