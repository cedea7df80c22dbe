/**
 * A deterministic example for the PaddleOCR direction classifier: a 48×192 RGB crop with dark horizontal
 * strokes on a light background, normalised the way PaddleOCR does ((x/255 − 0.5) / 0.5).
 */
export function exampleClsPixels(): Float32Array {
  const h = 48;
  const w = 192;
  const data = new Float32Array(3 * h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const stroke = y > 14 && y < 34 && x % 12 < 7 && x > 8 && x < 184;
      const v = stroke ? 30 : 235;
      for (let c = 0; c < 3; c++) data[c * h * w + y * w + x] = (v / 255 - 0.5) / 0.5;
    }
  }
  return data;
}

export function exampleClsRequest(): unknown {
  const pixels = exampleClsPixels();
  return {
    id: 'example-1',
    inputs: [
      {
        name: 'x',
        datatype: 'FP32',
        shape: [1, 3, 48, 192],
        data: Array.from(pixels, (v) => Math.round(v * 1e4) / 1e4),
      },
    ],
  };
}
