import { cacheKeyMaterial, canonicalBodyMaterial } from '../../shared/cache-key.ts';
import { sha256HexSync } from '../../shared/sha256-sync.ts';
import type { EdgeCache, Platform } from '../adapters/platform.ts';
import type { ModelSettingsCache } from '../stores/models/model-settings.ts';
import { EdgeResponseCache } from '../stores/responses/edge-cache.ts';
import type { MemoryCache } from '../stores/responses/memory-cache.ts';
import {
  type ResponseCache,
  type StoredResponse,
  toResponse,
  withResponseId,
} from '../stores/responses/stored-response.ts';
import { type CacheHitSource, type CacheTier, LayeredCache } from './layered.ts';
import { type CacheDecision, decideCache, parseClientCacheDirective } from './policy.ts';

export type CacheStatus = CacheHitSource | 'MISS' | 'BYPASS';

/**
 * What a lookup found. The rate-limit middleware starts it in the same tick as its limiter call, so both Redis
 * commands leave in one auto-pipelined round trip (read with GETEX, which shares the limiter's "write"
 * pipeline; a GET would go in a second request).
 */
export interface CacheLookupResult {
  status: CacheStatus;
  /** The cached response on a hit. */
  response: Response | null;
  /** Canonical cache key, when the request is cacheable. */
  key: string | null;
}

/** The parts of a parsed inference request the cache key is made of (the infer-body middleware's). */
export interface CacheableInference {
  model: string;
  version: string | null;
  rawBody: Uint8Array;
  /** Length of the JSON header before binary tensor bytes; null for a whole-JSON body. */
  headerLength: number | null;
  /** The parsed JSON, shared between requests with the same bytes (so its digest is memoised on it). */
  request: object;
}

/** One inference request as the cache sees it. */
export interface CacheRequest {
  /** Also the memo key of the request's plan: the same object is passed for every step of one request. */
  inference: CacheableInference;
  /** The caller's tenant (null for the operator); part of the key unless the model's answers are shareable. */
  tenantId: string | null;
  /** The client's `Cache-Control` and `Pragma` headers. */
  cacheControl: string | undefined;
  pragma: string | undefined;
}

/** What the cache does for one inference request: the policy decision and, unless bypassed, the key. */
export interface InferCachePlan {
  decision: CacheDecision;
  key: string | null;
}

export interface ResponseCacheLayerOptions {
  settings: ModelSettingsCache;
  /** Global tier (Redis); null without Redis. */
  shared: ResponseCache | null;
  /** Edge tier where the platform has no Workers Cache API (Node): an in-isolate LRU; null for none. */
  memoryEdge: MemoryCache | null;
  /** Epoch ms. */
  now: () => number;
  onError?: (tier: CacheTier, operation: 'get' | 'set', error: unknown) => void;
}

type RequestPlatform = Pick<Platform, 'edgeCache' | 'waitUntil'>;

/** The request's `id`, echoed by the origin; a cached answer is rewritten to carry the caller's. */
export function requestJsonId(inference: Pick<CacheableInference, 'request'>): string | undefined {
  const id = (inference.request as { id?: unknown }).id;
  return typeof id === 'string' ? id : undefined;
}

/**
 * The response cache as the inference route and the rate-limit middleware use it: plans (policy + key),
 * lookups through the tiers, and fills. The key is hashed synchronously and the Redis read is issued inside
 * `lookup`, so when the rate limiter starts it right after its own command both leave in one auto-pipelined
 * round trip (unless the model's settings must first be loaded, once per ~30 s).
 */
export class ResponseCacheLayer {
  readonly #options: ResponseCacheLayerOptions;
  readonly #plans = new WeakMap<CacheableInference, InferCachePlan>();
  // Keyed by the parsed request object, which the infer-body middleware shares between requests with the same
  // bytes: a repeated body is canonicalised and hashed once, not per request.
  readonly #bodyDigests = new WeakMap<object, string>();
  readonly #edgeAdapters = new WeakMap<EdgeCache, EdgeResponseCache>();

  constructor(options: ResponseCacheLayerOptions) {
    this.#options = options;
  }

  /** The tiers for one request: the platform's Cache API when it has one, else the in-isolate LRU. */
  #tiers(platform: RequestPlatform): LayeredCache {
    let edge: ResponseCache | null = this.#options.memoryEdge;
    if (platform.edgeCache) {
      let adapter = this.#edgeAdapters.get(platform.edgeCache);
      if (!adapter) {
        adapter = new EdgeResponseCache(platform.edgeCache);
        this.#edgeAdapters.set(platform.edgeCache, adapter);
      }
      edge = adapter;
    }
    return new LayeredCache({
      edge,
      shared: this.#options.shared,
      now: this.#options.now,
      onError: this.#options.onError,
    });
  }

  #plan(request: CacheRequest, settings: Parameters<typeof decideCache>[0]): InferCachePlan {
    const { inference } = request;
    const directive = parseClientCacheDirective(request.cacheControl, request.pragma);
    const decision = decideCache(settings, directive);
    let key: string | null = null;
    if (!decision.bypass) {
      key = sha256HexSync(
        cacheKeyMaterial(
          {
            tenantId: request.tenantId,
            shareable: decision.shareable,
            model: inference.model,
            version: inference.version,
          },
          this.#bodyDigest(inference),
        ),
      );
    }
    const plan: InferCachePlan = { decision, key };
    this.#plans.set(inference, plan);
    return plan;
  }

  #bodyDigest(inference: CacheableInference): string {
    let digest = this.#bodyDigests.get(inference.request);
    if (digest === undefined) {
      const binary =
        inference.headerLength === null ? null : inference.rawBody.subarray(inference.headerLength);
      digest = sha256HexSync(canonicalBodyMaterial(inference.request, binary));
      this.#bodyDigests.set(inference.request, digest);
    }
    return digest;
  }

  /** The plan for the request's inference body (memoised per request). */
  async plan(request: CacheRequest): Promise<InferCachePlan> {
    const known = this.#plans.get(request.inference);
    if (known) return known;
    return this.#plan(request, await this.#options.settings.get(request.inference.model));
  }

  /** Looks the request up in the tiers, per its plan. */
  lookup(request: CacheRequest, platform: RequestPlatform): Promise<CacheLookupResult> {
    const settings = this.#options.settings.peek(request.inference.model);
    if (settings !== undefined) return this.#lookup(request, this.#plan(request, settings), platform);
    return this.plan(request).then((plan) => this.#lookup(request, plan, platform));
  }

  #lookup(
    request: CacheRequest,
    plan: InferCachePlan,
    platform: RequestPlatform,
  ): Promise<CacheLookupResult> {
    const { decision, key } = plan;
    if (!key || !decision.read) {
      return Promise.resolve({ status: decision.bypass ? 'BYPASS' : 'MISS', response: null, key });
    }
    const tiers = this.#tiers(platform);
    const id = requestJsonId(request.inference);
    const hit = (value: StoredResponse, source: CacheHitSource): CacheLookupResult => ({
      status: source,
      response: this.#hitResponse(value, source, id),
      key,
    });
    // An in-isolate edge tier answers synchronously: a hit there needs no Redis command at all.
    const memory = platform.edgeCache ? null : this.#options.memoryEdge;
    if (memory) {
      const value = memory.getSync(key);
      if (value && this.#options.now() - value.storedAt < decision.ttlSeconds * 1000) {
        return Promise.resolve(hit(value, 'HIT-EDGE'));
      }
    }
    // Both reads start now: the Redis one must leave in this tick to share the limiter's round trip.
    const edge = memory ? Promise.resolve(null) : tiers.getEdge(key, decision.ttlSeconds);
    const shared = tiers.getShared(key, decision.ttlSeconds);
    return edge.then(async (edgeValue) => {
      if (edgeValue) return hit(edgeValue, 'HIT-EDGE');
      const sharedValue = await shared;
      if (!sharedValue) return { status: 'MISS', response: null, key };
      tiers.backfillEdge(key, sharedValue, decision.ttlSeconds, (p) => platform.waitUntil(p));
      return hit(sharedValue, 'HIT-REDIS');
    });
  }

  /** A cached answer for one caller: its own `id`, `X-Cache` and `Age`. */
  #hitResponse(value: StoredResponse, source: CacheHitSource, id: string | undefined): Response {
    const age = Math.max(0, Math.floor((this.#options.now() - value.storedAt) / 1000));
    return toResponse(withResponseId(value, id), { 'x-cache': source, age: String(age) });
  }

  /** Stores a fresh answer in every tier, in the background. */
  store(platform: RequestPlatform, key: string, value: StoredResponse, ttlSeconds: number): void {
    this.#tiers(platform).store(key, value, ttlSeconds, (p) => platform.waitUntil(p));
  }
}
