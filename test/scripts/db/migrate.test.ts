import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../../drizzle/client/client.ts';
import { loadDataConfig } from '../../../shared/config/data.ts';
import { createEmptyPgDatabase } from '../../support/test-database.ts';
import { runScript } from '../cli/run-cli.ts';

describe('npm run db:migrate (scripts/db/migrate.ts, spawned)', { timeout: 90_000 }, () => {
  let empty: Awaited<ReturnType<typeof createEmptyPgDatabase>>;
  beforeAll(async () => {
    empty = await createEmptyPgDatabase();
  });
  afterAll(() => empty?.drop());

  it('migrates an empty database and is a no-op the second time', async () => {
    const first = await runScript('scripts/db/migrate.ts', [], { DATABASE_URL: empty.url });
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`migrations applied to 127.0.0.1:5432/${empty.name}`);
    const second = await runScript('scripts/db/migrate.ts', [], { DATABASE_URL: empty.url });
    expect(second.code).toBe(0);
    const handle = await createDatabase(loadDataConfig({ DATABASE_URL: empty.url }));
    try {
      const r = (await handle.db.execute(sql`select count(*)::int as n from tenants`)) as unknown as {
        rows: { n: number }[];
      };
      expect(r.rows[0]!.n).toBe(0);
    } finally {
      await handle.close();
    }
  });

  it('exits 5 naming the host when the database cannot be reached', async () => {
    const down = await runScript('scripts/db/migrate.ts', [], {
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x',
    });
    expect(down.code).toBe(5);
    expect(down.stderr).toContain('cannot reach the database at 127.0.0.1:1/x');
  });

  it('exits 2 naming a bad variable', async () => {
    const bad = await runScript('scripts/db/migrate.ts', [], { DATABASE_URL: 'mysql://nope' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('DATABASE_URL');
  });
});
