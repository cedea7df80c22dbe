import type { Context, Hono } from 'hono';
import { AppError } from '../../shared/errors/index.ts';
import { requestStatus } from '../observability/metrics.ts';
import { encodeInferResponse } from '../protocol/encode-response.ts';
import { schedulingParameters } from '../protocol/scheduling-parameters.ts';
import type { AppEnv } from '../server/app-env.ts';
import { readBody } from '../server/body.ts';
import type { RouteDeps } from './route-deps.ts';

/**
 * `POST /v2/models/{m}[/versions/{v}]/infer`: decode, queue in the version's batcher, encode. The request counts
 * as accepted (a drain waits for it) from before its body is read until its response is encoded.
 */
export function registerInfer(
  app: Hono<AppEnv>,
  deps: Pick<
    RouteDeps,
    'repository' | 'lifecycle' | 'metrics' | 'clock' | 'maxBodyBytes' | 'decodeRequest' | 'turns'
  >,
): void {
  const { lifecycle, metrics } = deps;
  const infer = async (c: Context<AppEnv>, name: string, version?: string) => {
    const started = deps.clock.now();
    let labels = { model: name, version: version ?? '' };
    const leave = lifecycle.acceptsWork ? lifecycle.enter() : undefined;
    try {
      if (!leave) {
        throw new AppError('DRAINING', 'origin is shutting down; send the request to another origin', {
          retryAfterSeconds: 1,
        });
      }
      const served = deps.repository.get(name, version).runtime;
      labels = served.labels;
      const body = await readBody(c, deps.maxBodyBytes);
      const contentType = c.req.header('content-type');
      const inferenceHeaderContentLength = c.req.header('inference-header-content-length');
      const request = await deps.decodeRequest(body, { contentType, inferenceHeaderContentLength });
      const outputs = await served.infer(request, {
        ...schedulingParameters(request.parameters),
        signal: c.req.raw.signal,
        span: c.get('span'),
      });
      const encoded = await deps.turns.run(() =>
        encodeInferResponse({
          modelName: served.labels.model,
          modelVersion: served.labels.version,
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
}
