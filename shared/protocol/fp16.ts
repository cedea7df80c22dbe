/**
 * IEEE 754 binary16 (the protocol's FP16) as the origin feeds it to onnxruntime: a Uint16Array of half bits.
 * One implementation for the origin's codecs and the edge's cache key, so a JSON FP16 value hashes to the very
 * bits the model is run on.
 */

function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * IEEE 754 binary16 bits of a number, rounded to nearest, ties to even, straight from the float64 value (no
 * double rounding through float32). Overflow (|v| ≥ 65520) gives ±Infinity, tiny values give subnormals or
 * ±0, NaN gives the canonical quiet NaN 0x7e00, and -0 keeps its sign.
 */
export function floatToHalf(value: number): number {
  if (Number.isNaN(value)) return 0x7e00;
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const a = Math.abs(value);
  if (a >= 65520) return sign | 0x7c00; // also Infinity
  if (a < 6.103515625e-5) {
    // Subnormal range (below 2^-14): units of 2^-24. A result of 1024 is exactly the smallest normal's bits.
    return sign | roundHalfEven(a * 16777216);
  }
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  const mantissa = roundHalfEven((a / 2 ** e - 1) * 1024);
  // A mantissa that rounds up to 1024 carries into the exponent, which is what the addition does.
  return sign | (((e + 15) << 10) + mantissa);
}

/** The number an IEEE 754 binary16 bit pattern encodes. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}
