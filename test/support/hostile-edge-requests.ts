/**
 * Seeded random requests for the edge's hostile-input runs (test/workers/app-hostile-input.test.ts in-process,
 * test/e2e/edge-workerd.test.ts against workerd): every public and admin route, hostile path segments, query
 * strings, credentials, headers and bodies, mostly with the credential the route wants so most of them reach the
 * handlers. One answer check for both.
 */
import { expect } from 'vitest';

/** What a run authenticates with: a tenant key, a revoked key, another key's prefix to revoke, the operator. */
export interface EdgeCredentials {
  tenant: string;
  revoked: string;
  prefix: string;
  /** `Bearer <ADMIN_TOKEN>`. */
  operator: string;
  /** A key of the run's tenant with the `admin` scope: it must never reach `other`. */
  tenantAdmin?: string;
  /** Another tenant, named in paths by name or id, with one of its keys' prefixes and a model private to it. */
  other?: { name: string; id: string; prefix: string; privateModel?: string };
}

/**
 * Whether this request reaches into the other tenant: its tenant, id or key with the tenant's admin key, or its
 * private model with any of the tenant's keys. Such a request must never succeed.
 */
export function crossesTenant(sent: Sent, keys: EdgeCredentials): boolean {
  const { other, tenantAdmin } = keys;
  if (!other) return false;
  const segments = sent.path.split('?')[0]!.split('/');
  const auth = sent.headers.authorization;
  if (other.privateModel && segments[1] === 'v2' && segments.includes(other.privateModel)) {
    return (
      auth === `Bearer ${keys.tenant}` || (tenantAdmin !== undefined && auth === `Bearer ${tenantAdmin}`)
    );
  }
  if (!tenantAdmin || auth !== `Bearer ${tenantAdmin}`) return false;
  return [other.name, other.id, other.prefix].some((ref) => segments.includes(ref));
}

/** A valid single-item inference body for the stub origin's models. */
const VALID_INFER_BODY = JSON.stringify({
  inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [0.1, 0.2, 0.3, 0.4] }],
});

type Pick = <T>(xs: readonly T[]) => T;

/** Route templates with the method each serves ('*' for paths that serve none). */
const ROUTES: ReadonlyArray<readonly [string, string]> = [
  ['/v2', 'GET'],
  ['/v2/health/live', 'GET'],
  ['/v2/health/ready', 'GET'],
  ['/v2/models/{m}', 'GET'],
  ['/v2/models/{m}/ready', 'GET'],
  ['/v2/models/{m}/versions/{v}', 'GET'],
  ['/v2/models/{m}/versions/{v}/ready', 'GET'],
  ['/v2/models/{m}/infer', 'POST'],
  ['/v2/models/{m}/infer', 'POST'],
  ['/v2/models/{m}/infer', 'POST'],
  ['/v2/models/{m}/versions/{v}/infer', 'POST'],
  ['/openapi.json', 'GET'],
  ['/docs', 'GET'],
  ['/admin/v1/tenants', 'POST'],
  ['/admin/v1/tenants', 'POST'],
  ['/admin/v1/tenants', 'GET'],
  ['/admin/v1/tenants/{t}/keys', 'POST'],
  ['/admin/v1/tenants/{t}/keys', 'POST'],
  ['/admin/v1/tenants/{t}/keys', 'GET'],
  ['/admin/v1/tenants/{t}/keys/{k}/revoke', 'POST'],
  ['/admin/v1/tenants/{t}/keys/{k}/rotate', 'POST'],
  ['/admin/v1/tenants/{t}/usage', 'GET'],
  ['/admin/v1/tenants/{t}/usage', 'GET'],
  ['/admin/v1/models', 'GET'],
  ['/admin/v1/models/{m}', 'PATCH'],
  ['/admin/v1/models/{m}', 'PATCH'],
  ['/admin/v1/fleet', 'GET'],
  ['/admin/v1/metrics', 'GET'],
  ['/{junk}', '*'],
  ['/v2/{junk}/{junk}', '*'],
  ['/admin/v1/{junk}', '*'],
];

const SEGMENTS = [
  '',
  '%00',
  '%E0%A4%A',
  '%2F',
  '..',
  '.',
  'a'.repeat(300),
  '%F0%9F%98%80',
  'x%20y',
  "'%20OR%201=1--",
  '-1',
  '0',
  '99999999999999999999',
  'null',
  '%25',
  'ocr-cls',
  'm',
  '00000000-0000-0000-0000-000000000000',
];

const QUERIES = [
  '',
  '',
  '?limit=-1',
  '?limit=abc',
  '?limit=100000',
  '?limit=1.5',
  '?from=yesterday',
  '?from=2026-13-45T00:00:00Z&to=x',
  '?from=2026-01-01T00:00:00Z&to=2025-01-01T00:00:00Z',
  '?cursor=%25%25%25',
  '?cursor=eyJ0IjoiYWJjIn0',
  '?cursor=AAAA',
  '?ready=maybe',
  '?a=1&a=2',
  '?limit=10&limit=20',
  '?%00=%00',
];

const FIELDS = [
  'name',
  'plan',
  'scopes',
  'expiresAt',
  'ttlSeconds',
  'cacheable',
  'shareable',
  'inputs',
  'datatype',
  'shape',
  'data',
  'parameters',
  'outputs',
  'requestsPerMinute',
  'burst',
  'id',
  'binary_data_size',
  'binary_data_output',
  'gracePeriodSeconds',
  'ready',
  'timeout',
  'priority',
  '__proto__',
  'constructor',
];

function randomValue(r: () => number, pick: Pick, depth = 0): unknown {
  switch (Math.floor(r() * 13)) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
      return Math.floor(r() * 2000) - 1000;
    case 3:
      return (r() - 0.5) * 10 ** Math.floor(r() * 60 - 30);
    case 4:
      return pick([
        '',
        'free',
        'pro',
        'enterprise',
        'ocr-cls',
        '*',
        'FP32',
        'INT64',
        'BYTES',
        '2026-01-01T00:00:00Z',
      ]);
    case 5:
      return '\u0000"\\\u{1f600}\u202e';
    case 6:
      return 'x'.repeat(Math.floor(r() * 5000));
    case 7:
    case 8:
      return depth < 4
        ? Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, pick, depth + 1))
        : [];
    case 9:
    case 10:
      return depth < 4 ? randomObject(r, pick, depth + 1) : {};
    case 11:
      return 2 ** 64;
    default:
      return -0.5;
  }
}

function randomObject(r: () => number, pick: Pick, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const n = Math.floor(r() * 5);
  for (let i = 0; i < n; i++) out[pick(FIELDS)] = randomValue(r, pick, depth);
  return out;
}

function randomBody(r: () => number, pick: Pick): string | Uint8Array | undefined {
  const valid = VALID_INFER_BODY;
  switch (Math.floor(r() * 8)) {
    case 0:
      return undefined;
    case 1:
      return JSON.stringify(randomObject(r, pick, 0));
    case 2:
      return JSON.stringify(randomValue(r, pick));
    case 3:
      return valid.slice(0, Math.floor(r() * valid.length));
    case 4: {
      const bytes = new TextEncoder().encode(valid);
      for (let i = 0; i < 3; i++) bytes[Math.floor(r() * bytes.length)] = Math.floor(r() * 256);
      return bytes;
    }
    case 5:
      return new Uint8Array(Math.floor(r() * 200)).map(() => Math.floor(r() * 256));
    case 6:
      return JSON.stringify({ name: `t-${Math.floor(r() * 1e6)}`, ...randomObject(r, pick, 0) });
    default:
      return valid;
  }
}

/**
 * A body in the binary tensor data extension: a JSON header naming `binary_data_size` bytes, then raw bytes,
 * with the header length, the sizes or the trailing bytes right most of the time and wrong otherwise.
 */
function randomBinaryBody(r: () => number, pick: Pick): { body: Uint8Array; headerLength: string } {
  const elements = pick([1, 4, 16]);
  const declared = r() < 0.8 ? elements * 4 : pick([0, 3, elements * 4 + 1, 1_000_000]);
  const header = new TextEncoder().encode(
    JSON.stringify({
      inputs: [
        {
          name: 'x',
          datatype: pick(['FP32', 'FP32', 'INT64', 'BYTES', 'BF16']),
          shape: r() < 0.8 ? [1, elements] : pick([[], [0], [1, elements + 1], [-1]]),
          parameters: { binary_data_size: r() < 0.9 ? declared : pick([-1, 'x', null, 1.5]) },
        },
      ],
      ...(r() < 0.2 ? { parameters: { binary_data_output: pick([true, false, 'yes']) } } : {}),
    }),
  );
  const trailing = r() < 0.8 ? elements * 4 : Math.floor(r() * 64);
  const body = new Uint8Array(header.length + trailing);
  body.set(header);
  for (let i = header.length; i < body.length; i++) body[i] = Math.floor(r() * 256);
  const length =
    r() < 0.8 ? header.length : pick([0, 1, header.length - 1, header.length + 1, body.length + 5]);
  return { body, headerLength: String(length) };
}

export interface Sent {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | Uint8Array | undefined;
}

/**
 * `validCredentialsOnly`: never a credential the edge refuses (which spends the client address's bucket for
 * failed authentication, shared with other tests of the same edge).
 */
export function randomEdgeRequest(
  r: () => number,
  keys: EdgeCredentials,
  options: { validCredentialsOnly?: boolean } = {},
): Sent {
  const pick: Pick = (xs) => xs[Math.floor(r() * xs.length)]!;
  const fill = (template: string) =>
    template.replace(/\{(\w+)\}/g, (_, slot: string) => {
      if (keys.other && (slot === 't' || slot === 'k') && r() < 0.15) {
        return slot === 't' ? pick([keys.other.name, keys.other.id]) : keys.other.prefix;
      }
      if (keys.other?.privateModel && slot === 'm' && r() < 0.1) return keys.other.privateModel;
      return slot === 't' && r() < 0.7
        ? 'fuzz-co'
        : slot === 'm' && r() < 0.7
          ? 'ocr-cls'
          : slot === 'k' && r() < 0.6
            ? keys.prefix
            : pick(SEGMENTS);
    });
  const [template, served] = pick(ROUTES);
  const method =
    served !== '*' && r() < 0.75
      ? served
      : pick(['GET', 'POST', 'PATCH', 'PUT', 'DELETE', 'OPTIONS', 'HEAD']);
  const path = fill(template) + pick(QUERIES);
  const headers: Record<string, string> = {};
  // Mostly the credential the route wants, so most requests get past auth to the handler and its validation.
  const admin = path.startsWith('/admin/');
  const roll = r();
  const auth = options.validCredentialsOnly
    ? admin && roll < 0.85
      ? keys.operator
      : `Bearer ${keys.tenant}`
    : roll < 0.7
      ? admin
        ? keys.operator
        : `Bearer ${keys.tenant}`
      : roll < 0.85
        ? admin
          ? `Bearer ${keys.tenant}`
          : keys.operator
        : pick([
            undefined,
            `Bearer ${keys.revoked}`,
            'Bearer',
            'Bearer  ',
            'Basic Zm9vOmJhcg==',
            'Bearer ais_live_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
            `Bearer ${'k'.repeat(5000)}`,
            `bearer ${keys.tenant}`,
          ]);
  // Some admin calls with the tenant's own admin key, which must stay inside its tenant.
  const asTenantAdmin = admin && keys.tenantAdmin !== undefined && r() < 0.25;
  if (asTenantAdmin) headers.authorization = `Bearer ${keys.tenantAdmin}`;
  else if (auth !== undefined) headers.authorization = auth;
  const contentType = pick([
    undefined,
    'application/json',
    'application/json',
    'text/plain',
    'application/octet-stream',
    'multipart/form-data; boundary=x',
    'application/json; charset=latin1',
    'application/x-www-form-urlencoded',
    '*/*;;;',
  ]);
  if (contentType !== undefined) headers['content-type'] = contentType;
  if (r() < 0.2)
    headers['cache-control'] = pick([
      'no-cache',
      'no-store',
      'max-age=abc',
      'only-if-cached',
      'no-cache, no-store',
    ]);
  if (r() < 0.2)
    headers['inference-header-content-length'] = pick([
      '-1',
      '0',
      '5',
      'abc',
      '1e3',
      '99999999999999',
      ' 12 ',
    ]);
  if (r() < 0.2) headers['x-request-id'] = pick(['', 'ok-id', 'x'.repeat(500), 'bad id\t!', '../../etc']);
  if (r() < 0.2)
    headers.traceparent = pick(['', '00-xyz', `00-${'0'.repeat(32)}-${'0'.repeat(16)}-01`, 'ff-'.repeat(20)]);
  if (r() < 0.1) headers['if-none-match'] = pick(['*', '"abc"', 'W/"x", "y"', '""', 'garbage']);
  if (r() < 0.1) headers.origin = pick(['https://evil.example', 'null', 'http://localhost:3000']);
  if (r() < 0.05) headers['content-length'] = pick(['-5', 'abc', '99999999999']);
  if (r() < 0.1)
    headers['x-request-timeout-ms'] = pick(['', '0', '-1', 'soon', '1e3', '999999999', '1', '2500']);
  if (method !== 'GET' && method !== 'HEAD' && path.includes('/infer') && r() < 0.25) {
    const binary = randomBinaryBody(r, pick);
    headers['content-type'] = 'application/octet-stream';
    headers['inference-header-content-length'] = binary.headerLength;
    return { method, path, headers, body: binary.body };
  }
  const body = method === 'GET' || method === 'HEAD' ? undefined : randomBody(r, pick);
  return { method, path, headers, body };
}

export function describeSent(s: Sent): string {
  const body =
    s.body === undefined
      ? ''
      : typeof s.body === 'string'
        ? s.body.slice(0, 200)
        : `<${s.body.length} bytes>`;
  return `${s.method} ${s.path.slice(0, 200)} ${JSON.stringify(s.headers).slice(0, 300)} ${body}`;
}

/**
 * Fails on a 5xx (with its body) and on an error that is not the edge's JSON error body; returns the status.
 * `where` names the request so a failure can be replayed.
 */
export async function checkEdgeAnswer(res: Response, sent: Sent, where: string): Promise<number> {
  // A deadline the request set itself (a header, or Triton's `timeout` parameter in the body) may expire: that
  // 504 is the answer it asked for.
  const ownDeadline =
    'x-request-timeout-ms' in sent.headers ||
    (typeof sent.body === 'string' && sent.body.includes('"timeout"'));
  if (res.status < 400 || sent.method === 'HEAD') {
    // A HEAD answer has no body to read the code from: its status has to do.
    await res.arrayBuffer();
    if (res.status >= 500 && !(ownDeadline && res.status === 504)) expect.fail(`${where} → ${res.status}`);
    return res.status;
  }
  expect(res.headers.get('content-type'), where).toMatch(/^application\/json/);
  const body = (await res.json()) as { error?: unknown; code?: unknown };
  expect(typeof body.error, where).toBe('string');
  expect(typeof body.code, where).toBe('string');
  const asked = ownDeadline && res.status === 504 && body.code === 'DEADLINE_EXCEEDED';
  if (res.status >= 500 && !asked) expect.fail(`${where} → ${res.status}: ${JSON.stringify(body)}`);
  return res.status;
}

/**
 * Whether fetch itself would refuse these headers or this body (such a request never reaches a server).
 * `overHttp`: undici also refuses a hand-set Content-Length when it sends; in-process `app.request` passes it on.
 */
export function fetchRefuses(sent: Sent, options: { overHttp?: boolean } = {}): boolean {
  if (options.overHttp && 'content-length' in sent.headers) return true;
  try {
    new Request('http://edge.test/', {
      method: sent.method,
      headers: sent.headers,
      body: sent.body as BodyInit | undefined,
    });
    return false;
  } catch {
    return true;
  }
}
