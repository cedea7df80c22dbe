/**
 * Request shapes of the Upstash REST API and which commands a shared HTTP bridge may run. Pure: no I/O.
 *
 * - `POST /` with a JSON array `["SET","k","v"]`;
 * - the path form `GET|POST /set/k/v?EX=10` (a POST body is appended as the last argument, raw);
 * - `POST /pipeline` and `POST /multi-exec` with a JSON array of such arrays.
 */
export type RedisCommand = string[];

/** A request the bridge refuses before it reaches Redis; answered 400 `{"error": message}` like Upstash. */
export class BridgeInputError extends Error {
  override name = 'BridgeInputError';
}

/** One command from a JSON value; numbers and booleans become strings the way the Upstash client sends them. */
export function toCommand(value: unknown, where = 'command'): RedisCommand {
  if (!Array.isArray(value) || value.length === 0) {
    throw new BridgeInputError(`ERR ${where} must be a non-empty JSON array of strings`);
  }
  return value.map((part, i) => {
    if (typeof part === 'string') return part;
    if (typeof part === 'number' || typeof part === 'boolean') return String(part);
    throw new BridgeInputError(`ERR ${where}: argument ${i} must be a string or a number`);
  });
}

export function toCommandList(value: unknown): RedisCommand[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new BridgeInputError('ERR pipeline body must be a non-empty JSON array of commands');
  }
  return value.map((c, i) => toCommand(c, `command ${i + 1}`));
}

/** The path form: every segment is an argument (percent-decoded), then query pairs, then a POST body. */
export function commandFromPath(pathname: string, query: URLSearchParams, rawBody: string): RedisCommand {
  const parts = pathname
    .split('/')
    .filter((s) => s !== '')
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        throw new BridgeInputError(`ERR malformed percent-encoding in path segment "${s}"`);
      }
    });
  for (const [k, v] of query) {
    if (k === '_token') continue;
    parts.push(k);
    if (v !== '') parts.push(v);
  }
  if (rawBody !== '') parts.push(rawBody);
  if (parts.length === 0) throw new BridgeInputError('ERR empty command');
  return parts;
}

/**
 * Commands that change or hold the state of a connection. The bridge multiplexes every HTTP request over one
 * shared connection, so these would leak between callers (SELECT, CLIENT REPLY) or never return (SUBSCRIBE);
 * Upstash's REST API refuses them too.
 */
const FORBIDDEN = new Set([
  'auth',
  'hello',
  'select',
  'swapdb',
  'watch',
  'unwatch',
  'multi',
  'exec',
  'discard',
  'quit',
  'reset',
  'client',
  'readonly',
  'readwrite',
  'monitor',
  'subscribe',
  'psubscribe',
  'ssubscribe',
  'unsubscribe',
  'punsubscribe',
  'sunsubscribe',
  'sync',
  'psync',
  'shutdown',
  'debug',
]);

export function forbiddenReason(cmd: RedisCommand): string | null {
  const name = cmd[0]!.toLowerCase();
  return FORBIDDEN.has(name) ? `ERR Command is not allowed over REST: ${cmd[0]}` : null;
}

const BLOCKING = new Set([
  'blpop',
  'brpop',
  'brpoplpush',
  'blmove',
  'blmpop',
  'bzpopmin',
  'bzpopmax',
  'bzmpop',
  'wait',
  'waitaof',
]);

/** A blocking command gets its own connection so it cannot stall everyone else's requests behind it. */
export function isBlocking(cmd: RedisCommand): boolean {
  const name = cmd[0]!.toLowerCase();
  if (BLOCKING.has(name)) return true;
  if (name === 'xread' || name === 'xreadgroup') return cmd.some((a) => a.toLowerCase() === 'block');
  return false;
}
