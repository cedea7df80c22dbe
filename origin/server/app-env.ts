import type { BodyVariables } from './body.ts';
import type { RequestContextVariables } from './request-context.ts';

/** The origin app's Hono environment: what the middleware puts on each request's context. */
export type AppEnv = { Variables: RequestContextVariables & BodyVariables };
