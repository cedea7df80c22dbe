import { createHash } from 'node:crypto';
import { type ParsedBody, parseInferBody } from './parse.ts';

export interface ParsedBodyMemoOptions {
  /** Bodies larger than this are parsed every time (their parse is small next to their transfer). */
  maxBodyBytes: number;
  /** Raw bytes of all remembered bodies together; the least recently used go first beyond it. */
  maxTotalBytes: number;
  /** Largest JSON part parsed (parseInferBody's limit). */
  maxJsonBytes?: number;
}

interface Entry {
  parsed: ParsedBody;
  bytes: number;
}

/**
 * Remembers the parse of recently seen inference bodies, keyed by a SHA-256 of the exact bytes and the
 * `Inference-Header-Content-Length` header. A repeated request (every cache hit is one) then skips JSON
 * parsing and validation, and the response cache, keyed by the parsed object, skips canonicalising and hashing
 * it again: the same bytes always parse to the same request, so nothing changes but the cost.
 *
 * Only successful parses are kept; a malformed body is parsed (and refused) every time. The parsed request is
 * shared between requests, so nothing downstream may modify it.
 */
export class ParsedBodyMemo {
  readonly #options: ParsedBodyMemoOptions;
  readonly #entries = new Map<string, Entry>();
  #totalBytes = 0;

  constructor(options: ParsedBodyMemoOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#entries.size;
  }

  parse(body: Uint8Array, headerLengthRaw: string | undefined): ParsedBody {
    if (body.byteLength > this.#options.maxBodyBytes)
      return parseInferBody(body, headerLengthRaw, this.#options.maxJsonBytes);
    const key = createHash('sha256')
      .update(headerLengthRaw === undefined ? '-' : `h${headerLengthRaw}`)
      .update('\n')
      .update(body)
      .digest('base64');
    const known = this.#entries.get(key);
    if (known) {
      // Map order is insertion order: re-inserting marks the entry most recently used.
      this.#entries.delete(key);
      this.#entries.set(key, known);
      return known.parsed;
    }
    const parsed = parseInferBody(body, headerLengthRaw, this.#options.maxJsonBytes);
    this.#entries.set(key, { parsed, bytes: body.byteLength });
    this.#totalBytes += body.byteLength;
    for (const [oldest, entry] of this.#entries) {
      if (this.#totalBytes <= this.#options.maxTotalBytes) break;
      this.#entries.delete(oldest);
      this.#totalBytes -= entry.bytes;
    }
    return parsed;
  }
}
