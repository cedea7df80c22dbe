import { describe, expect, it } from 'vitest';
import { encodeInferRequest } from '../../../origin/protocol/client/encode-request.ts';
import { encodeInferResponse } from '../../../origin/protocol/encode-response.ts';
import { inferRequestSchema } from '../../../shared/protocol/infer-request.ts';
import { errorResponseSchema, inferResponseSchema } from '../../../shared/protocol/infer-response.ts';
import { modelMetadataSchema, serverMetadataSchema } from '../../../shared/protocol/model-metadata.ts';

describe('wire schemas', () => {
  it('accept what the codec writes for requests and responses, keeping extension fields', () => {
    const req = encodeInferRequest({
      id: 'a',
      parameters: { binary_data_output: false, priority: 1 },
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: new Float32Array([1]) }],
      outputs: [{ name: 'y', binary: true }],
    });
    const parsedReq = inferRequestSchema.parse(JSON.parse(req.body as string));
    expect(parsedReq.parameters).toEqual({ binary_data_output: false, priority: 1 });
    expect(parsedReq.outputs?.[0]?.parameters?.binary_data).toBe(true);

    const res = encodeInferResponse({
      modelName: 'm',
      modelVersion: '1',
      outputs: [{ name: 'y', datatype: 'FP32', shape: [2], data: new Float32Array([1, Number.NaN]) }],
      binaryOutputDefault: false,
    });
    const parsedRes = inferResponseSchema.parse(JSON.parse(res.body as string));
    expect(parsedRes.outputs[0]?.data).toEqual([1, null]);
  });

  it('reject a request without inputs and a response with an unknown datatype', () => {
    expect(inferRequestSchema.safeParse({ inputs: [] }).success).toBe(false);
    expect(
      inferResponseSchema.safeParse({
        model_name: 'm',
        outputs: [{ name: 'y', datatype: 'BF16', shape: [1] }],
      }).success,
    ).toBe(false);
    expect(errorResponseSchema.safeParse({ error: 'boom', code: 'INTERNAL' }).success).toBe(true);
  });

  it('describe model metadata (platform onnxruntime_onnx, -1 dims) and server metadata', () => {
    const meta = {
      name: 'resnet',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3, 224, 224] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1000] }],
    };
    expect(modelMetadataSchema.parse(meta)).toEqual(meta);
    expect(modelMetadataSchema.safeParse({ ...meta, platform: 'tensorrt_plan' }).success).toBe(false);
    expect(
      modelMetadataSchema.safeParse({ ...meta, inputs: [{ name: 'x', datatype: 'FP32', shape: [-2] }] })
        .success,
    ).toBe(false);
    expect(
      serverMetadataSchema.parse({ name: 'aiserve', version: '0.1.0', extensions: ['binary_tensor_data'] }),
    ).toEqual({
      name: 'aiserve',
      version: '0.1.0',
      extensions: ['binary_tensor_data'],
    });
  });
});
