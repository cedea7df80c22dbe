import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createVerifier, MemoryReplayCache } from '../../../shared/signing/index.ts';

export const SIGNING = { keyId: 'edge-test', secret: 'edge-test-secret-0123456789abcdef' };

export type Behaviour =
  | { kind: 'ok' }
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  /** Accepts the request and never answers. */
  | { kind: 'hang' }
  /** Destroys the connection without an answer. */
  | { kind: 'reset' }
  /** Answers like `ok`, but only once `until` resolves. */
  | { kind: 'gate'; until: Promise<void> };

interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  signatureOk: boolean;
}

/**
 * A node:http server that imitates an origin: answers infer requests with a JSON body naming itself (and a
 * counter, so tests can tell a cached answer from a fresh one), or misbehaves as told. Verifies the edge's
 * signature with the same module the real origin uses.
 */
export interface FakeOrigin {
  id: string;
  url: string;
  seen: SeenRequest[];
  behave(b: Behaviour): void;
  /** Stops listening and cuts open connections (a killed process). */
  kill(): Promise<void>;
  close(): Promise<void>;
}

export async function startFakeOrigin(
  id: string,
  behaviour: Behaviour = { kind: 'ok' },
): Promise<FakeOrigin> {
  let current = behaviour;
  const seen: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  const hanging = new Set<ServerResponse>();
  const verifier = createVerifier({
    keys: new Map([[SIGNING.keyId, SIGNING.secret]]),
    maxSkewSeconds: 300,
    replayCache: new MemoryReplayCache(),
  });
  let served = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const result = await verifier.verify({
        method: req.method ?? 'GET',
        pathWithQuery: req.url ?? '/',
        headers: { get: (n) => (req.headers[n.toLowerCase()] as string | undefined) ?? null },
        body: new Uint8Array(body),
      });
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body,
        signatureOk: result.ok,
      });
      const b = current;
      if (b.kind === 'hang') {
        hanging.add(res);
        return;
      }
      if (b.kind === 'reset') {
        req.socket.destroy();
        return;
      }
      if (b.kind === 'status') {
        res.writeHead(b.status, { 'content-type': 'application/json', ...b.headers });
        res.end(b.body ?? JSON.stringify({ error: `fake ${b.status}`, code: 'FAKE' }));
        return;
      }
      if (b.kind === 'gate') await b.until;
      served++;
      let requestId: unknown;
      try {
        requestId = (JSON.parse(body.toString('utf8')) as { id?: unknown }).id;
      } catch {
        requestId = undefined;
      }
      const answer: Record<string, unknown> = { model_name: 'm', model_version: '1', origin: id, served };
      if (typeof requestId === 'string') answer.id = requestId;
      answer.outputs = [{ name: 'y', datatype: 'FP32', shape: [1], data: [served] }];
      res.writeHead(200, { 'content-type': 'application/json', 'x-origin-id': id });
      res.end(JSON.stringify(answer));
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const kill = async () => {
    for (const s of sockets) s.destroy();
    hanging.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    id,
    url: `http://127.0.0.1:${port}`,
    seen,
    behave(b) {
      current = b;
    },
    kill,
    async close() {
      if (server.listening) await kill();
    },
  };
}

/** A URL on which nothing listens (connection refused). */
export async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
