/**
 * Messages between JsonParsePool and worker.mjs; the worker reads these types through JSDoc, so
 * both sides of the thread boundary are checked against one declaration.
 *
 *   → JsonParseRequest
 *   ← JsonParseReply: the parsed JSON with each flattened input's data replaced by 0 and carried in `flats`
 *     (transfer list: each `values` buffer), or the kind of parse error.
 */

/** One input's numeric data, flattened off the main thread. */
export interface FlatJsonData {
  /** The nested data's dimensions; null when the data was a flat array. */
  dims: number[] | null;
  values: Float64Array;
}

/** A JSON body parsed off the main thread: the JSON, with flattened inputs' data in `flats` (by input index). */
export interface PreparsedJsonBody {
  root: unknown;
  flats: ReadonlyArray<FlatJsonData | null>;
}

export interface JsonParseRequest {
  id: number;
  bytes: ArrayBuffer;
}

export type JsonParseErrorKind = 'utf8' | 'json';

export type JsonParseReply =
  | { id: number; root: unknown; flats: Array<FlatJsonData | null> }
  | { id: number; error: { kind: JsonParseErrorKind; message: string } };

export interface JsonParseWorkerData {
  /** Nice value of the worker thread (see WORKER_THREAD_NICE). */
  nice: number;
  /** MAX_RANK of the main-thread decoder: deeper data is left for it to refuse. */
  maxRank: number;
}
