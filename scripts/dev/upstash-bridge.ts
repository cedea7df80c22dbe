/**
 * An Upstash-compatible REST endpoint in front of a real Redis, the local stand-in for Upstash (the equivalent of
 * its own `upstash-redis-local`/serverless-redis-http bridge), so `@upstash/redis` and `@upstash/ratelimit` run
 * unchanged against `redis://127.0.0.1:6379`. Standalone: `tsx scripts/dev/upstash-bridge.ts` with `REDIS_URL`,
 * `UPSTASH_BRIDGE_PORT`, `UPSTASH_BRIDGE_TOKEN`.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { loadConfig } from '../../shared/config/load.ts';
import { upstashBridgeConfigSchema } from '../../shared/config/local.ts';
import {
  BridgeInputError,
  commandFromPath,
  forbiddenReason,
  type RedisCommand,
  toCommand,
  toCommandList,
} from './upstash/commands.ts';
import { type Outcome, RedisExecutor } from './upstash/executor.ts';
import { encodeReply, isReplyError, type ReplyEncoding } from './upstash/reply.ts';

export interface UpstashBridgeOptions {
  redisUrl: string;
  token: string;
  port?: number;
  host?: string;
  /** Largest request body accepted; larger ones get 413. */
  maxBodyBytes?: number;
}

export interface UpstashBridge {
  url: string;
  token: string;
  /** HTTP requests served so far (every request, authorised or not): lets tests count round trips. */
  requests(): number;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startUpstashBridge(options: UpstashBridgeOptions): Promise<UpstashBridge> {
  const host = options.host ?? '127.0.0.1';
  const maxBody = options.maxBodyBytes ?? 64 * 1024 * 1024;
  const expected = Buffer.from(`Bearer ${options.token}`);
  const executor = await RedisExecutor.connect(options.redisUrl);
  let served = 0;

  const authorised = (req: IncomingMessage, query: URLSearchParams): boolean => {
    const given = req.headers.authorization ?? (query.has('_token') ? `Bearer ${query.get('_token')}` : '');
    const buf = Buffer.from(given);
    return buf.length === expected.length && timingSafeEqual(buf, expected);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://bridge');
    if (!authorised(req, url.searchParams)) return send(res, 401, { error: 'Unauthorized' });
    if (req.method !== 'GET' && req.method !== 'POST' && req.method !== 'PUT') {
      res.setHeader('allow', 'GET, POST, PUT');
      return send(res, 405, { error: `ERR method ${req.method} not allowed` });
    }
    const encoding: ReplyEncoding =
      String(req.headers['upstash-encoding'] ?? '').toLowerCase() === 'base64' ? 'base64' : 'utf8';
    const body = await readBody(req, maxBody);
    const path = url.pathname.replace(/\/+$/, '') || '/';

    if (path === '/pipeline' || path === '/multi-exec') {
      const cmds = toCommandList(parseJson(body));
      for (const c of cmds) rejectForbidden(c);
      const outcomes =
        path === '/pipeline' ? await executor.pipeline(cmds) : await executor.transaction(cmds);
      const down = outcomes.find((o) => !o.ok && !isReplyError(o.error));
      if (down && !down.ok) throw down.error;
      return send(
        res,
        200,
        outcomes.map((o) => toEntry(o, encoding)),
      );
    }

    const cmd: RedisCommand =
      path === '/' ? toCommand(parseJson(body)) : commandFromPath(path, url.searchParams, body);
    rejectForbidden(cmd);
    const [outcome] = await executor.pipeline([cmd]);
    if (!outcome!.ok) throw outcome!.error;
    return send(res, 200, { result: encodeReply(outcome!.value, encoding) });
  };

  const server = createServer((req, res) => {
    served++;
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (err instanceof HttpError) return send(res, err.status, { error: err.message });
      if (err instanceof BridgeInputError || isReplyError(err)) return send(res, 400, { error: err.message });
      // Anything else is Redis being unreachable (or a bug): say so, with the cause.
      const message = err instanceof Error ? err.message : String(err);
      send(res, 503, { error: `ERR Redis unavailable: ${message}` });
    });
  });
  server.keepAliveTimeout = 30_000;

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => resolve());
    });
  } catch (err) {
    await executor.close();
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    token: options.token,
    requests: () => served,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await executor.close();
    },
  };
}

function rejectForbidden(cmd: RedisCommand): void {
  const reason = forbiddenReason(cmd);
  if (reason) throw new BridgeInputError(reason);
}

function toEntry(o: Outcome, encoding: ReplyEncoding): { result: unknown } | { error: string } {
  return o.ok ? { result: encodeReply(o.value, encoding) } : { error: o.error.message };
}

function parseJson(body: string): unknown {
  if (body === '') throw new BridgeInputError('ERR request body is empty; expected a JSON array command');
  try {
    return JSON.parse(body);
  } catch {
    throw new BridgeInputError('ERR request body is not valid JSON');
  }
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new HttpError(413, `ERR request body larger than ${limit} bytes`));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function main(): Promise<void> {
  const config = loadConfig(upstashBridgeConfigSchema, process.env, 'Upstash bridge');
  const token = config.UPSTASH_BRIDGE_TOKEN ?? randomBytes(24).toString('base64url');
  const bridge = await startUpstashBridge({
    redisUrl: config.REDIS_URL,
    token,
    port: config.UPSTASH_BRIDGE_PORT,
    host: config.UPSTASH_BRIDGE_HOST,
  });
  process.stdout.write(
    `Upstash REST bridge for ${config.REDIS_URL} at ${bridge.url}\n` +
      `  UPSTASH_REDIS_REST_URL=${bridge.url}\n  UPSTASH_REDIS_REST_TOKEN=${token}\n`,
  );
  const stop = () => void bridge.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`upstash bridge failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
