import type { Context } from 'hono';
import { AppError } from '../../shared/errors/index.ts';
import { requestJsonId } from '../cache/lookup.ts';
import { isStorableResponse } from '../cache/policy.ts';
import type { AppEnv } from '../env.ts';
import {
  type StoredResponse,
  storableHeaders,
  toResponse,
  withResponseId,
} from '../stores/responses/stored-response.ts';
import { Deadline, resolveDeadlineMs, TIMEOUT_HEADER } from './deadline.ts';
import type { EdgeRouting } from './edge-routing.ts';
import type { OriginRequest, OriginResponse } from './forward.ts';

/**
 * An origin's answer as coalesced callers share it: every header the client should see (not only the
 * cacheable ones), immutable bytes, and which origin answered.
 */
export interface OriginAnswer extends StoredResponse {
  originId: string;
}

/** Per-request headers of the origin's answer that the edge sets itself. */
const EDGE_OWNED = new Set(['x-request-id', 'x-cache', 'age']);

export function answerFrom(response: OriginResponse, now: number): OriginAnswer {
  const headers: [string, string][] = [];
  response.headers.forEach((value, name) => {
    if (!EDGE_OWNED.has(name.toLowerCase())) headers.push([name.toLowerCase(), value]);
  });
  return {
    status: response.status,
    headers,
    body: response.body,
    storedAt: now,
    originId: response.originId,
  };
}

/** The forwarded request's headers from the client's. */
function forwardedHeaders(c: Context<AppEnv>, contentType?: string): OriginRequest['headers'] {
  const headers: OriginRequest['headers'] = {
    traceparent: c.get('traceparent'),
    'x-request-id': c.get('requestId'),
  };
  const tracestate = c.req.header('tracestate');
  if (tracestate) headers.tracestate = tracestate;
  if (contentType) headers['content-type'] = contentType;
  return headers;
}

function originPath(model: string, version: string | null, suffix: string): string {
  const base = `/v2/models/${encodeURIComponent(model)}`;
  return (version === null ? base : `${base}/versions/${encodeURIComponent(version)}`) + suffix;
}

/**
 * `POST …/infer` at the edge: the cache lookup (started by the rate limiter, or here), then on a miss one
 * origin call per key in this isolate (coalesced), the answer passed through with `X-Cache`, and a 200
 * stored per the model's policy in the background. Errors propagate as AppErrors and are never cached.
 */
export async function runInference(c: Context<AppEnv>, routing: EdgeRouting): Promise<Response> {
  const inference = c.get('inference');
  if (!inference) throw new AppError('INVALID_REQUEST', 'the request has no inference body');
  const lookup = await (c.get('cacheLookup') ?? routing.cache.start(c));
  if (lookup?.response) {
    c.set('cacheResult', lookup.status);
    c.set('originId', null);
    return lookup.response;
  }
  const plan = await routing.cache.plan(c, inference);
  const parameters = (inference.request as { parameters?: Record<string, unknown> }).parameters;
  const deadline = new Deadline(
    resolveDeadlineMs(routing.deadlines, c.req.header(TIMEOUT_HEADER), parameters?.timeout),
  );
  const platform = c.get('platform');
  const headers = forwardedHeaders(c, inference.contentType);
  if (inference.headerLength !== null)
    headers['inference-header-content-length'] = String(inference.headerLength);
  const send = async (): Promise<OriginAnswer> =>
    answerFrom(
      await routing.origins.send({
        method: 'POST',
        path: originPath(inference.model, inference.version, '/infer'),
        body: inference.rawBody,
        headers,
        model: inference.model,
        version: inference.version,
        // No client signal: coalesced callers share this call, and one caller leaving must not fail the others.
        deadline,
      }),
      platform.now(),
    );

  let answer: OriginAnswer;
  let leader = true;
  if (plan.key) {
    let run = routing.coalescer.run(plan.key, send);
    leader = run.leader;
    try {
      answer = await run.promise;
    } catch (err) {
      if (run.leader) throw err;
      // The call this request joined failed under its leader's deadline, or with its leader's request (on
      // Workers a cancelled request takes its I/O with it). Once more under this request's own deadline,
      // coalesced again, so the followers that retry share one new call.
      run = routing.coalescer.run(plan.key, send);
      leader = run.leader;
      answer = await run.promise;
    }
  } else {
    answer = await send();
  }
  if (
    leader &&
    plan.key &&
    plan.decision.write &&
    isStorableResponse(answer.status, new Headers(answer.headers))
  ) {
    const stored: StoredResponse = {
      status: answer.status,
      headers: storableHeaders(new Headers(answer.headers)),
      body: answer.body,
      storedAt: answer.storedAt,
    };
    routing.cache.store(platform, plan.key, stored, plan.decision.ttlSeconds);
  }
  const status = plan.decision.bypass ? 'BYPASS' : 'MISS';
  c.set('cacheResult', status);
  c.set('originId', answer.originId);
  // A coalesced caller gets the leader's answer under its own request `id`.
  const mine = leader ? answer : withResponseId(answer, requestJsonId(inference));
  return toResponse(mine, { 'x-cache': status });
}

/** A GET to an origin that serves the model (metadata, readiness), within the default deadline. */
export async function getFromOrigin(
  c: Context<AppEnv>,
  routing: EdgeRouting,
  model: string,
  version: string | null,
  suffix: '' | '/ready',
): Promise<OriginAnswer> {
  const deadline = new Deadline(
    resolveDeadlineMs(routing.deadlines, c.req.header(TIMEOUT_HEADER), undefined),
  );
  const response = await routing.origins.send({
    method: 'GET',
    path: originPath(model, version, suffix),
    body: null,
    headers: forwardedHeaders(c),
    model,
    version,
    deadline,
    signal: c.req.raw.signal,
  });
  return answerFrom(response, c.get('platform').now());
}
