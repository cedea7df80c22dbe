import { AppError } from '../../shared/errors/index.ts';
import { truncate } from './describe-value.ts';
import type { JsonParseErrorKind } from './json-parse/wire.ts';

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Media types an inference body may be labelled with. Triton ignores the header entirely; we accept what real
 * clients send (curl -d sends x-www-form-urlencoded) and refuse types that are clearly something else.
 */
const ACCEPTED_MEDIA_TYPES = new Set([
  'application/json',
  'text/json',
  'text/plain',
  'application/octet-stream',
  'application/x-www-form-urlencoded',
]);

export function checkContentType(contentType: string | undefined): void {
  if (contentType === undefined) return;
  const media = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  if (media === '' || ACCEPTED_MEDIA_TYPES.has(media) || media.endsWith('+json')) return;
  throw new AppError(
    'UNSUPPORTED_MEDIA_TYPE',
    `unsupported content-type '${truncate(media, 64)}': send application/json, or application/octet-stream with Inference-Header-Content-Length`,
  );
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The error for a JSON body that is not UTF-8 or not JSON, wherever it was parsed (here or off the main thread). */
export function jsonParseError(kind: JsonParseErrorKind, message: string): AppError {
  return kind === 'utf8'
    ? new AppError('INVALID_JSON', 'request body is not valid JSON: it is not valid UTF-8')
    : new AppError('INVALID_JSON', `request body is not valid JSON: ${truncate(message, 200)}`);
}

export function parseJson(bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = utf8Decoder.decode(bytes);
  } catch {
    throw jsonParseError('utf8', '');
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw jsonParseError('json', err instanceof Error ? err.message : String(err));
  }
}
