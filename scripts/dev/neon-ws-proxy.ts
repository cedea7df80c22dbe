/**
 * A WebSocket-to-TCP proxy for `@neondatabase/serverless`, the local stand-in for Neon's own proxy: the driver
 * (in Node or in workerd) opens `ws://<NEON_WS_PROXY>?address=host:port` when `neonConfig.wsProxy` is set, and
 * speaks the Postgres wire protocol inside binary frames. This proxy pipes those frames to one fixed Postgres
 * (a local server or the PGlite socket server). The `address` the driver asks for is ignored on purpose: a proxy
 * that dialled whatever it was told would be an open relay. Standalone: `tsx scripts/dev/neon-ws-proxy.ts` with
 * `NEON_WS_PROXY_PORT`, `NEON_WS_PROXY_TARGET` (host:port).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import { type WebSocket, WebSocketServer } from 'ws';
import { loadConfig } from '../../shared/config/load.ts';
import { neonWsProxyConfigSchema } from '../../shared/config/local.ts';

export interface NeonWsProxyOptions {
  targetHost: string;
  targetPort: number;
  port?: number;
  host?: string;
}

export interface NeonWsProxy {
  /** `host:port`, the value for `neonConfig.wsProxy` / `NEON_WS_PROXY` (no scheme: the driver adds it). */
  address: string;
  port: number;
  /** WebSocket connections accepted so far (lets tests prove traffic really went through the proxy). */
  connections(): number;
  close(): Promise<void>;
}

export async function startNeonWsProxy(options: NeonWsProxyOptions): Promise<NeonWsProxy> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'application/json', upgrade: 'websocket' });
    res.end(
      JSON.stringify({ error: 'this endpoint only accepts WebSocket upgrades (Neon wsProxy protocol)' }),
    );
  });
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  const sockets = new Set<Socket>();
  let accepted = 0;

  wss.on('connection', (ws: WebSocket) => {
    accepted++;
    const tcp = connect({ host: options.targetHost, port: options.targetPort });
    sockets.add(tcp);
    tcp.setNoDelay(true);
    // Frames that arrive before the TCP connect completes are buffered by the socket itself.
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
      const chunk = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      if (!tcp.write(chunk)) ws.pause();
    });
    tcp.on('drain', () => ws.resume());
    tcp.on('data', (chunk) => {
      ws.send(chunk, { binary: true });
      // Postgres can stream results faster than a slow WebSocket reader takes them: stop reading meanwhile.
      if (ws.bufferedAmount > 4 * 1024 * 1024) {
        tcp.pause();
        const resumeWhenDrained = () => {
          if (ws.readyState !== ws.OPEN) return;
          if (ws.bufferedAmount > 1024 * 1024) setTimeout(resumeWhenDrained, 5);
          else tcp.resume();
        };
        setTimeout(resumeWhenDrained, 5);
      }
    });
    ws.on('close', () => tcp.end());
    ws.on('error', () => tcp.destroy());
    tcp.on('close', () => {
      sockets.delete(tcp);
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(1000, 'database closed');
    });
    tcp.on('error', (err) => {
      // The driver only sees a closed socket; the reason goes to the close frame so it can be diagnosed.
      if (ws.readyState === ws.OPEN) ws.close(1011, `database unreachable: ${err.message}`.slice(0, 120));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    address: `${urlHost}:${port}`,
    port,
    connections: () => accepted,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

async function main(): Promise<void> {
  const config = loadConfig(neonWsProxyConfigSchema, process.env, 'Neon WebSocket proxy');
  const proxy = await startNeonWsProxy({
    targetHost: config.NEON_WS_PROXY_TARGET.host,
    targetPort: config.NEON_WS_PROXY_TARGET.port,
    port: config.NEON_WS_PROXY_PORT,
    host: config.NEON_WS_PROXY_HOST,
  });
  process.stdout.write(
    `Neon WebSocket proxy to ${config.NEON_WS_PROXY_TARGET.host}:${config.NEON_WS_PROXY_TARGET.port}\n` +
      `  NEON_WS_PROXY=${proxy.address}\n`,
  );
  const stop = () => void proxy.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`neon ws proxy failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
