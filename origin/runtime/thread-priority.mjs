/**
 * Lowers the calling thread's priority. Plain ESM JavaScript, for the worker entry scripts (session-worker.mjs,
 * json-parse-worker.mjs), which run untransformed.
 *
 * On Linux the nice value is per thread (setpriority(2) with who = 0 names the calling thread), and threads it
 * starts afterwards (onnxruntime's intra-op pool) inherit it, so the event loop's thread keeps its own priority.
 * Lowering is always permitted; where it fails the thread keeps the process's priority, which only affects lag.
 * @param {unknown} nice 1–19; anything else leaves the priority alone
 */
import { setPriority } from 'node:os';

export function lowerThreadPriority(nice) {
  if (typeof nice !== 'number' || !Number.isInteger(nice) || nice <= 0) return;
  try {
    setPriority(0, Math.min(19, nice));
  } catch {
    // Not permitted or not supported here.
  }
}
