import { type Clock, systemClock } from '../shared/clock.ts';
import { type OriginConfig, parseSigningKeys } from '../shared/config/origin.ts';
import { createVerifier, MemoryReplayCache } from '../shared/signing/index.ts';
import { assertFleetConfig, joinFleet } from './fleet/join-fleet.ts';
import { Lifecycle } from './lifecycle.ts';
import { createGpuSampler } from './observability/gpu.ts';
import type { Logger } from './observability/logger.ts';
import { createOriginMetrics, type OriginMetrics, type PendingCount } from './observability/metrics.ts';
import { initTracing, type Tracing } from './observability/tracing.ts';
import { JsonParsePool } from './protocol/json-parse/pool.ts';
import { Readiness } from './readiness.ts';
import { ModelRepository } from './repository/repository.ts';
import { executionOptionsFromConfig } from './runtime/execution-provider.ts';
import { createOriginApp } from './server/app.ts';
import { listen, type RunningServer } from './server/http.ts';
import { tlsMaterial } from './server/tls-files.ts';
import { ServedModel } from './serving/served-model.ts';

export interface Origin {
  url: string;
  lifecycle: Lifecycle;
  /** What `/v2/health/ready` answers. */
  readiness: Readiness;
  metrics: OriginMetrics;
  repository: ModelRepository<ServedModel>;
  /** Readiness off at once, no new work, queued and in-flight requests finish, then everything closes. */
  drain(): Promise<void>;
}

/**
 * Builds and starts the whole origin from its configuration: listening first (live, not ready) so probes see
 * progress, then models load and warm up, then ready. Used by `origin/main.ts` and by the black-box tests.
 */
export async function startOrigin(
  config: OriginConfig,
  deps: {
    logger: Logger;
    clock?: Clock;
    /**
     * What to do when the control plane asks this origin to drain (scale-down); default: `drain()`, after
     * which the process stays up, unready and out of the registry. `origin/main.ts` drains and exits.
     */
    onDrainRequested?: () => void;
  },
): Promise<Origin> {
  const { logger } = deps;
  const clock = deps.clock ?? systemClock;
  const lifecycle = new Lifecycle();
  assertFleetConfig(config);

  let verifier = null;
  if (config.ORIGIN_AUTH === 'hmac') {
    const keys = parseSigningKeys(config.ORIGIN_SIGNING_KEYS);
    if (keys.size === 0) {
      throw new Error(
        'ORIGIN_AUTH=hmac needs ORIGIN_SIGNING_KEYS (keyId:secret[,keyId:secret]); set ORIGIN_AUTH=off only for local direct use',
      );
    }
    verifier = createVerifier({
      keys,
      maxSkewSeconds: config.SIGNATURE_MAX_SKEW_SECONDS,
      replayCache: new MemoryReplayCache(),
    });
  } else {
    logger.warn('ORIGIN_AUTH=off: requests are NOT verified; use this only for local direct access');
  }

  const gpu = config.GPU_METRICS ? createGpuSampler() : null;
  gpu?.start();
  const metrics = createOriginMetrics({ gpu });
  const tracing: Tracing = await initTracing({
    endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
    serviceName: 'aiserve-origin',
  });

  const repository = new ModelRepository<ServedModel>({
    root: config.MODEL_REPOSITORY,
    execution: executionOptionsFromConfig(config),
    logger,
    createRuntime: ServedModel.factory({ clock, metrics, stageBatches: config.STAGED_BATCHES }),
  });
  // Queue depth per loaded version, read by the metrics at scrape time.
  metrics.setPendingSource(function* (): Iterable<PendingCount> {
    for (const { runtime } of repository.loaded()) yield { ...runtime.labels, pending: runtime.pending() };
  });

  const jsonParsePool =
    config.JSON_PARSE_THREADS > 0
      ? new JsonParsePool({
          threads: config.JSON_PARSE_THREADS,
          nice: config.WORKER_THREAD_NICE,
          onCrash: (err) =>
            logger.error({ err }, 'JSON parse worker died; its requests are parsed on the main thread'),
        })
      : null;
  const readiness = new Readiness({ lifecycle, repository });
  const app = createOriginApp({
    repository,
    lifecycle,
    readiness,
    metrics,
    logger,
    clock,
    tracing,
    verifier,
    maxBodyBytes: config.MAX_BODY_BYTES,
    modelControl: config.MODEL_CONTROL_MODE,
    jsonParser: jsonParsePool ? { pool: jsonParsePool, minBytes: config.JSON_PARSE_MIN_BYTES } : null,
  });
  const tls = await tlsMaterial(config);
  const server: RunningServer = await listen(app, {
    host: config.HOST,
    port: config.PORT,
    ...(tls ? { tls } : {}),
  });
  logger.info(
    { url: server.url, clientCertificates: tls?.clientCa !== undefined },
    `origin listening on ${server.url}${tls?.clientCa ? ' (client certificates required)' : ''}`,
  );

  if (config.MODEL_CONTROL_MODE === 'none') {
    readiness.expect((await repository.loadAll()).map((row) => row.name));
  } else {
    readiness.expect(config.LOAD_MODELS);
    for (const name of config.LOAD_MODELS) {
      await repository.load(name).catch(() => {
        // logged by the repository; the others still load
      });
    }
  }
  const index = await repository.index();
  for (const row of index) {
    if (row.state !== 'READY')
      logger.error({ model: row.name, version: row.version }, `model unavailable: ${row.reason}`);
  }
  lifecycle.ready();
  const served = index.filter((r) => r.state === 'READY').map((r) => `${r.name}/${r.version}`);
  const readyNow = readiness.check();
  if (readyNow.ready) logger.info({ models: served }, 'origin ready');
  // It serves (and advertises to the fleet) what did load; /v2/health/ready says it is short of the rest.
  else logger.error({ models: served }, `origin serving, but not ready: ${readyNow.error}`);
  // Joins the fleet only once ready, so routers never see models that cannot be served yet.
  const fleet = await joinFleet(config, {
    listenUrl: server.url,
    lifecycle,
    repository,
    metrics,
    gpu,
    clock,
    logger,
    // Deferred: the first beat runs inside joinFleet, before `drain` below exists.
    onDrainRequested: () => setImmediate(() => (deps.onDrainRequested ?? (() => void drain()))()),
  });

  let draining: Promise<void> | undefined;
  const drain = () => {
    draining ??= (async () => {
      lifecycle.drain();
      logger.info('draining: readiness off, finishing queued and in-flight requests');
      const closed = server.close(config.SHUTDOWN_TIMEOUT_MS);
      // Leave the registry before waiting for in-flight work, so routers stop sending during the wait.
      await fleet?.drain();
      // Accepted requests reach their queues first; then the batchers finish their queues and close.
      await lifecycle.whenIdle();
      await repository.close();
      await jsonParsePool?.close();
      await closed;
      gpu?.stop();
      metrics.close();
      await tracing.shutdown();
      lifecycle.stopped();
      logger.info('origin stopped');
    })();
    return draining;
  };

  return { url: server.url, lifecycle, readiness, metrics, repository, drain };
}
