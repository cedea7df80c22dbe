import type { Context } from 'hono';
import { cacheKeyMaterial, canonicalBodyMaterial } from '../../shared/cache-key.ts';
import { sha256HexSync } from '../../shared/sha256-sync.ts';
import type { AppEnv, CacheLookupResult, EdgeCache, ParsedInference, Platform } from '../env.ts';
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

/** The request's `id`, echoed by the origin; a cached answer is rewritten to carry the caller's. */
export function requestJsonId(inference: ParsedInference): string | undefined {
  const id = (inference.request as { id?: unknown }).id;
  return typeof id === 'string' ? id : undefined;
}

/**
 * The response cache as the inference route and the rate-limit middleware use it: plans (policy + key),
 * lookups through the tiers, and fills. The key is hashed synchronously and the Redis read is issued inside
 * `start`, so when the rate limiter calls `start` right after its own command both leave in one
 * auto-pipelined round trip (unless the model's settings must first be loaded, once per ~30 s).
 */
export class ResponseCacheLayer {
  readonly #options: ResponseCacheLayerOptions;
  readonly #plans = new WeakMap<ParsedInference, InferCachePlan>();
  // Keyed by the parsed request object, which the infer-body middleware shares between requests with the same
  // bytes: a repeated body is canonicalised and hashed once, not per request.
  readonly #bodyDigests = new WeakMap<object, string>();
  readonly #edgeAdapters = new WeakMap<EdgeCache, EdgeResponseCache>();

  constructor(options: ResponseCacheLayerOptions) {
    this.#options = options;
  }

  /** The tiers for one request: the platform's Cache API when it has one, else the in-isolate LRU. */
  tiers(platform: Platform): LayeredCache {
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

  #plan(c: Context<AppEnv>, inference: ParsedInference, settings: Parameters<typeof decideCache>[0]) {
    const directive = parseClientCacheDirective(c.req.header('cache-control'), c.req.header('pragma'));
    const decision = decideCache(settings, directive);
    let key: string | null = null;
    if (!decision.bypass) {
      key = sha256HexSync(
        cacheKeyMaterial(
          {
            tenantId: c.get('auth')?.tenantId ?? null,
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

  #bodyDigest(inference: ParsedInference): string {
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
  async plan(c: Context<AppEnv>, inference: ParsedInference): Promise<InferCachePlan> {
    const known = this.#plans.get(inference);
    if (known) return known;
    return this.#plan(c, inference, await this.#options.settings.get(inference.model));
  }

  /**
   * Starts the lookup for an inference request (undefined for other requests). This is the
   * `CacheLookupStarter` the rate-limit middleware calls in the same tick as its limiter.
   */
  start(c: Context<AppEnv>): Promise<CacheLookupResult> | undefined {
    const inference = c.get('inference');
    if (!inference) return undefined;
    const settings = this.#options.settings.peek(inference.model);
    if (settings !== undefined) return this.#lookup(c, inference, this.#plan(c, inference, settings));
    return this.plan(c, inference).then((plan) => this.#lookup(c, inference, plan));
  }

  #lookup(c: Context<AppEnv>, inference: ParsedInference, plan: InferCachePlan): Promise<CacheLookupResult> {
    const { decision, key } = plan;
    if (!key || !decision.read) {
      return Promise.resolve({ status: decision.bypass ? 'BYPASS' : 'MISS', response: null, key });
    }
    const platform = c.get('platform');
    const tiers = this.tiers(platform);
    const id = requestJsonId(inference);
    const hit = (value: StoredResponse, source: CacheHitSource): CacheLookupResult => ({
      status: source,
      response: this.hitResponse(value, source, id),
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
  hitResponse(value: StoredResponse, source: CacheHitSource, id: string | undefined): Response {
    const age = Math.max(0, Math.floor((this.#options.now() - value.storedAt) / 1000));
    return toResponse(withResponseId(value, id), { 'x-cache': source, age: String(age) });
  }

  /** Stores a fresh answer in every tier, in the background. */
  store(platform: Platform, key: string, value: StoredResponse, ttlSeconds: number): void {
    this.tiers(platform).store(key, value, ttlSeconds, (p) => platform.waitUntil(p));
  }
}
