import { sql } from 'drizzle-orm';
import type { Database } from '../client/types.ts';

/** One round trip and nothing else: whether the database answers (readiness probes). */
export async function pingDatabase(db: Database): Promise<void> {
  await db.execute(sql`SELECT 1`);
}
