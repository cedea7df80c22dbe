import { z } from '@hono/zod-openapi';

export const errorSchema = z
  .object({
    error: z.string().openapi({ example: 'invalid API key' }),
    code: z.string().openapi({ example: 'UNAUTHENTICATED' }),
    requestId: z.string().optional(),
  })
  .openapi('Error');

export const tenantSchema = z
  .object({
    id: z.string().uuid(),
    name: z.string(),
    plan: z.string(),
    requestsPerMinute: z.number().int(),
    burst: z.number().int(),
    disabled: z.boolean(),
    createdAt: z.string(),
  })
  .openapi('Tenant');

export const keySummarySchema = z
  .object({
    id: z.string().uuid(),
    tenantId: z.string().uuid(),
    prefix: z.string(),
    name: z.string(),
    scopes: z.array(z.string()),
    env: z.enum(['live', 'test']),
    expiresAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
    rotatedFromId: z.string().nullable(),
    lastUsedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('ApiKey');

export const modelSettingsSchema = z
  .object({
    name: z.string(),
    cacheable: z.boolean(),
    cacheTtlSeconds: z.number().int(),
    shareable: z.boolean(),
    visibility: z.enum(['public', 'private']),
    ownerTenantId: z.string().nullable(),
  })
  .openapi('ModelSettings');

export const tenantParam = z.object({
  tenant: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'tenant', in: 'path' }, description: 'tenant id or name', example: 'acme' }),
});

export const keyParam = tenantParam.extend({
  key: z
    .string()
    .min(1)
    .max(200)
    .openapi({
      param: { name: 'key', in: 'path' },
      description: 'key id or prefix',
      example: 'k3j9x0p2m4qa',
    }),
});

/** The error answers every admin route can give, for the OpenAPI document. */
export const adminErrors = {
  400: { description: 'invalid request', content: { 'application/json': { schema: errorSchema } } },
  401: { description: 'missing or invalid token', content: { 'application/json': { schema: errorSchema } } },
  403: {
    description: 'not allowed for this token',
    content: { 'application/json': { schema: errorSchema } },
  },
  429: { description: 'rate limited', content: { 'application/json': { schema: errorSchema } } },
  503: {
    description: 'Postgres or Redis unavailable',
    content: { 'application/json': { schema: errorSchema } },
  },
} as const;

export const bearerSecurity = [{ bearer: [] }];

export function tenantJson(t: {
  id: string;
  name: string;
  plan: string;
  requestsPerMinute: number;
  burst: number;
  disabled: boolean;
  createdAt: Date;
}) {
  return { ...t, createdAt: t.createdAt.toISOString() };
}
