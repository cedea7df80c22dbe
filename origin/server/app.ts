import { Hono } from 'hono';
import type { Clock } from '../../shared/clock.ts';
import { AppError, toAppError, toErrorResponse } from '../../shared/errors/index.ts';
import type { Verifier } from '../../shared/signing/index.ts';
import { AISERVE_VERSION } from '../../shared/version.ts';
import type { Logger } from '../observability/logger.ts';
import { type OriginMetrics, requestStatus } from '../observability/metrics.ts';
import { noopTracing, type Tracing } from '../observability/tracing.ts';
import {
  type DecodedInferRequest,
  type DecodeHeaders,
  decodeInferRequest,
  decodePreparsedInferRequest,
  encodeInferResponse,
} from '../protocol/json-codec.ts';
import { type JsonParsePool, JsonParseWorkerError } from '../protocol/json-parse-pool.ts';
import { schedulingParameters } from '../serving/served-model.ts';
import { type BodyVariables, readBody } from './body.ts';
import type { Lifecycle } from './lifecycle.ts';
import type { ModelRegistry } from './ports.ts';
import { parseLoadBody, parseUnloadBody } from './repository-control.ts';
import { type RequestContextVariables, requestContext } from './request-context.ts';
import { methodNotAllowed } from './route-table.ts';
import { TurnBudget } from './turn-budget.ts';
import { verifySignature } from './verify-signature.ts';

export const SERVER_NAME = 'aiserve-origin';
export const EXTENSIONS = ['binary_tensor_data', 'model_repository', 'parameters', 'schedule_policy'];

export interface OriginAppDeps {
  registry: ModelRegistry;
  lifecycle: Lifecycle;
  metrics: OriginMetrics;
  logger: Logger;
  clock: Clock;
  tracing?: Tracing;
  /** null when ORIGIN_AUTH=off. */
  verifier: Verifier | null;
  maxBodyBytes: number;
  modelControl: 'none' | 'explicit';
  /** Paces request decoding and response encoding across event-loop turns; default: DEFAULT_TURN_BUDGET_MS. */
  turnBudget?: TurnBudget;
  /** Parses JSON bodies of at least `minBytes` off the main thread; null/absent: all on the main thread. */
  jsonParser?: { pool: JsonParsePool; minBytes: number } | null;
}

/**
 * Decode/encode work allowed per event-loop turn. One 0.5 MB JSON tensor body takes ~3 ms to parse on the
 * benchmark machine, so this lets one or two through per turn and keeps the loop's lag well under 20 ms, while
 * binary bodies (tens of µs each) still go through a whole burst in one turn.
 */
export const DEFAULT_TURN_BUDGET_MS = 2;

type AppEnv = { Variables: RequestContextVariables & BodyVariables };

/** The origin's HTTP surface: Open Inference Protocol (KServe v2 / Triton REST) plus `/metrics`. */
export function createOriginApp(deps: OriginAppDeps): Hono<AppEnv> {
  const { registry, lifecycle, metrics } = deps;
  const turns =
    deps.turnBudget ?? new TurnBudget({ budgetMs: DEFAULT_TURN_BUDGET_MS, now: () => deps.clock.now() });
  const app = new Hono<AppEnv>();
  const jsonParser = deps.jsonParser ?? null;

  const decodeRequest = async (body: Uint8Array, headers: DecodeHeaders): Promise<DecodedInferRequest> => {
    const offThread =
      jsonParser !== null &&
      headers.inferenceHeaderContentLength === undefined &&
      body.byteLength >= jsonParser.minBytes;
    if (offThread) {
      try {
        const parsed = await jsonParser.pool.parse(body);
        return await turns.run(() => decodePreparsedInferRequest(parsed, headers));
      } catch (err) {
        // Only a worker that died with the job falls through: the body is then parsed here.
        if (!(err instanceof JsonParseWorkerError)) throw err;
      }
    }
    return turns.run(() => decodeInferRequest(body, headers));
  };

  app.use('*', requestContext({ logger: deps.logger, tracing: deps.tracing ?? noopTracing }));
  app.use('*', async (c, next) => {
    await next();
    // While draining, tell keep-alive clients to reconnect elsewhere instead of reusing this socket.
    if (!lifecycle.acceptsWork) c.header('connection', 'close');
  });
  app.use(
    '*',
    verifySignature({
      verifier: deps.verifier,
      enabled: deps.verifier !== null,
      readBody: (c) => readBody(c, deps.maxBodyBytes),
      onReject: (reason, message) => deps.logger.warn({ reason }, `signature rejected: ${message}`),
    }),
  );

  app.get('/v2/health/live', (c) => c.json({ live: true }));
  app.get('/v2/health/ready', (c) =>
    lifecycle.isReady
      ? c.json({ ready: true })
      : // The protocol reports "false" as a 4xx; the body says why for humans.
        c.json({ ready: false, error: `server is ${lifecycle.state}` }, 400),
  );
  app.get('/v2', (c) => c.json({ name: SERVER_NAME, version: AISERVE_VERSION, extensions: EXTENSIONS }));
  app.get('/metrics', async (c) => {
    const { contentType, body } = await metrics.render();
    return c.body(body, 200, { 'content-type': contentType });
  });

  const metadata = (name: string, version?: string) => {
    const served = registry.get(name, version);
    const described = registry.describe(name);
    const sig = served.signature;
    return {
      name: sig.name,
      versions: version ? [sig.version] : described.versions,
      platform: described.platform,
      inputs: sig.inputs,
      outputs: sig.outputs,
    };
  };
  app.get('/v2/models/:model', (c) => c.json(metadata(c.req.param('model'))));
  app.get('/v2/models/:model/versions/:version', (c) =>
    c.json(metadata(c.req.param('model'), c.req.param('version'))),
  );

  /** 200 when ready; 400 (the protocol's "false") for a model in the repository that is not; 404 otherwise. */
  const readiness = async (c: import('hono').Context<AppEnv>, name: string, version?: string) => {
    const versions = registry.readyVersions(name);
    const isReady = version ? versions.includes(version) : versions.length > 0;
    const body = version ? { name, version } : { name };
    if (isReady) return c.json({ ...body, ready: true });
    const known = (await registry.index()).some(
      (row) => row.name === name && (!version || row.version === version),
    );
    if (!known) {
      throw new AppError(
        'MODEL_NOT_FOUND',
        version ? `model '${name}' has no version ${version}` : `unknown model '${name}'`,
      );
    }
    const which = version ? `model '${name}' version ${version}` : `model '${name}'`;
    return c.json({ ...body, ready: false, error: `${which} is not ready` }, 400);
  };
  app.get('/v2/models/:model/ready', (c) => readiness(c, c.req.param('model')));
  app.get('/v2/models/:model/versions/:version/ready', (c) =>
    readiness(c, c.req.param('model'), c.req.param('version')),
  );

  const infer = async (c: import('hono').Context<AppEnv>, name: string, version?: string) => {
    const started = deps.clock.now();
    let labels = { model: name, version: version ?? '' };
    const leave = lifecycle.acceptsWork ? lifecycle.enter() : undefined;
    try {
      if (!leave) {
        throw new AppError('DRAINING', 'origin is shutting down; send the request to another origin', {
          retryAfterSeconds: 1,
        });
      }
      const served = registry.get(name, version);
      labels = served.labels;
      const body = await readBody(c, deps.maxBodyBytes);
      const contentType = c.req.header('content-type');
      const inferenceHeaderContentLength = c.req.header('inference-header-content-length');
      const request = await decodeRequest(body, { contentType, inferenceHeaderContentLength });
      const outputs = await served.infer(request, {
        ...schedulingParameters(request.parameters),
        signal: c.req.raw.signal,
      });
      const encoded = await turns.run(() =>
        encodeInferResponse({
          modelName: served.signature.name,
          modelVersion: served.signature.version,
          id: request.id,
          outputs,
          requested: request.outputs,
          binaryOutputDefault: request.binaryOutputDefault,
        }),
      );
      metrics.recordRequest({
        ...labels,
        status: 'success',
        durationSeconds: (deps.clock.now() - started) / 1e3,
      });
      return c.body(encoded.body as string, 200, encoded.headers);
    } catch (err) {
      metrics.recordRequest({
        ...labels,
        status: requestStatus(err),
        durationSeconds: (deps.clock.now() - started) / 1e3,
      });
      throw err;
    } finally {
      leave?.();
    }
  };
  app.post('/v2/models/:model/infer', (c) => infer(c, c.req.param('model')));
  app.post('/v2/models/:model/versions/:version/infer', (c) =>
    infer(c, c.req.param('model'), c.req.param('version')),
  );

  app.post('/v2/repository/index', async (c) => {
    const text = new TextDecoder().decode(await readBody(c, deps.maxBodyBytes));
    let readyOnly = false;
    if (text.trim()) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        throw new AppError('INVALID_JSON', `request body is not valid JSON: ${(err as Error).message}`);
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw new AppError(
          'INVALID_REQUEST',
          'repository index body must be a JSON object such as {"ready": true}',
        );
      }
      const flag = (parsed as { ready?: unknown }).ready;
      if (flag !== undefined && typeof flag !== 'boolean') {
        throw new AppError('INVALID_REQUEST', `'ready' must be a boolean, got ${JSON.stringify(flag)}`);
      }
      readyOnly = flag === true;
    }
    return c.json(await registry.index({ readyOnly }));
  });
  const control = (action: 'load' | 'unload') => async (c: import('hono').Context<AppEnv>) => {
    if (deps.modelControl !== 'explicit') {
      throw new AppError(
        'INVALID_REQUEST',
        `explicit model ${action} is not allowed: the origin runs with MODEL_CONTROL_MODE=none (set it to explicit)`,
      );
    }
    const name = c.req.param('model')!;
    const text = new TextDecoder().decode(await readBody(c, deps.maxBodyBytes));
    if (action === 'load') await registry.load(name, parseLoadBody(text));
    else {
      parseUnloadBody(text);
      await registry.unload(name);
    }
    return c.json({});
  };
  app.post('/v2/repository/models/:model/load', control('load'));
  app.post('/v2/repository/models/:model/unload', control('unload'));

  app.notFound((c) => {
    const allowed = methodNotAllowed(c.req.method, c.req.path);
    const err = allowed
      ? new AppError(
          'METHOD_NOT_ALLOWED',
          `${c.req.method} is not allowed on ${c.req.path}; use ${allowed.join(', ')}`,
        )
      : new AppError('NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`);
    const res = toErrorResponse(err, c.get('requestId'));
    if (allowed) res.headers.set('allow', allowed.join(', '));
    return res;
  });
  app.onError((err, c) => {
    const appError = toAppError(err);
    const log = c.get('log') ?? deps.logger;
    if (appError.status >= 500) log.error({ err, code: appError.code }, appError.message);
    else log.debug({ code: appError.code }, appError.message);
    c.get('span')?.recordError(err);
    return toErrorResponse(appError, c.get('requestId'));
  });
  return app;
}
