/**
 * A cached inference answer as the caches hold it: status, the headers that describe the body, the body bytes
 * and when it was stored. Runtime-neutral (Workers and Node).
 */
export interface StoredResponse {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
  /** Epoch ms when the answer was stored (its age is reported in the `Age` header). */
  storedAt: number;
}

/** One tier of the response cache. Implementations: memory-cache.ts, redis-cache.ts, edge-cache.ts. */
export interface ResponseCache {
  /** The stored answer, or null when absent or expired. */
  get(key: string): Promise<StoredResponse | null>;
  /** Stores for `ttlSeconds` (a TTL of 0 stores nothing). */
  set(key: string, value: StoredResponse, ttlSeconds: number): Promise<void>;
  delete(key: string): Promise<void>;
}

/**
 * Headers that describe the body and are the same for every caller. Everything else (request id, trace
 * context, rate-limit headers, cookies, hop-by-hop headers) is per request and never stored.
 */
const STORED_HEADERS = new Set(['content-type', 'inference-header-content-length', 'content-language']);

export function storableHeaders(headers: Headers): [string, string][] {
  const out: [string, string][] = [];
  headers.forEach((value, name) => {
    if (STORED_HEADERS.has(name.toLowerCase())) out.push([name.toLowerCase(), value]);
  });
  return out.sort(([a], [b]) => (a < b ? -1 : 1));
}

export function storedResponseSize(value: StoredResponse): number {
  let size = value.body.byteLength + 64;
  for (const [k, v] of value.headers) size += k.length + v.length;
  return size;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const INFERENCE_HEADER = 'inference-header-content-length';
const NOT_JSON = Symbol('not JSON');
// Stored answers are never modified (withResponseId returns a copy), so what they carry cannot go stale.
const storedIds = new WeakMap<StoredResponse, { id: unknown } | typeof NOT_JSON>();

/** The JSON (header, for the binary extension) of a stored answer, or null when it is not a JSON object. */
function parseStoredJson(
  value: StoredResponse,
): { json: Record<string, unknown>; headerLength: number } | null {
  const headerLengthValue = value.headers.find(([k]) => k === INFERENCE_HEADER)?.[1];
  const headerLength = headerLengthValue === undefined ? value.body.byteLength : Number(headerLengthValue);
  if (!Number.isInteger(headerLength) || headerLength < 0 || headerLength > value.body.byteLength)
    return null;
  try {
    const parsed: unknown = JSON.parse(decoder.decode(value.body.subarray(0, headerLength)));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
    return { json: parsed as Record<string, unknown>, headerLength };
  } catch {
    return null;
  }
}

/**
 * The answer with its `id` set to the caller's request id (or removed when the caller sent none): the cache
 * key leaves `id` out, so a hit, or a coalesced answer, was computed for another request's `id`. Works for
 * JSON bodies and for the binary extension (whose JSON header length changes). Bodies that are not JSON are
 * returned unchanged.
 */
export function withResponseId(value: StoredResponse, id: string | undefined): StoredResponse {
  // A cached answer is served many times, mostly to callers sending the same id (or none): remember the id it
  // carries instead of parsing its JSON on every hit.
  const known = storedIds.get(value);
  if (known === NOT_JSON || (known !== undefined && known.id === id)) return value;
  const parsed = parseStoredJson(value);
  storedIds.set(value, parsed ? { id: parsed.json.id } : NOT_JSON);
  if (!parsed || parsed.json.id === id) return value;
  const { json, headerLength } = parsed;
  if (id === undefined) delete json.id;
  else json.id = id;
  const header = encoder.encode(JSON.stringify(json));
  const rest = value.body.subarray(headerLength);
  const body = new Uint8Array(header.byteLength + rest.byteLength);
  body.set(header, 0);
  body.set(rest, header.byteLength);
  const headers = value.headers.map(([k, v]): [string, string] =>
    k === INFERENCE_HEADER ? [k, String(header.byteLength)] : [k, v],
  );
  return { ...value, headers, body };
}

/** A fresh Response for one caller (each caller gets its own body stream). */
export function toResponse(value: StoredResponse, extraHeaders: Record<string, string> = {}): Response {
  const headers = new Headers(value.headers);
  for (const [k, v] of Object.entries(extraHeaders)) headers.set(k, v);
  return new Response(value.body.slice() as Uint8Array<ArrayBuffer>, { status: value.status, headers });
}

/** Reads a Response (status, storable headers, whole body) into a StoredResponse. */
export async function fromResponse(response: Response, storedAt: number): Promise<StoredResponse> {
  return {
    status: response.status,
    headers: storableHeaders(response.headers),
    body: new Uint8Array(await response.arrayBuffer()),
    storedAt,
  };
}
