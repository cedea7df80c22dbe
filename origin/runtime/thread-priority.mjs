/**
 * Thread priority for the worker entry scripts (runtime/session-worker.mjs, protocol/json-parse/worker.mjs). Plain ESM
 * JavaScript, because they run untransformed.
 */
import { setPriority } from 'node:os';

/**
 * Lowers the calling thread's priority. On Linux the nice value is per thread (setpriority(2) with who = 0 names
 * the calling thread), and threads it starts afterwards (onnxruntime's intra-op pool) inherit it, so the event
 * loop's thread keeps its own priority. Lowering is always permitted; where it fails the thread keeps the
 * process's priority, which only affects lag.
 * @param {unknown} nice 1–19; anything else leaves the priority alone
 */
export function lowerThreadPriority(nice) {
  if (typeof nice !== 'number' || !Number.isInteger(nice) || nice <= 0) return;
  try {
    setPriority(0, Math.min(19, nice));
  } catch {
    // Not permitted or not supported here.
  }
}
