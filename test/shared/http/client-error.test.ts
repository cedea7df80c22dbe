import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { answerClientError, clientErrorFor } from '../../../shared/http/client-error.ts';

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A Node server with the listener, and a raw TCP exchange with it (bytes that fetch would never send). */
async function rawExchange(request: string): Promise<string> {
  server = createServer((_req, res) => res.end('{"ok":true}'));
  server.on('clientError', answerClientError);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(request));
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk.toString('utf8');
    });
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

function parse(answer: string): { status: number; headers: string; body: Record<string, unknown> } {
  const [head, body] = answer.split('\r\n\r\n');
  return { status: Number(head!.split(' ')[1]), headers: head!, body: JSON.parse(body!) };
}

describe('answerClientError', () => {
  it('answers headers over Node’s limit with 431 and the JSON error body', async () => {
    const answer = parse(
      await rawExchange(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`),
    );
    expect(answer.status).toBe(431);
    expect(answer.headers).toMatch(/Content-Type: application\/json/i);
    expect(answer.body).toEqual({
      error: 'request headers exceed the server limit of 16 KiB',
      code: 'HEADERS_TOO_LARGE',
    });
  });

  it('answers a malformed header line and a smuggling-shaped request with 400 JSON', async () => {
    const bad = parse(await rawExchange('GET / HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n'));
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'INVALID_REQUEST', error: expect.stringContaining('malformed') });
    const both = parse(
      await rawExchange(
        'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      ),
    );
    expect(both.status).toBe(400);
    expect(both.body).toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('still serves a well-formed request', async () => {
    const answer = await rawExchange('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1.1 200/);
  });

  it('maps Node’s request timeout to 408 and unknown parser codes to 400 naming them', () => {
    expect(clientErrorFor('ERR_HTTP_REQUEST_TIMEOUT')).toMatchObject({
      status: 408,
      code: 'REQUEST_TIMEOUT',
    });
    expect(clientErrorFor('HPE_SOMETHING_NEW')).toMatchObject({
      status: 400,
      message: expect.stringContaining('HPE_SOMETHING_NEW'),
    });
  });
});
