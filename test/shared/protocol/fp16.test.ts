import { describe, expect, it } from 'vitest';
import { floatToHalf, halfToFloat } from '../../../shared/protocol/fp16.ts';

/** Float32 bits of a number. */
function float32Bits(value: number): number {
  return new Uint32Array(Float32Array.of(value).buffer)[0]!;
}

describe('floatToHalf', () => {
  it('encodes zero and keeps the sign of negative zero', () => {
    expect(floatToHalf(0)).toBe(0x0000);
    expect(floatToHalf(-0)).toBe(0x8000);
    expect(Object.is(halfToFloat(0x8000), -0)).toBe(true);
  });

  it('encodes 1, -2 and the largest finite half 65504 exactly', () => {
    expect(floatToHalf(1)).toBe(0x3c00);
    expect(floatToHalf(-2)).toBe(0xc000);
    expect(floatToHalf(65504)).toBe(0x7bff);
    expect(halfToFloat(0x7bff)).toBe(65504);
  });

  it('rounds values below 65520 down to 65504 and overflows 65520 and above to infinity', () => {
    expect(floatToHalf(65519.99)).toBe(0x7bff);
    expect(floatToHalf(65520)).toBe(0x7c00);
    expect(floatToHalf(1e10)).toBe(0x7c00);
    expect(floatToHalf(-1e10)).toBe(0xfc00);
    expect(floatToHalf(Number.POSITIVE_INFINITY)).toBe(0x7c00);
    expect(floatToHalf(Number.NEGATIVE_INFINITY)).toBe(0xfc00);
  });

  it('encodes NaN as a quiet NaN that decodes to NaN', () => {
    const h = floatToHalf(Number.NaN);
    expect(h & 0x7c00).toBe(0x7c00);
    expect(h & 0x3ff).not.toBe(0);
    expect(halfToFloat(h)).toBeNaN();
  });

  it('encodes subnormals: the smallest 2^-24, the largest, and rounds half of the smallest to even (0)', () => {
    expect(floatToHalf(2 ** -24)).toBe(0x0001);
    expect(floatToHalf(-(2 ** -24))).toBe(0x8001);
    expect(floatToHalf(1023 * 2 ** -24)).toBe(0x03ff);
    expect(floatToHalf(2 ** -25)).toBe(0x0000); // tie → even
    expect(floatToHalf(3 * 2 ** -25)).toBe(0x0002); // 1.5 ulp tie → even (2)
    expect(floatToHalf(2 ** -26)).toBe(0x0000);
    expect(floatToHalf(2 ** -14)).toBe(0x0400); // smallest normal
    expect(floatToHalf(2 ** -14 - 2 ** -26)).toBe(0x0400); // rounds up out of the subnormal range
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
  });

  it('rounds to nearest, ties to even, on normal values', () => {
    // 1 + 2^-11 is halfway between 1 (even mantissa) and 1 + 2^-10.
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00);
    // 1 + 3·2^-11 is halfway between 1+2^-10 (odd) and 1+2^-9 (even).
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(floatToHalf(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01);
    // mantissa carry into the exponent: just below 2 rounds to 2.
    expect(floatToHalf(2 - 2 ** -12)).toBe(0x4000);
  });

  it('round trips every finite half bit pattern', () => {
    const mismatches: number[] = [];
    for (let bits = 0; bits < 0x10000; bits++) {
      if ((bits & 0x7c00) === 0x7c00) continue;
      if (floatToHalf(halfToFloat(bits)) !== bits) mismatches.push(bits);
    }
    expect(mismatches).toEqual([]);
  });

  it('agrees with float32 for 0.1 (0x2e66)', () => {
    expect(floatToHalf(0.1)).toBe(0x2e66);
    expect(float32Bits(1)).toBe(0x3f800000);
  });
});
