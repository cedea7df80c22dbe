import type { Context } from 'hono';
import type { AuthVariables } from './middleware/auth/index.ts';
import type { EdgeContextVariables } from './middleware/edge-context/index.ts';
import type { InferBodyVariables } from './middleware/infer-body/index.ts';
import type { RateLimitVariables } from './middleware/rate-limit/index.ts';
import type { RequestIdVariables } from './middleware/request-id/index.ts';
import type { UsageVariables } from './middleware/usage/index.ts';

/**
 * Worker bindings: wrangler `[vars]` and secrets (all strings; read once by `readEdgeSettings` in config.ts).
 * Under `npm run edge:node` the same names come from `process.env`.
 */
export type Bindings = Record<string, string | undefined>;

/** What a request's context holds: the variables each middleware sets, as that middleware declares them. */
type AppVariables = EdgeContextVariables &
  RequestIdVariables &
  UsageVariables &
  AuthVariables &
  InferBodyVariables &
  RateLimitVariables;

export interface AppEnv {
  Bindings: Bindings;
  Variables: AppVariables;
}

export type AppContext = Context<AppEnv>;
