/**
 * One onnxruntime InferenceSession in a worker thread (session.run blocks its thread). Plain ESM JavaScript so
 * that it runs as-is under node, tsx and vitest, which do not transform worker entry files.
 *
 * Protocol (all messages are plain objects; tensor data travels in transfer lists, never as JSON):
 *   → { type: 'load', modelPath, attempts: [{ provider, options }] }
 *   ← { type: 'loaded', provider, fallbackReason, inputs, outputs } | { type: 'load-error', message }
 *   → { type: 'run', id, inputs: [{ name, type, dims, data }], outputNames }
 *   ← { type: 'result', id, outputs: [{ name, type, dims, data }] } | { type: 'run-error', id, message, phase }
 *     (phase: 'feeds' building the input tensors, 'run' inside session.run, 'outputs' reading the results)
 *   → { type: 'close' }   releases the session; the thread then exits with code 0.
 */
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { lowerThreadPriority } from './thread-priority.mjs';

/** @typedef {{ name: string, type: string, dims: number[], data: ArrayBufferView | string[] }} WireTensor */
/** @typedef {{ name: string, isTensor: boolean, type: string | null, shape: Array<number | string> }} WireMetadata */

if (!parentPort) throw new Error('session-worker.mjs must run in a worker thread');

lowerThreadPriority(workerData?.nice);
const port = parentPort;

/** @type {import('onnxruntime-node').InferenceSession | undefined} */
let session;

/**
 * @param {unknown} err
 * @returns {string}
 */
function messageOf(err) {
  return err instanceof Error ? err.message : String(err);
}

/**
 * @param {readonly import('onnxruntime-node').InferenceSession.ValueMetadata[]} list
 * @returns {WireMetadata[]}
 */
function plainMetadata(list) {
  return list.map((m) =>
    m.isTensor
      ? { name: m.name, isTensor: true, type: m.type, shape: [...m.shape] }
      : { name: m.name, isTensor: false, type: null, shape: [] },
  );
}

/**
 * @param {string} modelPath
 * @param {Array<{ provider: string, options: import('onnxruntime-node').InferenceSession.SessionOptions }>} attempts
 */
async function load(modelPath, attempts) {
  /** @type {string | null} */
  let fallbackReason = null;
  // A failed CUDA attempt makes onnxruntime print its own native error line; the pool logs the one clear
  // fallback line instead, so native logging is limited to fatal errors when CUDA is about to be tried.
  if (attempts.length > 1) ort.env.logLevel = 'fatal';
  for (let i = 0; i < attempts.length; i++) {
    const attempt = /** @type {{ provider: string, options: object }} */ (attempts[i]);
    try {
      session = await ort.InferenceSession.create(modelPath, attempt.options);
      port.postMessage({
        type: 'loaded',
        provider: attempt.provider,
        fallbackReason,
        inputs: plainMetadata(session.inputMetadata),
        outputs: plainMetadata(session.outputMetadata),
      });
      return;
    } catch (err) {
      if (i === attempts.length - 1) {
        port.postMessage({ type: 'load-error', message: messageOf(err) });
        return;
      }
      fallbackReason = messageOf(err);
    }
  }
}

/**
 * A typed array that owns its whole buffer, so the buffer can be transferred without detaching anything else.
 * @param {ArrayBufferView} data
 */
function ownedView(data) {
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) return data;
  return /** @type {ArrayBufferView} */ (/** @type {Uint8Array} */ (data).slice());
}

/**
 * @param {number} id
 * @param {WireTensor[]} inputs
 * @param {string[]} outputNames
 */
async function run(id, inputs, outputNames) {
  if (!session) {
    port.postMessage({ type: 'run-error', id, message: 'session is not loaded' });
    return;
  }
  /** @type {WireTensor[]} */
  let outputs;
  /** @type {'feeds' | 'run' | 'outputs'} */
  let phase = 'feeds';
  try {
    /** @type {Record<string, import('onnxruntime-node').Tensor>} */
    const feeds = {};
    for (const t of inputs) {
      feeds[t.name] = new ort.Tensor(
        /** @type {'float32'} */ (t.type),
        /** @type {Float32Array} */ (t.data),
        t.dims,
      );
    }
    phase = 'run';
    const results = await session.run(feeds, outputNames);
    phase = 'outputs';
    outputs = outputNames.map((name) => {
      const r = results[name];
      if (!r) throw new Error(`model produced no output '${name}'`);
      let data = /** @type {ArrayBufferView | string[]} */ (r.data);
      if (r.type === 'float16' && !(data instanceof Uint16Array)) {
        // Float16Array (where available): keep the half bits.
        const v = /** @type {ArrayBufferView} */ (data);
        data = new Uint16Array(v.buffer, v.byteOffset, v.byteLength / 2);
      }
      if (!Array.isArray(data)) data = ownedView(data);
      return { name, type: r.type, dims: [...r.dims], data };
    });
  } catch (err) {
    port.postMessage({ type: 'run-error', id, message: messageOf(err), phase });
    return;
  }
  /** @type {ArrayBuffer[]} */
  const transfer = [];
  for (const o of outputs) {
    if (!Array.isArray(o.data) && o.data.buffer instanceof ArrayBuffer) transfer.push(o.data.buffer);
  }
  const message = { type: 'result', id, outputs };
  try {
    port.postMessage(message, transfer);
  } catch {
    // Buffers onnxruntime will not let go of (external memory) are copied instead.
    port.postMessage(message);
  }
}

port.on('message', (/** @type {{ type: string, [key: string]: unknown }} */ msg) => {
  switch (msg.type) {
    case 'load':
      void load(/** @type {string} */ (msg.modelPath), /** @type {never} */ (msg.attempts));
      return;
    case 'run':
      void run(
        /** @type {number} */ (msg.id),
        /** @type {WireTensor[]} */ (msg.inputs),
        /** @type {string[]} */ (msg.outputNames),
      );
      return;
    case 'close':
      void (async () => {
        try {
          await session?.release();
        } finally {
          session = undefined;
          port.close();
        }
      })();
      return;
  }
});
