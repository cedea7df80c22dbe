import { asc, eq } from 'drizzle-orm';
import { AppError } from '../../shared/errors/index.ts';
import type { Database } from '../client/types.ts';
import { type Tenant, tenants } from '../schema/tenants.ts';
import { type AuditBy, appendAudit, auditEntry } from './audit.ts';
import { pgErrorCode, UNIQUE_VIOLATION } from './pg-errors.ts';
import { isUuid } from './uuid.ts';

/** Default limits per plan; a tenant can override either number. */
const PLAN_LIMITS = {
  free: { requestsPerMinute: 60, burst: 10 },
  pro: { requestsPerMinute: 600, burst: 100 },
  enterprise: { requestsPerMinute: 6000, burst: 1000 },
} as const;

export type Plan = keyof typeof PLAN_LIMITS;
export const PLANS = Object.keys(PLAN_LIMITS) as Plan[];

export interface CreateTenantInput {
  name: string;
  plan?: Plan;
  requestsPerMinute?: number;
  burst?: number;
}

const TENANT_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

function validateTenantName(name: string): void {
  if (!TENANT_NAME.test(name)) {
    throw new AppError(
      'INVALID_REQUEST',
      `tenant name "${name}" must be 1-63 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit`,
    );
  }
  // The admin API and the CLI take a tenant id or name in one place and read a UUID as an id: a tenant with such
  // a name could never be named, and could shadow another tenant's id.
  if (isUuid(name)) {
    throw new AppError(
      'INVALID_REQUEST',
      `tenant name "${name}" looks like a tenant id (a UUID); choose another`,
    );
  }
}

export async function createTenant(db: Database, input: CreateTenantInput): Promise<Tenant> {
  validateTenantName(input.name);
  const plan = input.plan ?? 'free';
  const limits = PLAN_LIMITS[plan];
  try {
    const [row] = await db
      .insert(tenants)
      .values({
        name: input.name,
        plan,
        requestsPerMinute: input.requestsPerMinute ?? limits.requestsPerMinute,
        burst: input.burst ?? limits.burst,
      })
      .returning();
    return row!;
  } catch (err) {
    if (pgErrorCode(err) === UNIQUE_VIOLATION) {
      throw new AppError('CONFLICT', `tenant "${input.name}" already exists`);
    }
    throw err;
  }
}

/** Creates a tenant and its `tenant.created` audit row in one transaction (neither without the other). */
export function createTenantAudited(db: Database, input: CreateTenantInput, by: AuditBy): Promise<Tenant> {
  return db.transaction(async (t) => {
    const tx = t as unknown as Database;
    const tenant = await createTenant(tx, input);
    await appendAudit(
      tx,
      auditEntry(by, 'tenant.created', `tenant:${tenant.id}`, {
        name: tenant.name,
        plan: tenant.plan,
        requestsPerMinute: tenant.requestsPerMinute,
        burst: tenant.burst,
      }),
    );
    return tenant;
  });
}

/** Creates the tenant unless one with that name exists; returns the row either way (idempotent seeding). */
export async function ensureTenant(
  db: Database,
  input: CreateTenantInput,
): Promise<{ tenant: Tenant; created: boolean }> {
  validateTenantName(input.name);
  const plan = input.plan ?? 'free';
  const limits = PLAN_LIMITS[plan];
  const inserted = await db
    .insert(tenants)
    .values({
      name: input.name,
      plan,
      requestsPerMinute: input.requestsPerMinute ?? limits.requestsPerMinute,
      burst: input.burst ?? limits.burst,
    })
    .onConflictDoNothing({ target: tenants.name })
    .returning();
  if (inserted[0]) return { tenant: inserted[0], created: true };
  const existing = await findTenantByName(db, input.name);
  if (!existing) throw new AppError('INTERNAL', `tenant "${input.name}" vanished while being ensured`);
  return { tenant: existing, created: false };
}

export async function findTenantByName(db: Database, name: string): Promise<Tenant | null> {
  const [row] = await db.select().from(tenants).where(eq(tenants.name, name)).limit(1);
  return row ?? null;
}

export async function findTenantById(db: Database, id: string): Promise<Tenant | null> {
  const [row] = await db.select().from(tenants).where(eq(tenants.id, id)).limit(1);
  return row ?? null;
}

/** A tenant named by id (a UUID) or by name, as the admin API's paths and the CLI's flags take it. */
export function findTenantByRef(db: Database, ref: string): Promise<Tenant | null> {
  return isUuid(ref) ? findTenantById(db, ref.toLowerCase()) : findTenantByName(db, ref);
}

export async function listTenants(db: Database): Promise<Tenant[]> {
  return db.select().from(tenants).orderBy(asc(tenants.name));
}

/** Resolves a tenant by name, or throws NOT_FOUND naming it (what every CLI command needs). */
export async function requireTenant(db: Database, name: string): Promise<Tenant> {
  const tenant = await findTenantByName(db, name);
  if (!tenant) throw new AppError('NOT_FOUND', `unknown tenant "${name}"`);
  return tenant;
}
