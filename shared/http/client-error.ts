import type { Duplex } from 'node:stream';
import { AppError } from '../errors/app-error.ts';
import { errorBody } from '../errors/to-response.ts';

/**
 * Requests Node's HTTP parser refuses before any handler sees them (headers over its 16 KiB limit, a malformed
 * request line or header, conflicting Content-Length and Transfer-Encoding, a request that never finished
 * arriving) get the platform's JSON error body too, instead of Node's bare status line. For `server.on
 * ('clientError', …)` on the origin and on the edge's Node entry.
 */

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  413: 'Payload Too Large',
  431: 'Request Header Fields Too Large',
};

/** The error a parser failure becomes; `code` is Node's (`HPE_*` from llhttp, or `ERR_HTTP_REQUEST_TIMEOUT`). */
export function clientErrorFor(code: string | undefined): AppError {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return new AppError('HEADERS_TOO_LARGE', 'request headers exceed the server limit of 16 KiB');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new AppError('REQUEST_TIMEOUT', 'the request did not arrive completely in time');
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return new AppError('PAYLOAD_TOO_LARGE', 'chunk extensions exceed the server limit');
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return new AppError('INVALID_REQUEST', 'the request has both Content-Length and Transfer-Encoding');
    case 'HPE_INVALID_METHOD':
      return new AppError('INVALID_REQUEST', 'the request method is not valid HTTP');
    case 'HPE_INVALID_HEADER_TOKEN':
    case 'HPE_INVALID_CONTENT_LENGTH':
      return new AppError('INVALID_REQUEST', 'a request header is malformed');
    default:
      return new AppError('INVALID_REQUEST', `the request is not valid HTTP/1.1 (${code ?? 'parse error'})`);
  }
}

/** The whole raw HTTP answer for a parser failure: JSON body, then the connection closes. */
function clientErrorResponse(code: string | undefined): string {
  const error = clientErrorFor(code);
  const body = JSON.stringify(errorBody(error));
  return [
    `HTTP/1.1 ${error.status} ${REASONS[error.status] ?? 'Bad Request'}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    '',
    body,
  ].join('\r\n');
}

/** A `clientError` listener: answers with the JSON error when the socket can still take it. */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  // As Node's own handler: nobody to answer on a reset connection, and a response already under way on this
  // socket (a bad pipelined request behind a good one) must not be corrupted by a second one.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  socket.end(clientErrorResponse(err.code));
}
