import { sql } from 'drizzle-orm';
import { queryRows, type SqlExecutor } from '../../drizzle/client/executor.ts';

/**
 * The `gpu_instances` rows the reconciler owns (schema in drizzle/schema/instances.ts). Raw SQL through the
 * driver-neutral executor, so it runs on pg, Neon (in the Worker's Cron Trigger) and PGlite alike.
 *
 * Lifecycle: requested (row written before the provider call, so a crash mid-launch leaves a token to find)
 * → booting → ready → draining → terminated, or failed at any point (with `failure_reason`).
 */
export type InstanceStatus =
  | 'requested'
  | 'booting'
  | 'ready'
  | 'draining'
  | 'terminating'
  | 'terminated'
  | 'failed';

export interface InstanceRow {
  id: string;
  provider: string;
  providerInstanceId: string | null;
  clientToken: string;
  region: string;
  gpuType: string;
  status: InstanceStatus;
  hourlyCostUsd: number | null;
  publicUrl: string | null;
  launchedAt: number;
  readyAt: number | null;
  terminatedAt: number | null;
  failureReason: string | null;
}

/** Placeholder provider/region of a requested row until a provider has taken the launch. */
export const PENDING = 'pending';

type Raw = {
  id: string;
  provider: string;
  provider_instance_id: string | null;
  client_token: string;
  region: string;
  gpu_type: string;
  status: InstanceStatus;
  hourly_cost_usd: string | null;
  public_url: string | null;
  launched_at: string;
  ready_at: string | null;
  terminated_at: string | null;
  failure_reason: string | null;
};

const COLUMNS = sql`id::text, provider, provider_instance_id, client_token, region, gpu_type, status,
  hourly_cost_usd::text, public_url, (extract(epoch from launched_at) * 1000)::bigint::text AS launched_at,
  (extract(epoch from ready_at) * 1000)::bigint::text AS ready_at,
  (extract(epoch from terminated_at) * 1000)::bigint::text AS terminated_at, failure_reason`;

function toRow(r: Raw): InstanceRow {
  const ms = (v: string | null) => (v === null ? null : Number(v));
  return {
    id: r.id,
    provider: r.provider,
    providerInstanceId: r.provider_instance_id,
    clientToken: r.client_token,
    region: r.region,
    gpuType: r.gpu_type,
    status: r.status,
    hourlyCostUsd: r.hourly_cost_usd === null ? null : Number(r.hourly_cost_usd),
    publicUrl: r.public_url,
    launchedAt: Number(r.launched_at),
    readyAt: ms(r.ready_at),
    terminatedAt: ms(r.terminated_at),
    failureReason: r.failure_reason,
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Every instance not yet terminated (the partial index `gpu_instances_live_idx` covers this). */
export async function listLiveInstances(db: SqlExecutor): Promise<InstanceRow[]> {
  const rows = await queryRows<Raw>(
    db,
    sql`SELECT ${COLUMNS} FROM gpu_instances WHERE terminated_at IS NULL ORDER BY launched_at, id`,
  );
  return rows.map(toRow);
}

export async function listRecentInstances(db: SqlExecutor, limit = 50): Promise<InstanceRow[]> {
  const rows = await queryRows<Raw>(
    db,
    sql`SELECT ${COLUMNS} FROM gpu_instances ORDER BY launched_at DESC, id LIMIT ${limit}`,
  );
  return rows.map(toRow);
}

export async function insertRequested(
  db: SqlExecutor,
  input: { clientToken: string; gpuType: string; nowMs: number },
): Promise<InstanceRow> {
  const [row] = await queryRows<Raw>(
    db,
    sql`INSERT INTO gpu_instances (provider, client_token, region, gpu_type, status, launched_at)
      VALUES (${PENDING}, ${input.clientToken}, ${PENDING}, ${input.gpuType}, 'requested', ${iso(input.nowMs)}::timestamptz)
      RETURNING ${COLUMNS}`,
  );
  return toRow(row!);
}

export async function markLaunched(
  db: SqlExecutor,
  id: string,
  launched: {
    provider: string;
    providerInstanceId: string;
    region: string;
    hourlyCostUsd: number;
    publicUrl: string | null;
  },
): Promise<void> {
  await db.execute(
    sql`UPDATE gpu_instances SET provider = ${launched.provider}, provider_instance_id = ${launched.providerInstanceId},
      region = ${launched.region}, hourly_cost_usd = ${launched.hourlyCostUsd}, public_url = ${launched.publicUrl},
      status = 'booting' WHERE id = ${id}::uuid`,
  );
}

export async function markStatus(
  db: SqlExecutor,
  id: string,
  status: InstanceStatus,
  nowMs: number,
  failureReason?: string,
): Promise<void> {
  const ended = status === 'terminated' || status === 'failed';
  await db.execute(
    sql`UPDATE gpu_instances SET status = ${status},
      ready_at = CASE WHEN ${status} = 'ready' THEN coalesce(ready_at, ${iso(nowMs)}::timestamptz) ELSE ready_at END,
      terminated_at = CASE WHEN ${ended} THEN coalesce(terminated_at, ${iso(nowMs)}::timestamptz) ELSE terminated_at END,
      failure_reason = coalesce(${failureReason ?? null}, failure_reason)
      WHERE id = ${id}::uuid`,
  );
}
