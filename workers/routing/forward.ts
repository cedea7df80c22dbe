import { AppError } from '../../shared/errors/index.ts';
import type { OriginRecord } from '../../shared/fleet/origin-record.ts';
import { signRequest } from '../../shared/signing/index.ts';
import { OversizedBodyError, readBoundedBody } from './bounded-body.ts';
import type { BreakerRegistry } from './breaker.ts';
import type { Deadline } from './deadline.ts';
import type { OriginSource } from './origin-source.ts';
import { pickOrigin } from './picker.ts';
import { type AttemptOutcome, planRetry, type RetryPolicy } from './retry.ts';

/** Request headers the origin needs; everything else from the client stays at the edge. */
const FORWARDED_REQUEST_HEADERS = [
  'content-type',
  'inference-header-content-length',
  'traceparent',
  'tracestate',
  'x-request-id',
] as const;

/** Hop-by-hop and framing headers that describe the origin connection, not the answer. */
const DROPPED_RESPONSE_HEADERS = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  // fetch has already decoded the body.
  'content-encoding',
  'proxy-connection',
  'upgrade',
]);

export interface SigningKey {
  keyId: string;
  secret: string;
}

/** Parses `ORIGIN_SIGNING_KEY` (`keyId:secret`). */
export function parseSigningKey(spec: string): SigningKey {
  const idx = spec.indexOf(':');
  if (idx <= 0 || idx === spec.length - 1) throw new Error('ORIGIN_SIGNING_KEY must be keyId:secret');
  return { keyId: spec.slice(0, idx), secret: spec.slice(idx + 1) };
}

/** A span per attempt, from the request's trace; absent when tracing is off. */
export interface AttemptTracer {
  start(originId: string, attempt: number): AttemptSpan;
}

interface AttemptSpan {
  /** Forwarded as the attempt's `traceparent`, so the origin's span is this attempt's child. */
  readonly traceparent: string;
  end(outcome: AttemptOutcome): void;
}

export interface OriginRequest {
  method: 'GET' | 'POST';
  /** Path and query sent to the origin, e.g. `/v2/models/m/infer`. */
  path: string;
  body: Uint8Array | null;
  headers: Partial<Record<(typeof FORWARDED_REQUEST_HEADERS)[number], string>>;
  model: string;
  version: string | null;
  deadline: Deadline;
  /** The client went away: stop trying. */
  signal?: AbortSignal;
  /** One span per attempt (tracing on); the attempt's own `traceparent` replaces `headers.traceparent`. */
  attempts?: AttemptTracer;
}

/** The origin's answer, buffered (it may be cached and shared by coalesced callers). */
export interface OriginResponse {
  status: number;
  headers: Headers;
  body: Uint8Array;
  originId: string;
  attempts: number;
}

interface AttemptEvent {
  originId: string;
  attempt: number;
  outcome: AttemptOutcome;
  durationMs: number;
}

export interface OriginClientOptions {
  source: OriginSource;
  breakers: BreakerRegistry;
  /** Null sends unsigned requests (an origin with `ORIGIN_AUTH=off`). */
  signing: SigningKey | null;
  retry: RetryPolicy;
  /** Cap on one attempt, so a hung origin costs a slice of the deadline and the retry still fits. */
  attemptTimeoutMs: number;
  /** Largest origin answer read; a larger one fails the attempt (counted against that origin, retried). */
  maxResponseBytes?: number;
  /** The edge's region, preferred when picking. */
  region: string | null;
  fetch?: typeof fetch;
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  onAttempt?: (event: AttemptEvent) => void;
}

/** Default for `maxResponseBytes`: the edge's own request body limit. */
const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

const FAILURE_WORDS = {
  transport: 'connection failed',
  oversized: 'answer too large',
  timeout: 'timeout',
  deadline: "the request's deadline ended",
  'breaker-open': 'breaker-open',
} as const;

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** An attempt's outcome, with the answer when there is one (a breaker refusal is the registry's, not ours). */
type Attempt =
  | (Extract<AttemptOutcome, { kind: 'response' }> & { response: OriginResponse })
  | Exclude<AttemptOutcome, { kind: 'response' } | { kind: 'breaker-open' }>;

/** The `code` of a platform JSON error body, read only for the statuses whose meaning depends on it. */
function errorCodeOf(status: number, body: Uint8Array): string | undefined {
  if (status !== 504 || body.byteLength > 4096) return undefined;
  try {
    const parsed = JSON.parse(new TextDecoder().decode(body)) as { code?: unknown };
    return typeof parsed.code === 'string' ? parsed.code : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Sends requests to the origin fleet: picks an origin (P2C, breaker-aware), signs the request with
 * `shared/signing`, gives each attempt what is left of the deadline (at most `attemptTimeoutMs`), and retries
 * retryable failures on another origin with full-jitter backoff while the deadline allows. Origin 4xx come
 * back unchanged; a 5xx comes back unchanged when no retry is possible. Failures with no answer at all are
 * typed: 503 NO_HEALTHY_ORIGIN (with Retry-After) or 504 DEADLINE_EXCEEDED.
 */
export class OriginClient {
  readonly #options: OriginClientOptions;
  readonly #fetch: typeof fetch;
  readonly #random: () => number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #inflight = new Map<string, number>();

  constructor(options: OriginClientOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#random = options.random ?? Math.random;
    this.#sleep = options.sleep ?? defaultSleep;
  }

  get breakers(): BreakerRegistry {
    return this.#options.breakers;
  }

  async send(request: OriginRequest): Promise<OriginResponse> {
    const { breakers, retry } = this.#options;
    const tried: string[] = [];
    const failures: string[] = [];
    let lastResponse: OriginResponse | null = null;
    for (let attempt = 1; attempt <= retry.maxAttempts; attempt++) {
      if (request.signal?.aborted) throw new AppError('INVALID_REQUEST', 'the client closed the request');
      if (request.deadline.expired()) throw request.deadline.exceeded(`model '${request.model}'`);
      const origins = await this.#options.source.list();
      const origin = pickOrigin({
        origins,
        model: request.model,
        version: request.version,
        region: this.#options.region,
        tried,
        isAvailable: (id) => breakers.isAvailable(id),
        localInflight: (id) => this.#inflight.get(id) ?? 0,
        random: this.#random,
      });
      if (!origin) {
        if (lastResponse) return lastResponse;
        throw this.#noOrigin(request, origins, failures);
      }
      tried.push(origin.id);
      const started = Date.now();
      const span = request.attempts?.start(origin.id, attempt);
      const result = await breakers.execute(origin.id, () =>
        this.#attempt(origin, request, attempt, span?.traceparent),
      );
      const outcome: AttemptOutcome =
        result.kind === 'response' ? { kind: 'response', status: result.status, code: result.code } : result;
      span?.end(outcome);
      this.#options.onAttempt?.({ originId: origin.id, attempt, outcome, durationMs: Date.now() - started });
      if (result.kind === 'response') {
        lastResponse = result.response;
        failures.push(`${origin.id}: HTTP ${result.status}`);
      } else {
        failures.push(`${origin.id}: ${FAILURE_WORDS[result.kind]}`);
      }
      // The request's own budget ran out mid-attempt: that is the answer, whatever the clocks say about it.
      if (result.kind === 'deadline') {
        throw request.deadline.exceeded(`model '${request.model}' (${failures.join('; ')})`);
      }
      const plan = planRetry({
        attemptsMade: attempt,
        outcome,
        remainingMs: request.deadline.remainingMs(),
        policy: retry,
        random: this.#random,
      });
      if (!plan.retry) {
        if (lastResponse && result.kind === 'response') return lastResponse;
        if (plan.reason === 'deadline' || request.deadline.expired()) {
          throw request.deadline.exceeded(`model '${request.model}' (${failures.join('; ')})`);
        }
        if (lastResponse) return lastResponse;
        break;
      }
      await this.#sleep(plan.delayMs, request.signal);
    }
    throw this.#noOrigin(request, null, failures);
  }

  #noOrigin(request: OriginRequest, origins: OriginRecord[] | null, failures: string[]): AppError {
    const wait = origins ? this.#options.breakers.msUntilAnyTrial(origins.map((o) => o.id)) : null;
    const retryAfterSeconds = Math.max(1, Math.ceil((wait ?? 1_000) / 1000));
    const why =
      failures.length > 0
        ? `every attempt failed (${failures.join('; ')})`
        : origins && origins.length > 0
          ? 'every origin serving it is down or its circuit breaker is open'
          : 'no origin is registered';
    return new AppError('NO_HEALTHY_ORIGIN', `no healthy origin for model '${request.model}': ${why}`, {
      retryAfterSeconds,
    });
  }

  async #attempt(
    origin: OriginRecord,
    request: OriginRequest,
    attempt: number,
    traceparent: string | undefined,
  ): Promise<Attempt> {
    const url = new URL(request.path, origin.url);
    const headers = new Headers();
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = request.headers[name];
      if (value) headers.set(name, value);
    }
    if (traceparent) headers.set('traceparent', traceparent);
    if (this.#options.signing) {
      const signed = await signRequest({
        method: request.method,
        pathWithQuery: url.pathname + url.search,
        body: request.body,
        keyId: this.#options.signing.keyId,
        secret: this.#options.signing.secret,
      });
      for (const [k, v] of Object.entries(signed)) headers.set(k, v);
    }
    const { signal: timeoutSignal, cappedByAttempt } = request.deadline.attemptSignal(
      this.#options.attemptTimeoutMs,
    );
    const signal = request.signal ? AbortSignal.any([timeoutSignal, request.signal]) : timeoutSignal;
    this.#inflight.set(origin.id, (this.#inflight.get(origin.id) ?? 0) + 1);
    try {
      const response = await this.#fetch(url, {
        method: request.method,
        headers,
        body: request.body ? (request.body as Uint8Array<ArrayBuffer>) : null,
        signal,
        redirect: 'manual',
      });
      // Read the whole body inside the attempt: a connection lost mid-body is a failed attempt, retried.
      const body = await readBoundedBody(
        response,
        this.#options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
      );
      const out = new Headers();
      response.headers.forEach((value, name) => {
        if (!DROPPED_RESPONSE_HEADERS.has(name.toLowerCase())) out.set(name, value);
      });
      return {
        kind: 'response',
        status: response.status,
        code: errorCodeOf(response.status, body),
        response: { status: response.status, headers: out, body, originId: origin.id, attempts: attempt },
      };
    } catch (err) {
      if (request.signal?.aborted) throw new AppError('INVALID_REQUEST', 'the client closed the request');
      if (err instanceof OversizedBodyError) return { kind: 'oversized' };
      // The cap is ours (the origin took too long); the request's own deadline is the client's choice.
      if (timeoutSignal.aborted) return cappedByAttempt ? { kind: 'timeout' } : { kind: 'deadline' };
      // fetch rejects with a TypeError for refused, reset and lost connections (Node and workerd alike);
      // whatever the runtime's wording, the origin did not answer.
      return { kind: 'transport' };
    } finally {
      const left = (this.#inflight.get(origin.id) ?? 1) - 1;
      if (left <= 0) this.#inflight.delete(origin.id);
      else this.#inflight.set(origin.id, left);
    }
  }
}
