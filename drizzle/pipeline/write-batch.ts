import { AppError } from '../../shared/errors/app-error.ts';
import type { UsageEvent } from '../../shared/usage/event.ts';
import type { SqlDatabase } from '../client/executor.ts';
import { isRowRejection } from '../queries/pg-errors.ts';
import { insertUsageEvents } from './insert-usage.ts';
import type { ParsedEntry } from './parse-entry.ts';
import type { DeadLetter } from './usage-stream.ts';

export interface BatchWrite {
  /** Rows newly written. */
  written: number;
  /** Entries (not events) dead-lettered here because Postgres refused their row. */
  rejected: number;
}

/**
 * The Postgres side of the usage drain: one transaction for the batch; if Postgres rejects a row itself, it is
 * found row by row and its entries join `dead`. Any other failure throws DEPENDENCY_UNAVAILABLE, with nothing
 * written, so the batch stays pending. `beforeCommit` runs inside the transaction.
 */
export async function writeUsageBatch(
  db: SqlDatabase,
  events: UsageEvent[],
  parsed: ParsedEntry[],
  dead: DeadLetter[],
  hooks?: { beforeCommit?(events: readonly UsageEvent[]): void | Promise<void> },
): Promise<BatchWrite> {
  if (events.length === 0) return { written: 0, rejected: 0 };
  try {
    const written = await db.transaction(async (tx) => {
      const n = await insertUsageEvents(tx, events);
      await hooks?.beforeCommit?.(events);
      return n;
    });
    return { written, rejected: 0 };
  } catch (err) {
    if (!isRowRejection(err)) {
      throw new AppError(
        'DEPENDENCY_UNAVAILABLE',
        'Postgres did not take the usage batch; it stays pending',
        {
          cause: err,
        },
      );
    }
  }
  let written = 0;
  let rejected = 0;
  for (const event of events) {
    try {
      written += await insertUsageEvents(db, [event]);
    } catch (err) {
      if (!isRowRejection(err)) {
        throw new AppError('DEPENDENCY_UNAVAILABLE', 'Postgres failed while isolating a rejected usage row', {
          cause: err,
        });
      }
      for (const p of parsed) {
        if (p.ok && p.event.id === event.id) {
          rejected += 1;
          dead.push({
            entryId: p.entryId,
            reason: `rejected by Postgres: ${(err as Error).message}`,
            fields: { id: event.id, e: JSON.stringify(event) },
          });
        }
      }
    }
  }
  return { written, rejected };
}
