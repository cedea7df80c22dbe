import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { AppError } from '../../shared/errors/index.ts';

export type BodyVariables = { rawBody: Uint8Array };

const HEADER_LENGTH = 'inference-header-content-length';
/** The widest element of a fixed-size tensor datatype (FP64, INT64, UINT64). */
const TENSOR_ALIGNMENT = 8;

/**
 * Bytes to leave in front of a binary-extension body so that its binary section (which starts after the JSON
 * header of `Inference-Header-Content-Length` bytes) lands on an 8-byte boundary: the first tensor can then be
 * viewed in place instead of copied into a fresh typed array. 0 when the header is absent or malformed (the
 * decoder reports that).
 */
export function binarySectionPad(headerLength: string | undefined): number {
  if (headerLength === undefined) return 0;
  const n = Number(headerLength.trim());
  return Number.isSafeInteger(n) && n > 0
    ? (TENSOR_ALIGNMENT - (n % TENSOR_ALIGNMENT)) % TENSOR_ALIGNMENT
    : 0;
}

function tooLarge(limit: number): AppError {
  return new AppError('PAYLOAD_TOO_LARGE', `request body exceeds the limit of ${limit} bytes`);
}

/**
 * Reads the request body once, bounded by `limit`, and caches it on the context (the signature check and the
 * handler both need it). Under @hono/node-server it reads the Node request directly into one buffer sized by
 * Content-Length: the Web-stream path costs an extra copy and several allocations per chunk, which at
 * thousands of 100 KB tensors per second is most of the origin's garbage.
 */
export async function readBody(c: Context, limit: number): Promise<Uint8Array> {
  const cached = c.get('rawBody') as Uint8Array | undefined;
  if (cached) return cached;
  const declared = c.req.header('content-length');
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit);
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  const body =
    incoming && !incoming.readableEnded
      ? await readIncoming(incoming, declared, limit, binarySectionPad(c.req.header(HEADER_LENGTH)))
      : await readWeb(c, limit);
  c.set('rawBody', body);
  return body;
}

async function readWeb(c: Context, limit: number): Promise<Uint8Array> {
  const body = new Uint8Array(await c.req.arrayBuffer());
  if (body.byteLength > limit) throw tooLarge(limit);
  return body;
}

function readIncoming(
  incoming: IncomingMessage,
  declared: string | undefined,
  limit: number,
  pad: number,
): Promise<Uint8Array> {
  const expected = declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : -1;
  return new Promise((resolve, reject) => {
    // allocUnsafeSlow: never a slice of Node's shared pool, so tensors viewing the body own no foreign bytes.
    let buffer = expected >= 0 ? Buffer.allocUnsafeSlow(expected + pad).subarray(pad) : undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    const cleanup = () => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('aborted', onAborted);
    };
    const fail = (err: AppError) => {
      cleanup();
      incoming.resume();
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      if (received + chunk.length > limit) return fail(tooLarge(limit));
      if (buffer && received + chunk.length <= buffer.length) chunk.copy(buffer, received);
      else {
        // Chunked upload, or more than Content-Length said (Node rejects the latter; keep it safe anyway).
        if (buffer) {
          chunks.push(buffer.subarray(0, received));
          buffer = undefined;
        }
        chunks.push(chunk);
      }
      received += chunk.length;
    };
    const onEnd = () => {
      cleanup();
      if (buffer) resolve(new Uint8Array(buffer.buffer, buffer.byteOffset, received));
      else {
        const all = Buffer.concat(chunks, received);
        resolve(new Uint8Array(all.buffer, all.byteOffset, all.byteLength));
      }
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new AppError('INVALID_REQUEST', `request body could not be read: ${err.message}`));
    };
    const onAborted = () => onError(new Error('client closed the connection'));
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('aborted', onAborted);
  });
}
