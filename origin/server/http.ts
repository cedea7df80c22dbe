import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { answerClientError } from '../../shared/http/client-error.ts';

export interface RunningServer {
  url: string;
  port: number;
  /** Stops accepting connections and resolves when open ones have closed (or `forceAfterMs` passed). */
  close(forceAfterMs: number): Promise<void>;
}

/** PEM material for HTTPS; with `clientCa`, a client certificate signed by it is required (mTLS). */
export interface TlsMaterial {
  cert: string;
  key: string;
  clientCa?: string;
}

/** Binds the Hono app to a Node HTTP(S) server. Keep-alive is on: the edge and load tests reuse connections. */
export function listen(
  app: { fetch: (request: Request) => Response | Promise<Response> },
  options: { host: string; port: number; tls?: TlsMaterial },
): Promise<RunningServer> {
  const { tls } = options;
  const timeouts = { keepAliveTimeout: 65_000, requestTimeout: 120_000 };
  return new Promise((resolve, reject) => {
    const server = serve(
      {
        fetch: app.fetch,
        hostname: options.host,
        port: options.port,
        ...(tls
          ? {
              createServer: createHttpsServer,
              serverOptions: {
                ...timeouts,
                cert: tls.cert,
                key: tls.key,
                // Without a client CA, plain HTTPS; with one, the handshake refuses clients without its certificate.
                ...(tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
              },
            }
          : { serverOptions: timeouts }),
      },
      (info: AddressInfo) => {
        const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
        resolve({
          url: `${tls ? 'https' : 'http'}://${host}:${info.port}`,
          port: info.port,
          close: (forceAfterMs) => closeServer(server as Server, forceAfterMs),
        });
      },
    ) as Server;
    server.on('clientError', answerClientError);
    server.once('error', reject);
  });
}

function closeServer(server: Server, forceAfterMs: number): Promise<void> {
  return new Promise((resolve) => {
    // Keep-alive sockets would hold close() open until their timeout: close each one as soon as it is idle,
    // so busy ones still finish the response they are writing.
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    const force = setTimeout(() => {
      clearInterval(sweep);
      server.closeAllConnections();
      resolve();
    }, forceAfterMs);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      clearInterval(sweep);
      resolve();
    });
    server.closeIdleConnections();
  });
}
