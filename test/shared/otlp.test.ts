import { describe, expect, it } from 'vitest';
import { otlpTracesUrl, parseOtlpHeaders } from '../../shared/otlp.ts';

describe('OTLP settings', () => {
  it('builds the OTLP traces URL from the base endpoint', () => {
    expect(otlpTracesUrl('http://collector:4318')).toBe('http://collector:4318/v1/traces');
    expect(otlpTracesUrl('http://collector:4318/')).toBe('http://collector:4318/v1/traces');
    expect(otlpTracesUrl('http://collector:4318/v1/traces')).toBe('http://collector:4318/v1/traces');
  });

  it('reads key=value header pairs with percent-encoded values, and names a malformed pair', () => {
    expect(parseOtlpHeaders('x-team=abc, Authorization=Basic%20dXNlcjpwdw%3D%3D,')).toEqual({
      'x-team': 'abc',
      authorization: 'Basic dXNlcjpwdw==',
    });
    expect(parseOtlpHeaders('')).toEqual({});
    expect(() => parseOtlpHeaders('x-team=abc,novalue')).toThrow(/"novalue"/);
    expect(() => parseOtlpHeaders('bad key=1')).toThrow(/"bad key=1"/);
  });
});
