// @ts-check
/**
 * One onnxruntime InferenceSession in a worker thread (session.run blocks its thread). Plain ESM JavaScript so
 * that it runs as-is under node, tsx and vitest, which do not transform worker entry files; type-checked
 * against the pool's message types in wire.ts.
 *
 * A run that fails reports its phase: 'feeds' building the input tensors, 'run' inside session.run, 'outputs'
 * reading the results (run-failure.ts tells the input's fault from the origin's by it).
 */
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { lowerThreadPriority } from './thread-priority.mjs';

/** @typedef {import('./wire.ts').PoolMessage} PoolMessage */
/** @typedef {import('./wire.ts').WorkerMessage} WorkerMessage */
/** @typedef {import('./wire.ts').WireTensor} WireTensor */
/** @typedef {import('./wire.ts').WireMetadata} WireMetadata */
/** @typedef {import('./wire.ts').RunPhase} RunPhase */
/** @typedef {import('./wire.ts').SessionWorkerData} SessionWorkerData */
/** @typedef {import('./execution-provider.ts').SessionAttempt} SessionAttempt */

if (!parentPort) throw new Error('session-worker.mjs must run in a worker thread');

lowerThreadPriority(/** @type {Partial<SessionWorkerData> | undefined} */ (workerData)?.nice);
const port = parentPort;

/**
 * @param {WorkerMessage} message
 * @param {ArrayBuffer[]} [transfer]
 */
function reply(message, transfer) {
  port.postMessage(message, transfer);
}

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
 * @param {SessionAttempt[]} attempts
 */
async function load(modelPath, attempts) {
  /** @type {string | null} */
  let fallbackReason = null;
  // A failed CUDA attempt makes onnxruntime print its own native error line; the pool logs the one clear
  // fallback line instead, so native logging is limited to fatal errors when CUDA is about to be tried.
  if (attempts.length > 1) ort.env.logLevel = 'fatal';
  for (let i = 0; i < attempts.length; i++) {
    const attempt = /** @type {SessionAttempt} */ (attempts[i]);
    try {
      session = await ort.InferenceSession.create(modelPath, attempt.options);
      reply({
        type: 'loaded',
        provider: attempt.provider,
        fallbackReason,
        inputs: plainMetadata(session.inputMetadata),
        outputs: plainMetadata(session.outputMetadata),
      });
      return;
    } catch (err) {
      if (i === attempts.length - 1) {
        reply({ type: 'load-error', message: messageOf(err) });
        return;
      }
      fallbackReason = messageOf(err);
    }
  }
}

/**
 * A typed array that owns its whole buffer, so the buffer can be transferred without detaching anything else.
 * @template {ArrayBufferView} T
 * @param {T} data
 * @returns {T}
 */
function ownedView(data) {
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) return data;
  return /** @type {T} */ (
    /** @type {unknown} */ (/** @type {Uint8Array} */ (/** @type {unknown} */ (data)).slice())
  );
}

/**
 * @param {number} id
 * @param {WireTensor[]} inputs
 * @param {string[]} outputNames
 */
async function run(id, inputs, outputNames) {
  if (!session) {
    reply({ type: 'run-error', id, message: 'session is not loaded' });
    return;
  }
  /** @type {WireTensor[]} */
  let outputs;
  /** @type {RunPhase} */
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
      let data = /** @type {WireTensor['data']} */ (r.data);
      if (r.type === 'float16' && !(data instanceof Uint16Array)) {
        // Float16Array (where available): keep the half bits.
        const v = /** @type {ArrayBufferView} */ (/** @type {unknown} */ (data));
        data = new Uint16Array(v.buffer, v.byteOffset, v.byteLength / 2);
      }
      if (!Array.isArray(data)) data = ownedView(data);
      return { name, type: r.type, dims: [...r.dims], data };
    });
  } catch (err) {
    reply({ type: 'run-error', id, message: messageOf(err), phase });
    return;
  }
  /** @type {ArrayBuffer[]} */
  const transfer = [];
  for (const o of outputs) {
    if (!Array.isArray(o.data) && o.data.buffer instanceof ArrayBuffer) transfer.push(o.data.buffer);
  }
  /** @type {WorkerMessage} */
  const message = { type: 'result', id, outputs };
  try {
    reply(message, transfer);
  } catch {
    // Buffers onnxruntime will not let go of (external memory) are copied instead.
    reply(message);
  }
}

port.on('message', (/** @type {PoolMessage} */ msg) => {
  switch (msg.type) {
    case 'load':
      void load(msg.modelPath, msg.attempts);
      return;
    case 'run':
      void run(msg.id, msg.inputs, msg.outputNames);
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
