import { createTenantAudited, listTenants, PLANS, type Plan } from '../../../drizzle/queries/tenants.ts';
import type { Tenant } from '../../../drizzle/schema/tenants.ts';
import { UsageError } from '../../usage-error.ts';
import { table } from '../output.ts';
import type { CommandGroup } from '../types.ts';

function tenantJson(t: Tenant) {
  return {
    id: t.id,
    name: t.name,
    plan: t.plan,
    requestsPerMinute: t.requestsPerMinute,
    burst: t.burst,
    disabled: t.disabled,
    createdAt: t.createdAt.toISOString(),
  };
}

function positive(what: string, n: unknown): number | undefined {
  if (n === undefined) return undefined;
  if (typeof n !== 'number' || n < 1) throw new UsageError(`${what} must be at least 1 (got ${String(n)})`);
  return n;
}

export const tenantsGroup: CommandGroup = {
  name: 'tenants',
  summary: 'create and list tenants (customer accounts with a plan and rate limits)',
  commands: [
    {
      name: 'create',
      summary: 'create a tenant',
      positionals: [
        { name: 'name', description: 'unique name: a-z, 0-9, ".", "_", "-" (max 63)', required: true },
      ],
      flags: {
        plan: { type: 'string', description: 'plan, sets default limits (default free)', choices: PLANS },
        rpm: { type: 'int', description: 'requests per minute (overrides the plan)' },
        burst: { type: 'int', description: 'burst allowance (overrides the plan)' },
      },
      details: 'example: npm run cli -- tenants create acme --plan pro',
      async run(ctx, { positionals, flags }) {
        const db = await ctx.db();
        const input = {
          name: positionals[0]!,
          plan: (flags['plan'] as Plan | undefined) ?? 'free',
          requestsPerMinute: positive('--rpm', flags['rpm']),
          burst: positive('--burst', flags['burst']),
        };
        const tenant = await createTenantAudited(db, input, { actor: ctx.actor });
        return {
          data: tenantJson(tenant),
          text: [
            `created tenant ${tenant.name} (${tenant.id}), plan ${tenant.plan}, ${tenant.requestsPerMinute} req/min, burst ${tenant.burst}`,
          ],
        };
      },
    },
    {
      name: 'list',
      summary: 'list tenants by name',
      async run(ctx) {
        const tenants = await listTenants(await ctx.db());
        return {
          data: tenants.map(tenantJson),
          text: tenants.length
            ? table(
                ['NAME', 'ID', 'PLAN', 'RPM', 'BURST', 'DISABLED', 'CREATED'],
                tenants.map((t) => [
                  t.name,
                  t.id,
                  t.plan,
                  t.requestsPerMinute,
                  t.burst,
                  t.disabled,
                  t.createdAt.toISOString(),
                ]),
              )
            : ['no tenants yet: npm run cli -- tenants create <name>'],
        };
      },
    },
  ],
};
