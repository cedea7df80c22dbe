import { AppError } from '../../shared/errors/index.ts';
import { elementCount, type Tensor, type TensorData } from './tensor.ts';
import { allocateTensorData } from './typed-arrays.ts';

type NumericData = Exclude<TensorData, string[]>;

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 1; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Concatenates each input along dim 0 across requests. Inputs are matched by name (order taken from the first
 * request); every request must have the same inputs, datatypes and non-batch dims — the batchKey from
 * validateAgainstModel guarantees it, so a mismatch here is an INTERNAL error. One request is returned as is
 * (no copy). Typed data is copied with `set` into one preallocated array; BYTES arrays are concatenated.
 */
export function concatBatch(perRequestInputs: Tensor[][]): Tensor[] {
  const first = perRequestInputs[0];
  if (!first) throw new AppError('INTERNAL', 'concatBatch needs at least one request');
  if (perRequestInputs.length === 1) return first;

  return first.map((template) => {
    const parts: Tensor[] = perRequestInputs.map((inputs, r) => {
      const t = inputs.find((x) => x.name === template.name);
      if (
        !t ||
        inputs.length !== first.length ||
        t.datatype !== template.datatype ||
        t.shape.length === 0 ||
        !sameDims(t.shape, template.shape)
      ) {
        throw new AppError(
          'INTERNAL',
          `concatBatch: request ${r} input '${template.name}' is not batch-compatible with request 0`,
        );
      }
      return t;
    });
    let rows = 0;
    let length = 0;
    for (const p of parts) {
      rows += p.shape[0]!;
      length += p.data.length;
    }
    const shape = [rows, ...template.shape.slice(1)];
    if (template.datatype === 'BYTES') {
      const data = (parts as { data: string[] }[]).flatMap((p) => p.data);
      return { name: template.name, datatype: template.datatype, shape, data };
    }
    const data = allocateTensorData(template.datatype, length) as NumericData;
    let offset = 0;
    for (const p of parts) {
      // Same datatype ⇒ same typed array class; `set` copies with memcpy speed.
      (data as Float32Array).set(p.data as Float32Array, offset);
      offset += p.data.length;
    }
    return { name: template.name, datatype: template.datatype, shape, data };
  });
}

export interface SplitBatchOptions {
  /**
   * false (default): each part's data is a `subarray` view of the batched output's buffer — no copy, fine for
   * encoding on the thread that holds the buffer. Do NOT transfer such views to another thread: transferring
   * detaches the whole shared buffer, and structured-cloning a view clones the entire buffer. Pass true to get
   * `slice` copies that each own their buffer when the parts will be posted between threads.
   */
  copy?: boolean;
}

/**
 * Splits batched outputs along dim 0 into per-request outputs of `sizes[i]` rows each. Every output's dim 0
 * must equal the sum of sizes exactly (else INFERENCE_FAILED). One size returns the outputs as they are.
 */
export function splitBatch(outputs: Tensor[], sizes: number[], options: SplitBatchOptions = {}): Tensor[][] {
  let total = 0;
  for (const s of sizes) {
    if (!Number.isSafeInteger(s) || s < 0) throw new AppError('INTERNAL', `splitBatch: invalid size ${s}`);
    total += s;
  }
  for (const o of outputs) {
    if (o.shape.length === 0 || o.shape[0] !== total) {
      throw new AppError(
        'INFERENCE_FAILED',
        `output '${o.name}' has shape [${o.shape.join(',')}] but the batch has ${total} rows (sizes ${sizes.join('+')}); cannot split it`,
      );
    }
    if (o.data.length !== elementCount(o.shape)) {
      throw new AppError(
        'INFERENCE_FAILED',
        `output '${o.name}' has ${o.data.length} elements, not the ${elementCount(o.shape)} its shape implies`,
      );
    }
  }
  if (sizes.length === 1) return [outputs];

  const result: Tensor[][] = sizes.map(() => []);
  for (const o of outputs) {
    const rowLength = elementCount(o.shape.slice(1));
    const rest = o.shape.slice(1);
    let offset = 0;
    sizes.forEach((rows, r) => {
      const start = offset * rowLength;
      const end = (offset + rows) * rowLength;
      offset += rows;
      let data: TensorData;
      if (Array.isArray(o.data)) data = o.data.slice(start, end);
      else if (options.copy) data = (o.data as Float32Array).slice(start, end);
      else data = (o.data as Float32Array).subarray(start, end);
      result[r]!.push({ name: o.name, datatype: o.datatype, shape: [rows, ...rest], data });
    });
  }
  return result;
}
