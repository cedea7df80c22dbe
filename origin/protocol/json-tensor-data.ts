import { AppError } from '../../shared/errors/index.ts';
import type { Datatype } from '../../shared/protocol/datatypes.ts';
import { describe } from './describe-value.ts';
import type { FlatJsonData } from './json-parse/wire.ts';
import { jsonValuesToTensorData, writeJsonValues } from './json-values.ts';
import { elementCount, type TensorData } from './tensor.ts';
import { allocateTensorData } from './typed-arrays.ts';

/** Flat or nested (rectangular, row-major, matching `shape`) JSON data → typed array. */
export function decodeJsonData(datatype: Datatype, shape: number[], data: unknown, what: string): TensorData {
  if (!Array.isArray(data)) {
    throw new AppError('INVALID_INPUT', `${what}: data must be an array, got ${describe(data)}`);
  }
  const count = elementCount(shape);
  if (data.length === 0 || !Array.isArray(data[0])) {
    if (data.length !== count) throw lengthMismatch(what, data.length, shape, count);
    return jsonValuesToTensorData(datatype, data, what);
  }
  // Nested: its dimensions (followed down the first elements) must be exactly the shape.
  const dims: number[] = [];
  let level: unknown = data;
  while (Array.isArray(level) && dims.length <= shape.length) {
    dims.push(level.length);
    level = level[0];
  }
  if (!sameDims(dims, shape)) throw nestedShapeMismatch(what, dims, Array.isArray(level), shape);
  const rank = shape.length;
  // Check the whole structure before allocating: the shape alone must not size an allocation.
  const check = (node: unknown, depth: number): void => {
    const expected = shape[depth]!;
    if (!Array.isArray(node) || node.length !== expected) {
      throw new AppError(
        'INVALID_INPUT',
        `${what}: nested data is not rectangular: expected an array of ${expected} at depth ${depth}, got ${Array.isArray(node) ? `an array of ${node.length}` : describe(node)}`,
      );
    }
    if (depth < rank - 1) for (const child of node) check(child, depth + 1);
  };
  check(data, 0);
  const out = allocateTensorData(datatype, count);
  let offset = 0;
  const fill = (node: unknown[], depth: number): void => {
    if (depth === rank - 1) {
      writeJsonValues(datatype, node, out, offset, what);
      offset += node.length;
      return;
    }
    for (const child of node) fill(child as unknown[], depth + 1);
  };
  fill(data, 0);
  return out;
}

/** decodeJsonData for data the worker flattened: the same shape checks and element errors. */
export function decodeFlatData(
  datatype: Datatype,
  shape: number[],
  flat: FlatJsonData,
  what: string,
): TensorData {
  const count = elementCount(shape);
  if (flat.dims === null) {
    if (flat.values.length !== count) throw lengthMismatch(what, flat.values.length, shape, count);
  } else if (!sameDims(flat.dims, shape)) {
    // As decodeJsonData reports it: followed down at most one level past the shape.
    const shown = flat.dims.slice(0, shape.length + 1);
    throw nestedShapeMismatch(what, shown, flat.dims.length > shown.length, shape);
  }
  return jsonValuesToTensorData(datatype, flat.values, what);
}

function sameDims(dims: readonly number[], shape: readonly number[]): boolean {
  return dims.length === shape.length && dims.every((d, i) => d === shape[i]);
}

function lengthMismatch(what: string, length: number, shape: number[], count: number): AppError {
  return new AppError(
    'INVALID_INPUT',
    `${what}: data has ${length} elements but shape [${shape.join(',')}] implies ${count}`,
  );
}

function nestedShapeMismatch(what: string, dims: number[], deeper: boolean, shape: number[]): AppError {
  return new AppError(
    'INVALID_INPUT',
    `${what}: nested data has shape [${dims.join(',')}${deeper ? ',…' : ''}] but shape is [${shape.join(',')}]`,
  );
}
