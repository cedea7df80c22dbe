import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionsGroup } from '../../../../scripts/cli/commands/partitions.ts';
import { createTestDatabase, type TestDatabase } from '../../../support/test-database.ts';
import { cli } from './pipeline-cli.ts';

let tdb: TestDatabase;
const run = (argv: string[], env: Record<string, string> = {}) =>
  cli([partitionsGroup], tdb.url, ['partitions', ...argv], env);

beforeAll(async () => {
  tdb = await createTestDatabase();
});

afterAll(async () => {
  await tdb.close();
});

describe('partitions run', () => {
  it('--dry-run prints the plan without creating anything; run then creates it; a rerun has nothing to do', async () => {
    const env = { PARTITIONS_MONTHS_AHEAD: '4' };
    const dry = await run(['run', '--dry-run', '--json'], env);
    expect(dry.code, dry.stderr).toBe(0);
    const plan = JSON.parse(dry.stdout);
    expect(plan.dryRun).toBe(true);
    // The migrations made the current month and two ahead: months 3 and 4 ahead are missing for each of the
    // three tables (usage_events, audit_log, usage_rollups).
    expect(plan.actions).toHaveLength(6);
    const before = await run(['list', '--json']);
    expect(JSON.parse(before.stdout).usage_events).toHaveLength(4);

    const applied = await run(['run'], env);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout.split('\n').filter((l) => l.startsWith('create'))).toHaveLength(6);
    expect(JSON.parse((await run(['list', '--json'])).stdout).usage_events).toHaveLength(6);

    const again = await run(['run'], env);
    expect(again.stdout).toContain('nothing to do');
  });

  it('exits 2 naming a bad retention setting before touching the database', async () => {
    const r = await run(['run'], { PARTITIONS_RETENTION_MODE: 'shred', USAGE_RETENTION_MONTHS: '-1' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('PARTITIONS_RETENTION_MODE');
    expect(r.stderr).toContain('USAGE_RETENTION_MONTHS');
  });
});
