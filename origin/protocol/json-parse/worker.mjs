// @ts-check
/**
 * Parses large JSON inference bodies off the main thread. Plain ESM JavaScript (like session-worker.mjs) so it
 * runs as-is under node, tsx and vitest; type-checked against the pool's message types in wire.ts.
 *
 * It does only the expensive, generic part: UTF-8 decoding, JSON.parse, and turning each input's numeric `data`
 * (flat, or nested and rectangular) into one Float64Array, which travels back in the transfer list instead of
 * being structured-cloned element by element. Everything protocol-specific (datatypes, shapes, ranges, error
 * messages) stays in decode-request.ts on the main thread, which treats a flattened input exactly as it would the
 * same numbers parsed there. Data it does not flatten (strings, booleans, mixed or ragged arrays) is sent back as
 * parsed, for the main thread to decode or refuse with its usual message.
 *
 * Messages: wire.ts. A flattened input's `data` is replaced by 0 in `root`; `flats[i]` belongs to `root.inputs[i]`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { lowerThreadPriority } from '../../runtime/thread-priority.mjs';

/** @typedef {import('./wire.ts').FlatJsonData} FlatJsonData */
/** @typedef {import('./wire.ts').JsonParseReply} JsonParseReply */
/** @typedef {import('./wire.ts').JsonParseRequest} JsonParseRequest */
/** @typedef {import('./wire.ts').JsonParseWorkerData} JsonParseWorkerData */

if (!parentPort) throw new Error('json-parse/worker.mjs must run in a worker thread');

const data = /** @type {Partial<JsonParseWorkerData> | undefined} */ (workerData);
lowerThreadPriority(data?.nice);
const port = parentPort;

/**
 * @param {JsonParseReply} message
 * @param {ArrayBuffer[]} [transfer]
 */
function reply(message, transfer) {
  port.postMessage(message, transfer);
}

/** parse-shape.ts' MAX_RANK, from the pool: deeper data is left for the main thread to refuse. */
const MAX_RANK = /** @type {number} */ (data?.maxRank);
if (!Number.isInteger(MAX_RANK)) throw new Error('json-parse/worker.mjs needs workerData.maxRank');
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * @param {unknown[]} values
 * @returns {boolean}
 */
function allNumbers(values) {
  for (let i = 0; i < values.length; i++) if (typeof values[i] !== 'number') return false;
  return true;
}

/**
 * Numbers of a flat array, or of a rectangular nested one (dimensions followed down the first elements);
 * null for anything else.
 * @param {unknown} data
 * @returns {FlatJsonData | null}
 */
function flatten(data) {
  if (!Array.isArray(data)) return null;
  if (data.length === 0 || !Array.isArray(data[0])) {
    return allNumbers(data)
      ? { dims: null, values: Float64Array.from(/** @type {number[]} */ (data)) }
      : null;
  }
  /** @type {number[]} */
  const dims = [];
  /** @type {unknown} */
  let level = data;
  while (Array.isArray(level)) {
    if (dims.length === MAX_RANK) return null;
    dims.push(level.length);
    level = level[0];
  }
  let count = 1;
  for (const d of dims) count *= d;
  const values = new Float64Array(count);
  let offset = 0;
  const rank = dims.length;
  /**
   * @param {unknown} node
   * @param {number} depth
   * @returns {boolean}
   */
  const fill = (node, depth) => {
    if (!Array.isArray(node) || node.length !== dims[depth]) return false;
    if (depth === rank - 1) {
      for (let i = 0; i < node.length; i++) {
        const v = node[i];
        if (typeof v !== 'number') return false;
        values[offset++] = v;
      }
      return true;
    }
    for (const child of node) if (!fill(child, depth + 1)) return false;
    return true;
  };
  return fill(data, 0) ? { dims, values } : null;
}

port.on('message', (/** @type {JsonParseRequest} */ msg) => {
  let text;
  try {
    text = decoder.decode(msg.bytes);
  } catch {
    reply({ id: msg.id, error: { kind: 'utf8', message: 'it is not valid UTF-8' } });
    return;
  }
  /** @type {unknown} */
  let root;
  try {
    root = JSON.parse(text);
  } catch (err) {
    reply({ id: msg.id, error: { kind: 'json', message: err instanceof Error ? err.message : String(err) } });
    return;
  }
  /** @type {Array<FlatJsonData | null>} */
  const flats = [];
  /** @type {ArrayBuffer[]} */
  const transfer = [];
  const inputs =
    root !== null && typeof root === 'object' && !Array.isArray(root)
      ? /** @type {Record<string, unknown>} */ (root).inputs
      : undefined;
  if (Array.isArray(inputs)) {
    for (const entry of inputs) {
      const flat =
        entry !== null && typeof entry === 'object' && !Array.isArray(entry)
          ? flatten(/** @type {Record<string, unknown>} */ (entry).data)
          : null;
      flats.push(flat);
      if (flat) {
        /** @type {Record<string, unknown>} */ (entry).data = 0;
        transfer.push(/** @type {ArrayBuffer} */ (flat.values.buffer));
      }
    }
  }
  reply({ id: msg.id, root, flats }, transfer);
});
