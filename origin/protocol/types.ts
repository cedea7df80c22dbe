import type { Tensor } from './tensor.ts';

/** An entry of the request's `outputs`, with its binary flag already resolved against the request default. */
export interface RequestedOutput {
  name: string;
  binary: boolean;
  /** Never set today: the classification extension is rejected at decode time with a 400. */
  classificationCount?: number;
}

export interface DecodedInferRequest {
  id?: string;
  /** Request-level parameters as sent (e.g. timeout, priority, binary_data_output). */
  parameters: Record<string, unknown>;
  inputs: Tensor[];
  /** undefined (or an empty `outputs` array on the wire) = all outputs. */
  outputs?: RequestedOutput[];
  /** Request `parameters.binary_data_output` (false when absent). */
  binaryOutputDefault: boolean;
}

export interface DecodeHeaders {
  contentType?: string;
  inferenceHeaderContentLength?: string;
}

export interface EncodeInferResponseOptions {
  modelName: string;
  modelVersion: string;
  id?: string;
  outputs: Tensor[];
  /** When given, only these outputs are returned, in this order, each with its own binary flag. */
  requested?: RequestedOutput[];
  /** Binary flag for every output when `requested` is not given. */
  binaryOutputDefault: boolean;
  parameters?: Record<string, unknown>;
}

export interface EncodedInferResponse {
  /** A string for plain JSON; bytes when any output uses the binary extension. */
  body: Uint8Array | string;
  headers: Record<string, string>;
}
