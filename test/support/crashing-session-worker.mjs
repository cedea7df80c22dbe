/**
 * The real session worker, plus a way to crash it: session.run with an input named '__crash__' ends the thread
 * (exit code 3) as a native crash or an out-of-memory kill would, while the run is in flight.
 */
import ort from 'onnxruntime-node';
import '../../origin/runtime/session-worker.mjs';

const run = ort.InferenceSession.prototype.run;
/** @this {import('onnxruntime-node').InferenceSession} */
ort.InferenceSession.prototype.run = function (
  /** @type {Record<string, unknown>} */ feeds,
  /** @type {never[]} */ ...rest
) {
  if ('__crash__' in feeds) process.exit(3);
  return run.call(this, /** @type {never} */ (feeds), ...rest);
};
