import type { AppError } from '../../shared/errors/index.ts';
import { RequestFailure } from './execute-batch.ts';

// Each resolved request continues into encoding and writing its response on the main thread (about 0.4 ms on
// the benchmark machine). A batch of 32 resolved at once is one ~15 ms burst that holds back timers and new
// I/O: event-loop lag. Resolving a slice per event-loop turn keeps each burst short.
const RESOLVE_SLICE = 8;

/** Settles a batch's requests with their results, RESOLVE_SLICE per event-loop turn. */
export function resolveInSlices<R>(
  entries: readonly { resolve(value: R): void; reject(reason: unknown): void }[],
  results: readonly (R | RequestFailure)[],
  onFailure: (error: AppError) => void,
  from = 0,
): void {
  const end = Math.min(from + RESOLVE_SLICE, entries.length);
  for (let i = from; i < end; i++) {
    const result = results[i]!;
    if (result instanceof RequestFailure) {
      onFailure(result.error);
      entries[i]!.reject(result.error);
    } else entries[i]!.resolve(result);
  }
  if (end < entries.length) setImmediate(() => resolveInSlices(entries, results, onFailure, end));
}
