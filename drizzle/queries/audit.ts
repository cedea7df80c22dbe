import { type SQL, sql } from 'drizzle-orm';
import { queryRows, type SqlDatabase, type SqlExecutor } from '../client/executor.ts';
import { AUDIT_GENESIS_HASH, auditRowHash } from './audit-hash.ts';

export { AUDIT_GENESIS_HASH } from './audit-hash.ts';

export interface AuditEntry {
  actor: string;
  /**
   * e.g. tenant.created, key.created, key.revoked, key.rotated, model.updated, admin.refused, instance.started,
   * instance.stopped, fleet.decision
   */
  action: string;
  target: string;
  details: Record<string, unknown>;
}

/** The HTTP request an audited change came in with (the admin API); the CLI and jobs have none. */
export interface AuditRequest {
  /** The edge's request id (`X-Request-Id`, as echoed to the client). */
  id: string;
  /** The client address: `CF-Connecting-IP` on Workers, the TCP peer under Node. */
  ip: string;
  userAgent: string | null;
}

/** Who makes an audited change, and from where: what every audited write takes besides its own input. */
export interface AuditBy {
  actor: string;
  request?: AuditRequest;
}

/** The entry for `by` doing `action` on `target`; the request, when there is one, is `details.request`. */
export function auditEntry(
  by: AuditBy,
  action: string,
  target: string,
  details: Record<string, unknown>,
): AuditEntry {
  return {
    actor: by.actor,
    action,
    target,
    details: by.request ? { ...details, request: by.request } : details,
  };
}

export interface AuditRecord extends AuditEntry {
  /** bigint as a decimal string (ids may pass 2^53 in a long-lived table). */
  id: string;
  /** ISO 8601, UTC, millisecond precision: exactly what was hashed. */
  ts: string;
  prevHash: string;
  hash: string;
}

export type AuditVerification =
  | { ok: true; rows: number }
  | { ok: false; firstBadId: string; reason: string; rows: number };

/**
 * Written by partition maintenance before it detaches an audit partition: `details.lastHash` is the hash of
 * the newest row leaving the table, so the verifier accepts the oldest remaining row's prev_hash.
 */
export const AUDIT_ARCHIVED_ACTION = 'audit.partition.detached';

// One constant advisory-lock key for the whole chain: appends queue up, so two never read the same head.
const AUDIT_CHAIN_LOCK = 734_209_161;

type Row = {
  id: string;
  ts: string;
  actor: string;
  action: string;
  target: string;
  details: Record<string, unknown> | string;
  prev_hash: string;
  hash: string;
};

// ORDER BY below names audit_log.id: a bare `id` would sort by the text alias of the select list.
const ISO_TS = sql`to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

function toRecord(r: Row): AuditRecord {
  // pg and neon parse jsonb; some PGlite setups hand back text.
  const details =
    typeof r.details === 'string' ? (JSON.parse(r.details) as Record<string, unknown>) : r.details;
  return {
    id: r.id,
    ts: r.ts,
    actor: r.actor,
    action: r.action,
    target: r.target,
    details,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

/**
 * Appends one row to the hash chain. Inside one transaction: take the chain lock (pg_advisory_xact_lock, so
 * concurrent appends from any process serialise instead of forking the chain), read the head, draw the id
 * and a millisecond timestamp, hash, insert. Pass a transaction to make the audit row part of the caller's
 * own change (it then commits or rolls back with it): the audited writes in keys.ts, tenants.ts and models.ts do.
 *
 * Lock order: inside a caller's transaction, append last, after the change has taken its row locks (a key
 * rotation's `FOR UPDATE`, say). The chain lock is then always the last lock a transaction takes and is held
 * only from the append to the commit, so no transaction can hold it while waiting for a row another holds; an
 * append first would serialise every admin write behind the chain and could deadlock against a rotation.
 */
export async function appendAudit(db: SqlDatabase, entry: AuditEntry): Promise<AuditRecord> {
  // Round-trip through JSON first: the hash must cover what jsonb will give back, not e.g. undefined members.
  const details = JSON.parse(JSON.stringify(entry.details ?? {})) as Record<string, unknown>;
  return db.transaction(async (tx) => {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK})`);
    const [head] = await queryRows<{ hash: string }>(
      tx,
      sql`SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1`,
    );
    const [next] = await queryRows<{ id: string; ts: string }>(
      tx,
      sql`SELECT nextval(pg_get_serial_sequence('audit_log', 'id'))::text AS id,
        to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ts`,
    );
    const prevHash = head?.hash ?? AUDIT_GENESIS_HASH;
    const record = {
      id: next!.id,
      ts: next!.ts,
      actor: entry.actor,
      action: entry.action,
      target: entry.target,
    };
    const hash = await auditRowHash(prevHash, { ...record, details });
    await tx.execute(
      sql`INSERT INTO audit_log (id, ts, actor, action, target, details, prev_hash, hash)
        VALUES (${record.id}::bigint, ${record.ts}::timestamptz, ${record.actor}, ${record.action}, ${record.target},
          ${JSON.stringify(details)}::jsonb, ${prevHash}, ${hash})`,
    );
    return { ...record, details, prevHash, hash };
  });
}

export interface ListAuditOptions {
  limit?: number;
  /** Keyset cursor: rows with a smaller id than this (the previous page's last id). */
  beforeId?: string;
  target?: string;
  action?: string;
}

/** Newest first, paginated by id. */
export async function listAudit(db: SqlExecutor, options: ListAuditOptions = {}): Promise<AuditRecord[]> {
  const where: SQL[] = [sql`true`];
  if (options.beforeId) where.push(sql`id < ${options.beforeId}::bigint`);
  if (options.target) where.push(sql`target = ${options.target}`);
  if (options.action) where.push(sql`action = ${options.action}`);
  const rows = await queryRows<Row>(
    db,
    sql`SELECT id::text, ${ISO_TS} AS ts, actor, action, target, details, prev_hash, hash FROM audit_log
      WHERE ${sql.join(where, sql` AND `)} ORDER BY audit_log.id DESC LIMIT ${Math.min(Math.max(options.limit ?? 50, 1), 1000)}`,
  );
  return rows.map(toRecord);
}

/**
 * Walks the whole chain in id order (1000 rows a query) and recomputes every hash. An altered row fails its
 * own hash; a deleted row breaks the next row's prev_hash link. The oldest row must start from the genesis
 * hash, or from a hash recorded by an `audit.partition.detached` row (retention removed what came before).
 * Deleting the newest rows cannot be seen from the chain alone; the table's trigger refuses DELETE.
 */
export async function verifyAuditChain(db: SqlExecutor, pageSize = 1000): Promise<AuditVerification> {
  let expectedPrev: string | undefined;
  let first: AuditRecord | undefined;
  const anchors = new Set<string>();
  let rows = 0;
  let after = '0';
  for (;;) {
    const page = (
      await queryRows<Row>(
        db,
        sql`SELECT id::text, ${ISO_TS} AS ts, actor, action, target, details, prev_hash, hash FROM audit_log
          WHERE audit_log.id > ${after}::bigint ORDER BY audit_log.id LIMIT ${pageSize}`,
      )
    ).map(toRecord);
    for (const r of page) {
      rows += 1;
      first ??= r;
      if (expectedPrev !== undefined && r.prevHash !== expectedPrev) {
        return {
          ok: false,
          firstBadId: r.id,
          reason: 'prev_hash does not match the previous row: a row was deleted or altered',
          rows,
        };
      }
      const hash = await auditRowHash(r.prevHash, r);
      if (hash !== r.hash)
        return {
          ok: false,
          firstBadId: r.id,
          reason: 'hash does not match the row: the row was altered',
          rows,
        };
      if (r.action === AUDIT_ARCHIVED_ACTION && typeof r.details['lastHash'] === 'string') {
        anchors.add(r.details['lastHash']);
      }
      expectedPrev = r.hash;
    }
    if (page.length < pageSize) break;
    after = page[page.length - 1]!.id;
  }
  if (first && first.prevHash !== AUDIT_GENESIS_HASH && !anchors.has(first.prevHash)) {
    return {
      ok: false,
      firstBadId: first.id,
      reason:
        'the oldest row does not start the chain and no detached partition accounts for it: rows were deleted',
      rows,
    };
  }
  return { ok: true, rows };
}
