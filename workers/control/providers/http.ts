import { ProviderError, type ProviderErrorKind } from './types.ts';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** What every adapter accepts: where the API is, how to reach it, and how long one call may take. */
export interface HttpClientOptions {
  provider: string;
  baseUrl: string;
  headers: Record<string, string>;
  fetch?: FetchLike;
  /** Per-call bound; a provider that hangs must not stall a reconcile pass (the call becomes `transient`). */
  timeoutMs?: number;
  /** Turns a non-2xx answer into a ProviderError kind; the default covers what every provider shares. */
  classify: (status: number, body: unknown, text: string) => { kind: ProviderErrorKind; message: string };
}

export interface ProviderHttp {
  request<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
}

/** `Retry-After` as seconds or an HTTP date, in ms; undefined when absent or unreadable. */
function parseRetryAfter(value: string | null, nowMs = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** The status-code half of error mapping, shared by all adapters; bodies refine it per provider. */
export function kindFromStatus(status: number): ProviderErrorKind {
  if (status === 401 || status === 403) return 'auth';
  if (status === 402) return 'quota';
  if (status === 404) return 'not_found';
  if (status === 408 || status === 425) return 'transient';
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'transient';
  return 'invalid';
}

function parseBody(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * A JSON-over-fetch client that turns every failure into a ProviderError: network errors and timeouts are
 * `transient` (the request may or may not have reached the provider, which is why launches are idempotent),
 * non-2xx answers go through the adapter's `classify`.
 */
export function createProviderHttp(options: HttpClientOptions): ProviderHttp {
  const doFetch: FetchLike = options.fetch ?? ((input, init) => fetch(input, init));
  const base = options.baseUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 30_000;
  return {
    async request<T>(method: string, path: string, body?: unknown) {
      const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
      if (body !== undefined) headers['content-type'] = 'application/json';
      let response: Response;
      let text: string;
      try {
        response = await doFetch(`${base}${path}`, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(timeoutMs),
        });
        text = await response.text();
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        throw new ProviderError(options.provider, 'transient', `${method} ${path} failed: ${reason}`, {
          cause: err,
        });
      }
      const parsed = parseBody(text);
      if (response.ok) return { status: response.status, body: parsed as T };
      const { kind, message } = options.classify(response.status, parsed, text);
      throw new ProviderError(options.provider, kind, `${method} ${path} → ${response.status}: ${message}`, {
        status: response.status,
        retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
      });
    },
  };
}

/** Reads a string field from an unknown JSON value without trusting its shape. */
export function field(value: unknown, key: string): unknown {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
}

export function stringField(value: unknown, key: string): string | undefined {
  const v = field(value, key);
  return typeof v === 'string' ? v : undefined;
}

/** Error text for messages: the provider's words, cut short so a huge HTML error page stays readable. */
export function excerpt(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
