import { concatBytes } from '../../shared/bytes.ts';

/**
 * Reads an origin's answer into memory, at most `maxBytes` of it. An origin is a rented host the edge does not
 * fully trust: an answer larger than any the platform produces must not be able to exhaust an isolate's memory
 * (128 MB on Workers, shared by every request it serves), so reading stops and the attempt fails.
 */
export class OversizedBodyError extends Error {
  constructor(readonly maxBytes: number) {
    super(`origin answer exceeds ${maxBytes} bytes`);
  }
}

export async function readBoundedBody(response: Response, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw new OversizedBodyError(maxBytes);
  }
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new OversizedBodyError(maxBytes);
    }
    chunks.push(value);
  }
  return chunks.length === 1 ? chunks[0]! : concatBytes(chunks, total);
}
