/**
 * Turns a raw Redis reply (as ioredis returns it with buffer replies and no transformers) into the JSON value
 * the Upstash REST API sends. With `Upstash-Encoding: base64` every string is base64 of its exact bytes, so
 * binary values survive JSON; integers, nulls and the status `OK` stay as they are, which is what
 * `@upstash/redis` decodes (it leaves numbers and `"OK"` alone and base64-decodes every other string).
 */
export type ReplyEncoding = 'base64' | 'utf8';

export type JsonReply = string | number | null | JsonReply[] | { error: string };

const OK = Buffer.from('OK');

export function encodeReply(value: unknown, encoding: ReplyEncoding): JsonReply {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return value.toString();
  if (Buffer.isBuffer(value)) {
    if (encoding === 'utf8' || value.equals(OK)) return value.toString('utf8');
    return value.toString('base64');
  }
  if (typeof value === 'string') {
    if (encoding === 'utf8' || value === 'OK') return value;
    return Buffer.from(value, 'utf8').toString('base64');
  }
  // An error nested inside an array (EXEC results, some EVAL replies) keeps Redis' message.
  if (value instanceof Error) return { error: value.message };
  if (Array.isArray(value)) return value.map((v) => encodeReply(v, encoding));
  return String(value);
}

/** True for errors Redis itself answered (wrong type, syntax, script error), as opposed to a lost connection. */
export function isReplyError(err: unknown): err is Error {
  return err instanceof Error && err.name === 'ReplyError';
}
