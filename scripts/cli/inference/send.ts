import { Pool } from 'undici';
import type { EdgeTarget, RequestBody } from './target.ts';

/** One answer as the `inference` commands see it; `status` null when no HTTP answer came. */
export interface Outcome {
  status: number | null;
  xCache: string | null;
  requestId: string | null;
  latencyMs: number;
  /** The answer's body text (for failures and `infer`), or the connection error. */
  text: string;
  /** Why the request failed (a connection error, or a non-2xx status with the edge's message), else null. */
  error: string | null;
}

export interface SenderOptions {
  connections: number;
  /** `Cache-Control: no-store`: the edge bypasses its cache (X-Cache: BYPASS) and asks an origin every time. */
  noCache: boolean;
  timeoutMs: number;
}

/** Sends the same inference request over a pool of kept-alive connections. */
export class InferenceSender {
  readonly #pool: Pool;
  readonly #target: EdgeTarget;
  readonly #headers: Record<string, string>;
  readonly #body: string;

  constructor(target: EdgeTarget, body: RequestBody, options: SenderOptions) {
    this.#target = target;
    this.#body = body.text;
    this.#pool = new Pool(target.origin, {
      connections: options.connections,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
    this.#headers = {
      'content-type': 'application/json',
      ...(target.key ? { authorization: `Bearer ${target.key}` } : {}),
      ...(options.noCache ? { 'cache-control': 'no-store' } : {}),
    };
  }

  async send(): Promise<Outcome> {
    const started = performance.now();
    try {
      const res = await this.#pool.request({
        path: this.#target.path,
        method: 'POST',
        headers: this.#headers,
        body: this.#body,
      });
      const text = await res.body.text();
      const header = (name: string) => {
        const v = res.headers[name];
        return typeof v === 'string' ? v : null;
      };
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      return {
        status: res.statusCode,
        xCache: header('x-cache'),
        requestId: header('x-request-id'),
        latencyMs: performance.now() - started,
        text,
        error: ok ? null : `HTTP ${res.statusCode}: ${errorMessage(text)}`,
      };
    } catch (err) {
      const message = connectionMessage(err);
      return {
        status: null,
        xCache: null,
        requestId: null,
        latencyMs: performance.now() - started,
        text: message,
        error: `cannot reach ${this.#target.origin}: ${message}`,
      };
    }
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}

/** The `error` of an edge or origin JSON error body, else the text's start. */
function errorMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === 'string') return parsed.error;
  } catch {
    // Not JSON: show it as it came.
  }
  return text.slice(0, 200) || '(empty body)';
}

function connectionMessage(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string } } | null;
  const code = e?.code ?? e?.cause?.code;
  const message = e?.message ?? String(err);
  return code && !message.includes(code) ? `${code} ${message}` : message;
}
