import { asc, desc, eq, isNull, sql } from 'drizzle-orm';
import { readsFromPrimary } from '../client/client.ts';
import type { Database } from '../client/types.ts';
import { type GpuInstanceRow, gpuInstances, type InstanceStatus } from '../schema/instances.ts';

export type { InstanceStatus } from '../schema/instances.ts';

/**
 * The `gpu_instances` rows the reconciler owns, as it works with them: times in epoch milliseconds (its clock
 * is injected and numeric, and the simulator's is simulated).
 */
export type InstanceRow = Omit<GpuInstanceRow, 'launchedAt' | 'readyAt' | 'terminatedAt'> & {
  launchedAt: number;
  readyAt: number | null;
  terminatedAt: number | null;
};

/** Placeholder provider/region of a requested row until a provider has taken the launch. */
export const PENDING = 'pending';

function toRow(r: GpuInstanceRow): InstanceRow {
  const ms = (d: Date | null) => (d === null ? null : d.getTime());
  return {
    ...r,
    launchedAt: r.launchedAt.getTime(),
    readyAt: ms(r.readyAt),
    terminatedAt: ms(r.terminatedAt),
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Every instance not yet terminated (the partial index `gpu_instances_live_idx` covers this). Read from the
 * primary: the reconciler acts on what it reads, and a row a lagging replica does not show yet is a launch it
 * would make a second time.
 */
export async function listLiveInstances(db: Database): Promise<InstanceRow[]> {
  const rows = await readsFromPrimary(db)
    .select()
    .from(gpuInstances)
    .where(isNull(gpuInstances.terminatedAt))
    .orderBy(asc(gpuInstances.launchedAt), asc(gpuInstances.id));
  return rows.map(toRow);
}

/** Newest first (`fleet status`); from the primary like the live list it is shown next to. */
export async function listRecentInstances(db: Database, limit = 50): Promise<InstanceRow[]> {
  const rows = await readsFromPrimary(db)
    .select()
    .from(gpuInstances)
    .orderBy(desc(gpuInstances.launchedAt), asc(gpuInstances.id))
    .limit(limit);
  return rows.map(toRow);
}

export async function insertRequested(
  db: Database,
  input: { clientToken: string; gpuType: string; nowMs: number },
): Promise<InstanceRow> {
  const [row] = await db
    .insert(gpuInstances)
    .values({
      provider: PENDING,
      clientToken: input.clientToken,
      region: PENDING,
      gpuType: input.gpuType,
      status: 'requested',
      launchedAt: new Date(input.nowMs),
    })
    .returning();
  return toRow(row!);
}

export async function markLaunched(
  db: Database,
  id: string,
  launched: {
    provider: string;
    providerInstanceId: string;
    region: string;
    hourlyCostUsd: number;
    publicUrl: string | null;
  },
): Promise<void> {
  await db
    .update(gpuInstances)
    .set({
      provider: launched.provider,
      providerInstanceId: launched.providerInstanceId,
      region: launched.region,
      hourlyCostUsd: launched.hourlyCostUsd,
      publicUrl: launched.publicUrl,
      status: 'booting',
    })
    .where(eq(gpuInstances.id, id));
}

/**
 * Moves a row to `status` at `nowMs`. The first time a row is ready or ends is the one recorded (a repeated
 * mark keeps it), and a failure reason, once given, stays unless another replaces it.
 */
export async function markStatus(
  db: Database,
  id: string,
  status: InstanceStatus,
  nowMs: number,
  failureReason?: string,
): Promise<void> {
  const at = sql`${iso(nowMs)}::timestamptz`;
  const ended = status === 'terminated' || status === 'failed';
  await db
    .update(gpuInstances)
    .set({
      status,
      ...(status === 'ready' ? { readyAt: sql`coalesce(${gpuInstances.readyAt}, ${at})` } : {}),
      ...(ended ? { terminatedAt: sql`coalesce(${gpuInstances.terminatedAt}, ${at})` } : {}),
      ...(failureReason !== undefined ? { failureReason } : {}),
    })
    .where(eq(gpuInstances.id, id));
}
