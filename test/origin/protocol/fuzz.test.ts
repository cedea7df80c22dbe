import { describe, expect, it } from 'vitest';
import { decodeInferRequest } from '../../../origin/protocol/decode-request.ts';
import { seededRandom as rng } from '../../../scripts/sim/rng.ts';
import { AppError } from '../../../shared/errors/index.ts';

const DATATYPES = ['BOOL', 'UINT8', 'INT8', 'UINT16', 'INT16', 'UINT32', 'INT32', 'UINT64', 'INT64'];
const MORE = ['FP16', 'FP32', 'FP64', 'BYTES', 'BF16', 'FP8', '', 7, null];

function randomValue(r: () => number, depth = 0): unknown {
  const k = Math.floor(r() * 12);
  switch (k) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
      return Math.floor(r() * 600) - 300;
    case 3:
      return (r() - 0.5) * 10 ** Math.floor(r() * 80 - 40);
    case 4:
      return String(Math.floor(r() * 1e6));
    case 5:
      return '\u0000x"\\\u{1f600}';
    case 6:
      return depth < 4 ? Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1)) : [];
    case 7:
      return depth < 4 ? { name: 'x', binary_data_size: Math.floor(r() * 20) - 2 } : {};
    case 8:
      return -1;
    case 9:
      return 2 ** 64;
    case 10:
      return '18446744073709551616';
    default:
      return undefined;
  }
}

function randomRequest(r: () => number): unknown {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const inputs = Array.from({ length: Math.floor(r() * 3) + (r() < 0.1 ? 0 : 1) }, () => {
    const shape = Array.from({ length: Math.floor(r() * 3) }, () =>
      r() < 0.1 ? randomValue(r) : Math.floor(r() * 3),
    );
    const entry: Record<string, unknown> = {
      name: r() < 0.9 ? pick(['a', 'b', 'a']) : randomValue(r),
      datatype: r() < 0.8 ? pick(DATATYPES) : pick(MORE),
      shape: r() < 0.95 ? shape : randomValue(r),
    };
    if (r() < 0.3)
      entry['parameters'] = { binary_data_size: r() < 0.8 ? Math.floor(r() * 24) : randomValue(r) };
    if (r() < 0.8) {
      entry['data'] = Array.from({ length: Math.floor(r() * 5) }, () =>
        r() < 0.7 ? Math.floor(r() * 4) : randomValue(r),
      );
    }
    return entry;
  });
  const req: Record<string, unknown> = { inputs: r() < 0.95 ? inputs : randomValue(r) };
  if (r() < 0.3) req['id'] = r() < 0.7 ? 'id' : randomValue(r);
  if (r() < 0.3) req['parameters'] = r() < 0.5 ? { binary_data_output: randomValue(r) } : randomValue(r);
  if (r() < 0.3) req['outputs'] = r() < 0.6 ? [{ name: 'y', parameters: randomValue(r) }] : randomValue(r);
  return req;
}

/** Calls decode and returns 'ok' or the error; the property is that any error is a 4xx AppError. */
function outcome(body: Uint8Array, headerLength?: string): 'ok' | AppError {
  try {
    decodeInferRequest(
      body,
      headerLength === undefined ? {} : { inferenceHeaderContentLength: headerLength },
    );
    return 'ok';
  } catch (err) {
    if (!(err instanceof AppError)) throw new Error(`non-AppError thrown: ${String(err)}`, { cause: err });
    if (err.status < 400 || err.status >= 500)
      throw new Error(`non-4xx AppError: ${err.code} ${err.message}`);
    return err;
  }
}

describe('decodeInferRequest on garbage', () => {
  it('throws only 4xx AppErrors for random bytes, with and without a header length', () => {
    const r = rng(1);
    let errors = 0;
    for (let i = 0; i < 2000; i++) {
      const body = new Uint8Array(Math.floor(r() * 64)).map(() => Math.floor(r() * 256));
      const headerLength = r() < 0.5 ? undefined : String(Math.floor(r() * 80) - 5);
      if (outcome(body, headerLength) !== 'ok') errors++;
    }
    expect(errors).toBe(2000);
  });

  it('throws only 4xx AppErrors for random structured requests and accepts some valid ones', () => {
    const r = rng(2);
    const enc = new TextEncoder();
    let ok = 0;
    let failed = 0;
    for (let i = 0; i < 5000; i++) {
      const json = enc.encode(JSON.stringify(randomRequest(r)));
      const extra = new Uint8Array(Math.floor(r() * 24)).map(() => Math.floor(r() * 256));
      const body = new Uint8Array(json.byteLength + extra.byteLength);
      body.set(json);
      body.set(extra, json.byteLength);
      const headerLength =
        r() < 0.5 ? undefined : String(json.byteLength + (r() < 0.8 ? 0 : Math.floor(r() * 6) - 3));
      if (outcome(headerLength === undefined ? json : body, headerLength) === 'ok') ok++;
      else failed++;
    }
    expect(failed).toBeGreaterThan(0);
    expect(ok).toBeGreaterThan(0);
  });

  it('throws only 4xx AppErrors when valid requests are truncated or have bytes flipped', () => {
    const r = rng(3);
    const base = new TextEncoder().encode(
      JSON.stringify({
        id: 'x',
        inputs: [
          {
            name: 'a',
            datatype: 'INT64',
            shape: [2, 2],
            data: [
              [1, '2'],
              [3, 4],
            ],
          },
          { name: 'b', datatype: 'BYTES', shape: [1], data: ['hé'] },
        ],
        outputs: [{ name: 'y', parameters: { binary_data: true } }],
      }),
    );
    expect(outcome(base)).toBe('ok');
    for (let i = 0; i < 3000; i++) {
      const body = base.slice(0, r() < 0.3 ? Math.floor(r() * base.byteLength) : base.byteLength);
      for (let k = 0; k < 3; k++) body[Math.floor(r() * body.byteLength)] = Math.floor(r() * 256);
      outcome(body);
    }
  });
});
