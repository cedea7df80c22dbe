import type { Context } from 'hono';
import type { InferRequestJson } from '../shared/protocol/infer-request.ts';
import type { EdgeLogger } from './observability/logger.ts';
import type { Services } from './services.ts';

/**
 * Worker bindings: wrangler `[vars]` and secrets (all strings; see `shared/config/edge.ts` and
 * `wrangler.toml`). Under `npm run edge:node` the same names come from `process.env`.
 */
export type Bindings = Record<string, string | undefined>;

/** Who a request is acting for, set by the auth middleware from a verified key (or the operator token). */
export interface AuthContext {
  /** `null` for the operator (`ADMIN_TOKEN`), which is not a key. */
  keyId: string | null;
  /** `null` for the operator, which acts across tenants. */
  tenantId: string | null;
  prefix: string | null;
  /** Model names, `*` (every model) or `admin` (the tenant's own admin API). */
  scopes: string[];
  plan: string;
  requestsPerMinute: number;
  burst: number;
  operator: boolean;
}

/** A parsed inference request, set by the infer-body middleware on `POST …/infer`. */
export interface ParsedInference {
  model: string;
  version: string | null;
  /** The body exactly as received (forwarded and hashed as is). */
  rawBody: Uint8Array;
  contentType: string;
  /** `Inference-Header-Content-Length` (binary tensor extension), else null. */
  headerLength: number | null;
  /** The JSON header: the whole body, or its first `headerLength` bytes. */
  request: InferRequestJson;
  /** Batch size (the largest first dimension over the inputs): the rate-limit cost. */
  items: number;
}

/** Workers Cache API behind an interface; `null` where there is none (Node). */
export interface EdgeCache {
  match(request: Request): Promise<Response | undefined>;
  put(request: Request, response: Response): Promise<void>;
  delete(request: Request): Promise<boolean>;
}

/** What differs between Workers and Node at request time. */
export interface Platform {
  /** Keeps the isolate alive for background work after the response (usage events, cache fills). */
  waitUntil(promise: Promise<unknown>): void;
  edgeCache: EdgeCache | null;
  /** Epoch milliseconds. */
  now(): number;
}

export type CacheStatus = 'HIT-EDGE' | 'HIT-REDIS' | 'MISS' | 'BYPASS';

/**
 * The response-cache lookup the rate-limit middleware starts in the same tick as its limiter call, so both
 * Redis commands leave in one auto-pipelined round trip (read it with GETEX, which shares the limiter's
 * "write" pipeline; a GET would go in a second request). Provided by the cache layer (`services.cacheLookup`).
 */
export interface CacheLookupResult {
  status: CacheStatus;
  /** The cached response on a hit. */
  response: Response | null;
  /** Canonical cache key, when the request is cacheable. */
  key: string | null;
}

export type CacheLookupStarter = (c: Context<AppEnv>) => Promise<CacheLookupResult> | undefined;

export interface AppVariables {
  requestId: string;
  /** W3C trace context forwarded to the origin (continued from the caller, or started here). */
  traceparent: string;
  traceId: string;
  logger: EdgeLogger;
  auth: AuthContext | undefined;
  inference: ParsedInference | undefined;
  platform: Platform;
  services: Services;
  cacheLookup: Promise<CacheLookupResult> | undefined;
  /** Set by the inference routes for the usage event and `X-Cache`. */
  cacheResult: CacheStatus | undefined;
  originId: string | null | undefined;
  /** Epoch ms when the request entered the edge. */
  startedAt: number;
}

export interface AppEnv {
  Bindings: Bindings;
  Variables: AppVariables;
}

export type AppContext = Context<AppEnv>;
