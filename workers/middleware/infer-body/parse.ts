// Loaded first on purpose: @hono/zod-openapi adds `.openapi()` to zod schemas created after it loads (zod 4
// attaches methods per instance), and the inference route documents the shared protocol schemas with it.
import '@hono/zod-openapi';
import type { z } from 'zod';
import { AppError } from '../../../shared/errors/index.ts';
import { type InferRequestJson, inferRequestSchema } from '../../../shared/protocol/infer-request.ts';

export interface ParsedBody {
  request: InferRequestJson;
  headerLength: number | null;
  items: number;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(body)'}: ${issue.message}`)
    .join('; ');
}

/**
 * The batch size a request asks for: the largest first dimension over its inputs (inputs of one request share
 * the batch dimension, so summing them would charge a two-input model twice). Scalars count as one item.
 */
export function batchItems(request: InferRequestJson): number {
  let items = 1;
  for (const input of request.inputs) {
    const first = input.shape[0];
    if (first !== undefined && first > items) items = first;
  }
  return items;
}

/** 413 for a JSON part over the edge's limit, pointing at the binary extension, which is never parsed. */
export function jsonTooLarge(bytes: number, maxJsonBytes: number): AppError {
  return new AppError(
    'PAYLOAD_TOO_LARGE',
    `the JSON part of the request is ${bytes} bytes, over the edge's limit of ${maxJsonBytes} (MAX_JSON_BODY_BYTES); send large tensors as raw bytes with the binary tensor data extension (Inference-Header-Content-Length)`,
  );
}

/**
 * Parses an inference body: JSON, or with `Inference-Header-Content-Length` a JSON header followed by binary
 * tensor bytes. Checks what the edge can check without the model (structure, header length, that binary
 * sizes add up to the bytes sent); anything malformed is a 400 naming the problem, never a 5xx.
 */
export function parseInferBody(
  body: Uint8Array,
  headerLengthRaw: string | undefined,
  maxJsonBytes = Number.POSITIVE_INFINITY,
): ParsedBody {
  let headerLength: number | null = null;
  if (headerLengthRaw !== undefined) {
    if (!/^\d{1,10}$/.test(headerLengthRaw.trim())) {
      throw new AppError('INVALID_REQUEST', 'Inference-Header-Content-Length must be a non-negative integer');
    }
    headerLength = Number(headerLengthRaw.trim());
    if (headerLength === 0 || headerLength > body.byteLength) {
      throw new AppError(
        'INVALID_REQUEST',
        `Inference-Header-Content-Length ${headerLength} is outside the body's ${body.byteLength} bytes`,
      );
    }
  }
  const headerBytes = headerLength === null ? body : body.subarray(0, headerLength);
  if (headerBytes.byteLength === 0) throw new AppError('INVALID_JSON', 'request body is empty');
  if (headerBytes.byteLength > maxJsonBytes) throw jsonTooLarge(headerBytes.byteLength, maxJsonBytes);
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(headerBytes));
  } catch (err) {
    const reason = err instanceof Error ? err.message : 'not UTF-8';
    throw new AppError('INVALID_JSON', `request body is not valid JSON: ${reason}`);
  }
  const parsed = inferRequestSchema.safeParse(json);
  if (!parsed.success) {
    throw new AppError('INVALID_REQUEST', `invalid inference request: ${describe(parsed.error)}`);
  }
  const request = parsed.data;
  let binaryBytes = 0;
  for (const input of request.inputs) {
    const size = input.parameters?.binary_data_size;
    if (size !== undefined) {
      binaryBytes += size;
    } else if (input.data === undefined) {
      throw new AppError('INVALID_REQUEST', `input "${input.name}" has neither data nor binary_data_size`);
    }
  }
  const trailing = headerLength === null ? 0 : body.byteLength - headerLength;
  if (binaryBytes !== trailing) {
    throw new AppError(
      'INVALID_REQUEST',
      headerLength === null
        ? 'binary_data_size given without Inference-Header-Content-Length'
        : `binary_data_size adds up to ${binaryBytes} bytes but ${trailing} follow the JSON header`,
    );
  }
  return { request, headerLength, items: batchItems(request) };
}
