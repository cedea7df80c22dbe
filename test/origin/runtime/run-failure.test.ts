import { describe, expect, it } from 'vitest';
import { cleanOrtMessage, isInputRejection, runFailureError } from '../../../origin/runtime/run-failure.ts';

// Messages as onnxruntime-node 1.30 reports them (the first two from the PaddleOCR detector on odd image sizes).
const CONV_ZERO =
  "Non-zero status code returned while running Conv node. Name:'batch_norm_67.tmp_2_nchwc' Status Message: Invalid input shape: {0,0}";
const BROADCAST =
  "Non-zero status code returned while running Add node. Name:'p2o.Add.252' Status Message: /onnxruntime_src/onnxruntime/core/providers/cpu/math/element_wise_ops.h:563 void onnxruntime::BroadcastIterator::Init(ptrdiff_t, ptrdiff_t) axis == 1 || axis == largest was false. Attempting to broadcast an axis by a dimension other than 1. 7 by 8";
const ARENA =
  "Non-zero status code returned while running MatMul node. Name:'mm' Status Message: /onnxruntime_src/onnxruntime/core/framework/bfc_arena.cc:376 void* onnxruntime::BFCArena::AllocateRawInternal(size_t, bool, onnxruntime::Stream*, bool, onnxruntime::WaitNotificationFn) Failed to allocate memory for requested buffer of size 4294967296";
const CUDA =
  "Non-zero status code returned while running Conv node. Name:'conv' Status Message: CUDNN failure 4: CUDNN_STATUS_INTERNAL_ERROR ; GPU=0";
const CUDA_OOM = 'CUDA failure 2: out of memory ; GPU=0 ; hostname=gpu-1 ; expr=cudaMalloc(&p, size);';

describe('isInputRejection', () => {
  it('blames the input for a kernel that failed inside session.run', () => {
    expect(isInputRejection(CONV_ZERO, 'run')).toBe(true);
    expect(isInputRejection(BROADCAST, 'run')).toBe(true);
    expect(isInputRejection('Got invalid dimensions for input: X for the following indices', 'run')).toBe(
      true,
    );
  });

  it('blames the origin for memory and GPU failures, even inside session.run', () => {
    expect(isInputRejection(ARENA, 'run')).toBe(false);
    expect(isInputRejection(CUDA, 'run')).toBe(false);
    expect(isInputRejection(CUDA_OOM, 'run')).toBe(false);
    expect(isInputRejection('std::bad_alloc', 'run')).toBe(false);
  });

  it('blames the origin for failures building the feeds or reading the outputs', () => {
    expect(isInputRejection(CONV_ZERO, 'feeds')).toBe(false);
    expect(isInputRejection("model produced no output 'y'", 'outputs')).toBe(false);
  });
});

describe('cleanOrtMessage', () => {
  it('keeps what failed and why, without build paths or C++ signatures', () => {
    expect(cleanOrtMessage(BROADCAST)).toBe(
      "Non-zero status code returned while running Add node. Name:'p2o.Add.252' Status Message: axis == 1 || axis == largest was false. Attempting to broadcast an axis by a dimension other than 1. 7 by 8",
    );
    expect(cleanOrtMessage(CONV_ZERO)).toBe(CONV_ZERO);
  });
});

describe('runFailureError', () => {
  it('is a 400 INVALID_INPUT naming the model for an input the model cannot run on', () => {
    const err = runFailureError('ocr-det:1', CONV_ZERO, 'run');
    expect(err).toMatchObject({ code: 'INVALID_INPUT', status: 400 });
    expect(err.message).toBe(
      `model ocr-det:1 cannot run on this input (check its shape and values against what the model accepts): ${CONV_ZERO}`,
    );
  });

  it('is a 500 INFERENCE_FAILED for a failure of the origin', () => {
    const err = runFailureError('big:1', ARENA, 'run');
    expect(err).toMatchObject({ code: 'INFERENCE_FAILED', status: 500 });
    expect(err.message).toMatch(/^model big:1 failed: .*Failed to allocate memory/);
    expect(err.message).not.toContain('bfc_arena.cc');
  });
});
