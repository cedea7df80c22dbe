import { randomBytes } from 'node:crypto';
import { Redis as IORedis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit, verifyAuditChain } from '../../../drizzle/queries/audit.ts';
import { findKeyForAuth } from '../../../drizzle/queries/keys.ts';
import { startUpstashBridge, type UpstashBridge } from '../../../scripts/dev/upstash-bridge.ts';
import { hashKeySecret, parseApiKey } from '../../../shared/keys/api-key.ts';
import { databaseUrl, openMigrated } from '../../support/test-database.ts';
import { cli } from './run-cli.ts';

const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

describe('aiserve CLI (spawned, against PostgreSQL 15 and Redis through the Upstash bridge)', {
  timeout: 120_000,
}, () => {
  let env: Awaited<ReturnType<typeof openMigrated>>;
  let bridge: UpstashBridge;
  let redis: IORedis;
  let vars: Record<string, string>;
  beforeAll(async () => {
    env = await openMigrated('postgres');
    bridge = await startUpstashBridge({ redisUrl: REDIS_URL, token: randomBytes(16).toString('hex') });
    redis = new IORedis(REDIS_URL);
    vars = {
      DATABASE_URL: env.url,
      UPSTASH_REDIS_REST_URL: bridge.url,
      UPSTASH_REDIS_REST_TOKEN: bridge.token,
      AISERVE_ACTOR: 'test:cli',
    };
  });
  afterAll(async () => {
    redis?.disconnect();
    await bridge?.close();
    await env?.dispose();
  });

  it('prints the groups with --help (exit 0) and without arguments (exit 2)', async () => {
    const help = await cli(['--help'], vars);
    expect(help.code).toBe(0);
    for (const g of ['tenants', 'keys', 'models']) expect(help.stdout).toContain(`  ${g} `);
    const bare = await cli([], vars);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toContain('usage: npm run cli --');
  });

  it('explains each group and command with --help', async () => {
    const group = await cli(['keys', '--help'], vars);
    expect(group.code).toBe(0);
    expect(group.stdout).toMatch(/create[\s\S]*list[\s\S]*revoke[\s\S]*rotate/);
    const cmd = await cli(['models', 'set', '--help'], vars);
    expect(cmd.code).toBe(0);
    expect(cmd.stdout).toContain('--ttl');
    expect(cmd.stdout).toContain('--shareable');
  });

  it('rejects unknown groups, commands and options with exit 2 and a message naming them', async () => {
    const [group, command, option] = await Promise.all([
      cli(['nope'], vars),
      cli(['keys', 'explode'], vars),
      cli(['tenants', 'list', '--colour'], vars),
    ]);
    expect(group).toMatchObject({ code: 2 });
    expect(group.stderr).toContain('unknown group "nope"');
    expect(command.code).toBe(2);
    expect(command.stderr).toContain('unknown command "keys explode"');
    expect(option.code).toBe(2);
    expect(option.stderr).toContain('unknown option --colour');
  });

  it('creates tenants (exit 0), refuses duplicates (exit 4) and bad values (exit 2)', async () => {
    const created = await cli(['tenants', 'create', 'acme', '--plan', 'pro', '--json'], vars);
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ name: 'acme', plan: 'pro', requestsPerMinute: 600 });
    const [dup, badName, badPlan, badRpm] = await Promise.all([
      cli(['tenants', 'create', 'acme'], vars),
      cli(['tenants', 'create', 'Bad Name'], vars),
      cli(['tenants', 'create', 'x', '--plan', 'gold'], vars),
      cli(['tenants', 'create', 'y', '--rpm', 'lots'], vars),
    ]);
    expect(dup.code).toBe(4);
    expect(dup.stderr).toContain('tenant "acme" already exists');
    expect(badName.code).toBe(2);
    expect(badPlan.code).toBe(2);
    expect(badPlan.stderr).toContain('--plan must be one of free, pro, enterprise');
    expect(badRpm.code).toBe(2);
    expect(badRpm.stderr).toContain('--rpm must be a whole number');
  });

  it('lists tenants as a table and as JSON', async () => {
    const [text, json] = await Promise.all([
      cli(['tenants', 'list'], vars),
      cli(['tenants', 'list', '--json'], vars),
    ]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^NAME\s+ID\s+PLAN/);
    expect(text.stdout).toContain('acme');
    expect((JSON.parse(json.stdout) as { name: string }[]).map((t) => t.name)).toContain('acme');
  });

  it('creates a key shown once on stdout that authenticates, and lists it without the secret', async () => {
    const created = await cli(
      ['keys', 'create', '--tenant', 'acme', '--scopes', 'ocr-cls', '--name', 'ci'],
      vars,
    );
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    const parsed = parseApiKey(key)!;
    expect(parsed).not.toBeNull();
    expect(created.stderr).toContain('only time the full key is shown');
    const auth = await findKeyForAuth(env.handle.primary, parsed.prefix);
    expect(auth).toMatchObject({ scopes: ['ocr-cls'], tenant: { name: 'acme' } });
    expect(auth!.secretHash).toBe(await hashKeySecret(parsed.secret));

    const list = await cli(['keys', 'list', '--tenant', 'acme'], vars);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(parsed.prefix);
    expect(list.stdout).not.toContain(parsed.secret);
  });

  it('refuses keys for unknown tenants (exit 3) and bad key arguments (exit 2)', async () => {
    const [unknown, missing, badExpiry, past, badEnv] = await Promise.all([
      cli(['keys', 'create', '--tenant', 'ghost'], vars),
      cli(['keys', 'create'], vars),
      cli(['keys', 'create', '--tenant', 'acme', '--expires-in', 'soon'], vars),
      cli(['keys', 'create', '--tenant', 'acme', '--expires-at', '2001-01-01'], vars),
      cli(['keys', 'create', '--tenant', 'acme', '--env', 'prod'], vars),
    ]);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain('unknown tenant "ghost"');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--tenant is required');
    expect(badExpiry.code).toBe(2);
    expect(badExpiry.stderr).toContain('--expires-in must be a duration');
    expect(past.code).toBe(2);
    expect(past.stderr).toContain('in the past');
    expect(badEnv.code).toBe(2);
  });

  it('revokes a key, deletes its Redis auth-cache entry, and audits it', async () => {
    const created = await cli(['keys', 'create', '--tenant', 'acme', '--json'], vars);
    const { prefix } = JSON.parse(created.stdout) as { prefix: string };
    await redis.set(`aiserve:auth:${prefix}`, '{"cached":true}', 'EX', 600);
    const revoked = await cli(['keys', 'revoke', prefix, '--json'], vars);
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.stdout)).toMatchObject({
      prefix,
      alreadyRevoked: false,
      cacheInvalidated: true,
    });
    expect(await redis.exists(`aiserve:auth:${prefix}`)).toBe(0);
    expect((await findKeyForAuth(env.handle.primary, prefix))!.revokedAt).not.toBeNull();
    const audit = await listAudit(env.handle.primary, { target: `key:${prefix}` });
    expect(audit.map((a) => [a.action, a.actor])).toEqual([
      ['key.revoked', 'test:cli'],
      ['key.created', 'test:cli'],
    ]);

    const again = await cli(['keys', 'revoke', prefix], vars);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already revoked');
    const unknown = await cli(['keys', 'revoke', 'zzzzzzzzzzzz'], vars);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain('no key "zzzzzzzzzzzz"');
  });

  it('rotates a key: prints the new key, the old one expires after the overlap, its cache entry is dropped', async () => {
    const created = await cli(['keys', 'create', '--tenant', 'acme', '--json'], vars);
    const old = JSON.parse(created.stdout) as { prefix: string; key: string };
    await redis.set(`aiserve:auth:${old.prefix}`, '{"cached":true}', 'EX', 600);
    const before = Date.now();
    const rotated = await cli(['keys', 'rotate', old.key, '--overlap', '1h', '--json'], vars);
    expect(rotated.code).toBe(0);
    const out = JSON.parse(rotated.stdout) as {
      key: string;
      newKey: { prefix: string };
      oldKey: { expiresAt: string };
      cacheInvalidated: boolean;
    };
    expect(parseApiKey(out.key)!.prefix).toBe(out.newKey.prefix);
    expect(Date.parse(out.oldKey.expiresAt)).toBeGreaterThan(before + 3_500_000);
    expect(out.cacheInvalidated).toBe(true);
    expect(await redis.exists(`aiserve:auth:${old.prefix}`)).toBe(0);

    await cli(['keys', 'revoke', out.newKey.prefix], vars);
    const conflict = await cli(['keys', 'rotate', out.newKey.prefix], vars);
    expect(conflict.code).toBe(4);
    expect(conflict.stderr).toContain('is revoked and cannot be rotated');
    const badOverlap = await cli(['keys', 'rotate', old.prefix, '--overlap', 'forever'], vars);
    expect(badOverlap.code).toBe(2);
  });

  it('sets and lists model settings, refusing empty and invalid changes with exit 2', async () => {
    const set = await cli(
      ['models', 'set', 'ocr-cls', '--ttl', '10m', '--shareable', 'true', '--json'],
      vars,
    );
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ name: 'ocr-cls', cacheTtlSeconds: 600, shareable: true });
    const [nothing, tooLong, badBool, badVis, list] = await Promise.all([
      cli(['models', 'set', 'ocr-cls'], vars),
      cli(['models', 'set', 'ocr-cls', '--ttl', '2d'], vars),
      cli(['models', 'set', 'ocr-cls', '--cacheable', 'maybe'], vars),
      cli(['models', 'set', 'ocr-cls', '--visibility', 'hidden'], vars),
      cli(['models', 'list', '--json'], vars),
    ]);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('nothing to change');
    expect(tooLong.code).toBe(2);
    expect(tooLong.stderr).toContain('cache TTL must be an integer from 0 to 86400');
    expect(badBool.code).toBe(2);
    expect(badVis.code).toBe(2);
    const listed = JSON.parse(list.stdout) as { models: { name: string; cacheTtlSeconds: number }[] };
    expect(listed.models).toEqual([expect.objectContaining({ name: 'ocr-cls', cacheTtlSeconds: 600 })]);
    const audit = await listAudit(env.handle.primary, { target: 'model:ocr-cls' });
    expect(audit[0]).toMatchObject({ action: 'model.updated', details: { after: { cacheTtlSeconds: 600 } } });
  });

  it('leaves an intact audit chain behind', async () => {
    expect(await verifyAuditChain(env.handle.primary)).toMatchObject({ ok: true });
  });

  it('names the host of an unreachable database and exits 5', async () => {
    const down = await cli(['tenants', 'list'], {
      DATABASE_URL: 'postgres://postgres:hunter2@127.0.0.1:1/aiserve',
    });
    expect(down.code).toBe(5);
    expect(down.stderr).toContain('cannot reach the database at 127.0.0.1:1/aiserve');
    expect(down.stderr).not.toContain('hunter2');
    const json = await cli(['tenants', 'list', '--json'], {
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/aiserve',
    });
    expect(JSON.parse(json.stderr)).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' });
  });

  it('says which database does not exist, and when the schema is missing, exits 5', async () => {
    const missing = await cli(['tenants', 'list'], { DATABASE_URL: databaseUrl('aiserve_t_does_not_exist') });
    expect(missing.code).toBe(5);
    expect(missing.stderr).toContain('aiserve_t_does_not_exist does not exist');
    const unmigrated = await cli(['tenants', 'list'], { DATABASE_URL: 'memory://' });
    expect(unmigrated.code).toBe(5);
    expect(unmigrated.stderr).toContain('run `npm run db:migrate` first');
  });

  it('reports bad database configuration with exit 2, naming the variable', async () => {
    const bad = await cli(['tenants', 'list'], { DATABASE_URL: env.url, DATABASE_POOL_MAX: '0' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('DATABASE_POOL_MAX');
  });
});
