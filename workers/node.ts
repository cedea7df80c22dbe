import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ServerType, serve } from '@hono/node-server';
import { WebSocket } from 'ws';
import { answerClientError } from '../shared/http/client-error.ts';
import { createNodePlatform, fileLastKnownStore } from './adapters/node.ts';
import { nodeOriginFetch } from './adapters/node-origin-tls.ts';
import { type BuiltEdge, buildEdge } from './build.ts';
import { readEdgeSettings } from './config.ts';

export interface NodeEdge {
  url: string;
  edge: BuiltEdge;
  /** Waits for background work (usage events, cache fills) started so far. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The edge app under Node (`npm run edge:node`): the same configuration and wiring as under wrangler, served
 * by @hono/node-server, for benchmarks and fast tests. No Cache API here: the edge tier is the in-process LRU, and
 * the last known fleet is kept in files (`FLEET_SNAPSHOT_DIR`).
 */
export async function startNodeEdge(env: Record<string, string | undefined>): Promise<NodeEdge> {
  const settings = readEdgeSettings(env);
  const node = createNodePlatform();
  const originFetch = await nodeOriginFetch(settings.edge);
  const edge = await buildEdge(settings, {
    perUseDatabase: false,
    webSocket: WebSocket,
    platform: () => node.platform,
    deps: {
      ...(originFetch ? { originFetch } : {}),
      // The fleet snapshot a restarted edge on this host routes on while Redis is down.
      lastKnown: fileLastKnownStore(settings.routing.FLEET_SNAPSHOT_DIR ?? join(tmpdir(), 'aiserve-edge')),
    },
  });
  const { EDGE_HOST: hostname, EDGE_PORT: port } = edge.services.config;
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: edge.app.fetch, hostname, port }, () => resolve(s));
    s.on('clientError', answerClientError);
  });
  const address = server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  return {
    url: `http://${hostname}:${boundPort}`,
    edge,
    settle: node.settle,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await node.settle();
      await edge.services.usage.flush().catch(() => {});
      await edge.database?.close();
    },
  };
}

async function main(): Promise<void> {
  const running = await startNodeEdge(process.env);
  running.edge.services.logger.info({ url: running.url }, 'edge listening (Node)');
  const stop = () => {
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
