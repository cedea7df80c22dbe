import { describe, expect, it } from 'vitest';
import { parseLoadBody, parseUnloadBody } from '../../../origin/routes/repository-control-body.ts';

describe('parseLoadBody', () => {
  it('reads Triton parameters.config, a JSON string, into the override', () => {
    expect(parseLoadBody('{"parameters":{"config":"{\\"max_batch_size\\":4}"}}')).toEqual({
      config: { max_batch_size: 4 },
    });
  });

  it('takes an empty body, an empty object or empty parameters as a plain load', () => {
    expect(parseLoadBody('')).toEqual({});
    expect(parseLoadBody('{}')).toEqual({});
    expect(parseLoadBody('{"parameters":{}}')).toEqual({});
  });

  it.each([
    ['{bad', 'INVALID_JSON', 'not valid JSON'],
    ['[]', 'INVALID_REQUEST', 'must be a JSON object'],
    ['{"parameters":[]}', 'INVALID_REQUEST', "'parameters' must be a JSON object"],
    ['{"inputs":[]}', 'INVALID_REQUEST', 'unknown field(s) inputs'],
    ['{"parameters":{"config":{"max_batch_size":4}}}', 'INVALID_REQUEST', 'as a JSON string'],
    ['{"parameters":{"config":"{bad"}}', 'INVALID_REQUEST', "'parameters.config' is not valid JSON"],
    ['{"parameters":{"file:1/model.onnx":"AAAA"}}', 'INVALID_REQUEST', 'uploading model files'],
    ['{"parameters":{"priority":1}}', 'INVALID_REQUEST', "unknown load parameter 'priority'"],
  ])('refuses %s with %s saying what is wrong', (body, code, message) => {
    expect(() => parseLoadBody(body)).toThrowError(
      expect.objectContaining({ code, message: expect.stringContaining(message) }),
    );
  });
});

describe('parseUnloadBody', () => {
  it('accepts no body and a boolean unload_dependents', () => {
    expect(() => parseUnloadBody('')).not.toThrow();
    expect(() => parseUnloadBody('{"parameters":{"unload_dependents":true}}')).not.toThrow();
  });

  it('refuses a non-boolean unload_dependents and unknown parameters', () => {
    expect(() => parseUnloadBody('{"parameters":{"unload_dependents":"yes"}}')).toThrowError(
      /must be a boolean/,
    );
    expect(() => parseUnloadBody('{"parameters":{"force":true}}')).toThrowError(
      /unknown unload parameter 'force'/,
    );
  });
});
