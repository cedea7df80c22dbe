import { describe, expect, it } from 'vitest';
import { OversizedBodyError, readBoundedBody } from '../../../workers/routing/bounded-body.ts';

function streamed(chunks: number[]): Response {
  let i = 0;
  return new Response(
    new ReadableStream<Uint8Array>({
      pull(controller) {
        if (i === chunks.length) return controller.close();
        controller.enqueue(new Uint8Array(chunks[i]!).fill(i + 1));
        i++;
      },
    }),
  );
}

describe('readBoundedBody', () => {
  it('reads a streamed answer up to the limit, byte for byte', async () => {
    const body = await readBoundedBody(streamed([3, 4, 3]), 10);
    expect(Array.from(body)).toEqual([1, 1, 1, 2, 2, 2, 2, 3, 3, 3]);
  });

  it('stops reading a streamed answer as soon as it passes the limit', async () => {
    await expect(readBoundedBody(streamed([6, 6, 6]), 10)).rejects.toBeInstanceOf(OversizedBodyError);
  });

  it('refuses by Content-Length before reading anything', async () => {
    const res = new Response('x'.repeat(20), { headers: { 'content-length': '20' } });
    await expect(readBoundedBody(res, 10)).rejects.toMatchObject({ maxBytes: 10 });
  });

  it('reads an empty answer', async () => {
    expect((await readBoundedBody(new Response(null, { status: 204 }), 10)).byteLength).toBe(0);
  });
});
