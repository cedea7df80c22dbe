import type { Context, MiddlewareHandler } from 'hono';
import { AppError, isAppError } from '../../../shared/errors/index.ts';
import { hashKeySecret, parseApiKey, timingSafeEqualHex } from '../../../shared/keys/api-key.ts';
import type { AuthKeyRecord } from '../../../shared/keys/auth-record.ts';
import type { EdgeMetrics } from '../../observability/metrics.ts';
import type { KeyCache } from '../../stores/keys/key-cache.ts';
import type { TouchBatcher } from '../../stores/keys/touch-batcher.ts';
import type { ModelSettingsCache } from '../../stores/models/model-settings.ts';
import type { EdgeContextVariables } from '../edge-context/index.ts';
import type { RequestIdVariables } from '../request-id/index.ts';
import { checkModelAccess } from './model-access.ts';
import { bearer } from './presented-key.ts';

/** Who a request is acting for, from a verified key (or the operator token). */
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

export interface AuthVariables {
  /** Set once the key (or operator token) is verified; undefined on routes without auth and before it. */
  auth: AuthContext | undefined;
}

export interface AuthOptions {
  keys: KeyCache;
  touch: TouchBatcher | null;
  /** `ADMIN_TOKEN`'s SHA-256 hex, or null when operator access is off. Only for `scope: 'admin'`. */
  operatorTokenHash: string | null;
  /**
   * `model`: the key must carry the model named in the path (or `*`); `admin`: the operator token, or a key
   * with the `admin` scope (acting on its own tenant); `any`: any valid key.
   */
  scope: 'model' | 'admin' | 'any';
  /**
   * With `scope: 'model'`: the models' settings, for the rule that a private model is its owner's alone
   * (model-access.ts), checked with the key's scopes. Absent: no model is private (no models table).
   */
  modelSettings?: Pick<ModelSettingsCache, 'peek' | 'get'>;
  metrics: EdgeMetrics;
}

const MODEL_PATH = /^\/v2\/models\/([^/]+)/;

function modelFromPath(path: string): string | null {
  const match = MODEL_PATH.exec(path);
  if (!match) return null;
  try {
    return decodeURIComponent(match[1]!);
  } catch {
    return null;
  }
}

function authContextOf(record: AuthKeyRecord): AuthContext {
  return {
    keyId: record.keyId,
    tenantId: record.tenantId,
    prefix: record.prefix,
    scopes: record.scopes,
    plan: record.tenant.plan,
    requestsPerMinute: record.tenant.requestsPerMinute,
    burst: record.tenant.burst,
    operator: false,
  };
}

/** Why a stored key cannot be used now, or null when it can. Expiry is checked per request, not cached. */
function keyRejection(record: AuthKeyRecord, nowMs: number): AppError | null {
  if (record.revokedAt !== null) return new AppError('UNAUTHENTICATED', 'API key has been revoked');
  if (record.expiresAt !== null) {
    const expires = Date.parse(record.expiresAt);
    if (!Number.isNaN(expires) && expires <= nowMs) {
      return new AppError('UNAUTHENTICATED', `API key expired at ${new Date(expires).toISOString()}`);
    }
  }
  if (record.tenant.disabled) return new AppError('FORBIDDEN', 'tenant is disabled');
  return null;
}

type AuthEnv = {
  Variables: AuthVariables & Pick<EdgeContextVariables, 'platform'> & Pick<RequestIdVariables, 'trace'>;
};

/**
 * Authenticates `Authorization: Bearer <key>` and authorises it for the route: 401 for a missing, malformed,
 * unknown, wrong, expired or revoked key; 403 for a disabled tenant or a model (or the admin API) outside the
 * key's scopes. Sets `c.get('auth')`.
 *
 * @example
 * app.use('/v2/models/*', auth({ keys, touch, operatorTokenHash: null, scope: 'model', metrics }));
 */
export function auth(options: AuthOptions): MiddlewareHandler<AuthEnv> {
  const { metrics } = options;
  /** Verifies the key (or the operator token) and sets `auth`; throws the refusal. */
  const authenticate = async (c: Context<AuthEnv>): Promise<void> => {
    const presented = bearer(c.req.header('authorization'));
    if (!presented) {
      throw new AppError('UNAUTHENTICATED', 'missing "Authorization: Bearer <api key>" header');
    }
    if (options.scope === 'admin' && options.operatorTokenHash && !presented.startsWith('ais_')) {
      const hash = hashKeySecret(presented);
      if (!timingSafeEqualHex(hash, options.operatorTokenHash)) {
        metrics.inc('edge_auth_failures_total');
        throw new AppError('UNAUTHENTICATED', 'invalid admin token');
      }
      c.set('auth', {
        keyId: null,
        tenantId: null,
        prefix: null,
        scopes: ['admin'],
        plan: 'operator',
        requestsPerMinute: 6_000,
        burst: 1_000,
        operator: true,
      });
      return;
    }
    const parsed = parseApiKey(presented);
    if (!parsed) {
      metrics.inc('edge_auth_failures_total');
      throw new AppError('UNAUTHENTICATED', 'malformed API key (expected ais_live_<prefix>_<secret>)');
    }
    let record: AuthKeyRecord | null;
    try {
      record = await options.keys.find(parsed.prefix);
    } catch (err) {
      throw new AppError('DEPENDENCY_UNAVAILABLE', 'key store (Postgres) is unreachable', {
        cause: err,
        retryAfterSeconds: 5,
      });
    }
    const hash = hashKeySecret(parsed.secret);
    if (!record || !timingSafeEqualHex(hash, record.secretHash)) {
      metrics.inc('edge_auth_failures_total');
      throw new AppError('UNAUTHENTICATED', 'invalid API key');
    }
    const rejection = keyRejection(record, c.get('platform').now());
    if (rejection) {
      metrics.inc('edge_auth_failures_total');
      throw rejection;
    }
    // Set before the scope check so a refused request of a valid key still gets its usage event.
    c.set('auth', authContextOf(record));
    if (options.scope === 'model') {
      // From the path: auth runs before the body is read, so that a request without a valid key is refused
      // before anyone parses (up to 64 MiB of) its body.
      const model = modelFromPath(c.req.path);
      if (model !== null && !record.scopes.includes('*') && !record.scopes.includes(model)) {
        throw new AppError('FORBIDDEN', `API key is not allowed to use model "${model}"`);
      }
      if (model !== null && options.modelSettings) {
        const settings = options.modelSettings.peek(model) ?? (await options.modelSettings.get(model));
        checkModelAccess(model, settings, record.tenantId);
      }
    } else if (options.scope === 'admin' && !record.scopes.includes('admin')) {
      throw new AppError('FORBIDDEN', 'API key lacks the "admin" scope required by the admin API');
    }
    const write = options.touch?.mark(record.prefix);
    if (write) c.get('platform').waitUntil(write);
  };
  // The span covers the verification alone, not the rest of the chain behind it.
  return async function authMiddleware(c, next) {
    const span = c.get('trace')?.startSpan('auth') ?? null;
    try {
      await authenticate(c);
    } catch (err) {
      span?.fail(isAppError(err) ? err.code : 'INTERNAL');
      throw err;
    } finally {
      span?.end();
    }
    await next();
  };
}
