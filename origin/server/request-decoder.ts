import {
  type DecodedInferRequest,
  type DecodeHeaders,
  decodeInferRequest,
  decodePreparsedInferRequest,
} from '../protocol/decode-request.ts';
import { type JsonParsePool, JsonParseWorkerError } from '../protocol/json-parse/pool.ts';
import type { TurnBudget } from './turn-budget.ts';

export type RequestDecoder = (body: Uint8Array, headers: DecodeHeaders) => Promise<DecodedInferRequest>;

/**
 * Decodes inference bodies paced by the turn budget. Plain JSON bodies of at least `jsonParser.minBytes` are
 * parsed off the main thread first; binary-extension bodies (cheap to decode) always decode here.
 */
export function createRequestDecoder(deps: {
  turns: TurnBudget;
  jsonParser: { pool: JsonParsePool; minBytes: number } | null;
}): RequestDecoder {
  const { turns, jsonParser } = deps;
  return async (body, headers) => {
    const offThread =
      jsonParser !== null &&
      headers.inferenceHeaderContentLength === undefined &&
      body.byteLength >= jsonParser.minBytes;
    if (offThread) {
      try {
        const parsed = await jsonParser.pool.parse(body);
        return await turns.run(() => decodePreparsedInferRequest(parsed, headers));
      } catch (err) {
        // Only a worker that died with the job falls through: the body is then parsed here.
        if (!(err instanceof JsonParseWorkerError)) throw err;
      }
    }
    return turns.run(() => decodeInferRequest(body, headers));
  };
}
