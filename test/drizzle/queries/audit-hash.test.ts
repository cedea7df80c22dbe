import { describe, expect, it } from 'vitest';
import { AUDIT_GENESIS_HASH, auditRowHash, canonicalJson } from '../../../drizzle/queries/audit-hash.ts';

const row = {
  id: '1',
  ts: '2026-11-25T12:00:00.000Z',
  actor: 'cli',
  action: 'key.created',
  target: 'key:abc',
  details: {},
};

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[1,{"y":2,"z":1}]},"b":1}',
    );
  });
});

describe('auditRowHash', () => {
  it('is the same whatever order the details were built in', async () => {
    const a = await auditRowHash(AUDIT_GENESIS_HASH, { ...row, details: { x: 1, y: [2, 3] } });
    const b = await auditRowHash(AUDIT_GENESIS_HASH, { ...row, details: { y: [2, 3], x: 1 } });
    expect(a).toBe(b);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
  });

  it('changes with the previous hash and with every hashed field', async () => {
    const base = await auditRowHash(AUDIT_GENESIS_HASH, row);
    const variants = await Promise.all([
      auditRowHash('1'.repeat(64), row),
      auditRowHash(AUDIT_GENESIS_HASH, { ...row, id: '2' }),
      auditRowHash(AUDIT_GENESIS_HASH, { ...row, ts: '2026-11-25T12:00:00.001Z' }),
      auditRowHash(AUDIT_GENESIS_HASH, { ...row, actor: 'cli2' }),
      auditRowHash(AUDIT_GENESIS_HASH, { ...row, action: 'key.revoked' }),
      auditRowHash(AUDIT_GENESIS_HASH, { ...row, target: 'key:abd' }),
      auditRowHash(AUDIT_GENESIS_HASH, { ...row, details: { a: 1 } }),
    ]);
    expect(new Set([base, ...variants]).size).toBe(8);
  });
});
