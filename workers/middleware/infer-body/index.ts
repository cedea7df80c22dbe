import type { MiddlewareHandler } from 'hono';
import { AppError } from '../../../shared/errors/index.ts';
import type { InferRequestJson } from '../../../shared/protocol/infer-request.ts';
import { jsonTooLarge } from './parse.ts';
import { ParsedBodyMemo } from './parsed-body-memo.ts';

export { batchItems, parseInferBody } from './parse.ts';

// Enough for a few hundred typical small requests; at most a few MiB of parsed JSON per isolate.
const MEMO_LIMITS = { maxBodyBytes: 16 * 1024, maxTotalBytes: 1024 * 1024 };

const INFER_PATH = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?\/infer$/;

function decodeSegment(segment: string, what: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new AppError('INVALID_REQUEST', `${what} in the path is not valid percent-encoding`);
  }
}

/** A parsed inference request. */
export interface ParsedInference {
  model: string;
  version: string | null;
  /** The body exactly as received (forwarded and hashed as is). */
  rawBody: Uint8Array;
  contentType: string;
  /** `Inference-Header-Content-Length` (binary tensor extension), else null. */
  headerLength: number | null;
  /** The JSON header: the whole body, or its first `headerLength` bytes. */
  request: InferRequestJson;
  /** Batch size (the largest first dimension over the inputs): the rate-limit cost. */
  items: number;
}

export interface InferBodyVariables {
  /** Set on `POST …/infer`; undefined on every other request. */
  inference: ParsedInference | undefined;
}

export interface InferBodyOptions {
  /**
   * Largest JSON part of a body: the whole body, or the header before the binary tensor bytes. Parsing JSON
   * costs the edge several times its size in memory (the decoded text, the parsed values, the canonical
   * form for the cache key), and a Worker isolate has 128 MB for every request it serves at once; tensor bytes
   * sent with the binary extension are never parsed, so they may go up to the route's body limit.
   */
  maxJsonBytes: number;
}

/**
 * Reads and parses `POST /v2/models/{m}[/versions/{v}]/infer` bodies before rate limiting, which needs the
 * batch size (`items`, the limiter's cost). Sets `c.get('inference')`; other paths pass. Repeated bodies are
 * parsed once (`ParsedBodyMemo`).
 *
 * @example
 * app.use('/v2/models/*', inferBody({ maxJsonBytes: 8 * 1024 * 1024 }));
 */
export function inferBody(options: InferBodyOptions): MiddlewareHandler<{ Variables: InferBodyVariables }> {
  const parsedBodies = new ParsedBodyMemo({ ...MEMO_LIMITS, maxJsonBytes: options.maxJsonBytes });
  return async function inferBodyMiddleware(c, next) {
    const match = c.req.method === 'POST' ? INFER_PATH.exec(c.req.path) : null;
    if (!match) {
      await next();
      return;
    }
    const contentType = (c.req.header('content-type') ?? 'application/json').toLowerCase();
    const binary = c.req.header('inference-header-content-length') !== undefined;
    if (!contentType.startsWith('application/json') && !contentType.startsWith('application/octet-stream')) {
      throw new AppError(
        'UNSUPPORTED_MEDIA_TYPE',
        `content-type "${contentType}" is not supported: send application/json, or application/octet-stream with Inference-Header-Content-Length`,
      );
    }
    if (contentType.startsWith('application/octet-stream') && !binary) {
      throw new AppError(
        'INVALID_REQUEST',
        'application/octet-stream bodies need Inference-Header-Content-Length',
      );
    }
    const declared = Number(c.req.header('content-length'));
    // A whole-JSON body over the limit is refused before it is read; parsing checks every JSON part again.
    if (!binary && declared > options.maxJsonBytes) throw jsonTooLarge(declared, options.maxJsonBytes);
    const rawBody = new Uint8Array(await c.req.arrayBuffer());
    const parsed = parsedBodies.parse(rawBody, c.req.header('inference-header-content-length'));
    c.set('inference', {
      model: decodeSegment(match[1]!, 'model name'),
      version: match[2] === undefined ? null : decodeSegment(match[2], 'model version'),
      rawBody,
      contentType,
      headerLength: parsed.headerLength,
      request: parsed.request,
      items: parsed.items,
    });
    await next();
  };
}
