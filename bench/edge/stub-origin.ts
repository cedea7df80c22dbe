import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StubOrigin {
  url: string;
  /** Inference requests received (cache misses that reached the origin). */
  inferCalls(): number;
  /** Answers inference requests only after this long from now on (tests that need requests to overlap). */
  setInferDelay(ms: number): void;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * A minimal Open Inference Protocol origin on 127.0.0.1 (unsigned, `ORIGIN_AUTH=off` semantics): infer echoes
 * a fixed FP32 output, metadata and readiness answer for any model. For edge tests and benchmarks that need
 * an origin behind the router without onnxruntime.
 */
export async function startStubOrigin(options: { port?: number } = {}): Promise<StubOrigin> {
  let calls = 0;
  let inferDelayMs = 0;
  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req);
    const path = (req.url ?? '/').split('?')[0]!;
    const infer = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?\/infer$/.exec(path);
    res.setHeader('content-type', 'application/json');
    if (infer && req.method === 'POST') {
      calls += 1;
      if (inferDelayMs > 0) await new Promise((r) => setTimeout(r, inferDelayMs));
      let id: string | undefined;
      try {
        id = (JSON.parse(body.toString('utf8')) as { id?: string }).id;
      } catch {
        id = undefined;
      }
      res.end(
        JSON.stringify({
          model_name: decodeURIComponent(infer[1]!),
          model_version: infer[2] ?? '1',
          ...(id ? { id } : {}),
          outputs: [{ name: 'y', datatype: 'FP32', shape: [1, 2], data: [0.25, 0.75] }],
        }),
      );
      return;
    }
    const meta = /^\/v2\/models\/([^/]+)(\/ready)?$/.exec(path);
    if (meta && req.method === 'GET') {
      if (meta[2]) {
        res.end(JSON.stringify({ ready: true }));
        return;
      }
      res.end(
        JSON.stringify({
          name: decodeURIComponent(meta[1]!),
          versions: ['1'],
          platform: 'onnxruntime_onnx',
          inputs: [],
          outputs: [],
        }),
      );
      return;
    }
    if (path.startsWith('/v2/health')) {
      res.end(JSON.stringify({ ready: true, live: true }));
      return;
    }
    res.statusCode = 404;
    res.end(JSON.stringify({ error: `no route ${path}`, code: 'NOT_FOUND' }));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    inferCalls: () => calls,
    setInferDelay: (ms) => {
      inferDelayMs = ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
