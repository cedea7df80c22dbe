import { sql } from 'drizzle-orm';
import type { SqlExecutor } from '../../drizzle/client/executor.ts';

/**
 * Makes every audit append fail as a full disk would (SQLSTATE 53100, disk_full) while everything else keeps
 * working: a BEFORE INSERT trigger on audit_log, in the test's own database. Works on PostgreSQL and PGlite.
 */
export async function breakAuditLog(db: SqlExecutor): Promise<void> {
  await db.execute(sql`CREATE OR REPLACE FUNCTION test_audit_disk_full() RETURNS trigger
    LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'
    USING ERRCODE = 'disk_full'; END $$`);
  await db.execute(sql`DROP TRIGGER IF EXISTS test_audit_disk_full ON audit_log`);
  await db.execute(sql`CREATE TRIGGER test_audit_disk_full BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION test_audit_disk_full()`);
}

export async function repairAuditLog(db: SqlExecutor): Promise<void> {
  await db.execute(sql`DROP TRIGGER IF EXISTS test_audit_disk_full ON audit_log`);
}
