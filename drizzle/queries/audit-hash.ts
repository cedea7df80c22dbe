/** prev_hash of the first row ever written. */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);

/**
 * JSON with object keys sorted at every depth, so the same value always hashes the same whatever order the
 * caller built it in or jsonb stored it in. `undefined` members are dropped, as JSON.stringify does.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value))
    return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const members = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`);
  return `{${members.join(',')}}`;
}

/** The hashed fields of an audit row; `id` and `ts` are in it so a renumbered or re-dated row is caught too. */
export interface AuditHashInput {
  id: string;
  ts: string;
  actor: string;
  action: string;
  target: string;
  details: Record<string, unknown>;
}

/** hash = sha256(prev_hash || canonical JSON of the row's fields), hex. WebCrypto: runs in Workers and Node. */
export async function auditRowHash(prevHash: string, row: AuditHashInput): Promise<string> {
  const { id, ts, actor, action, target, details } = row;
  const text = prevHash + canonicalJson({ id, ts, actor, action, target, details });
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}
