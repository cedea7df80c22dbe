import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  decodeInferRequest,
  decodePreparsedInferRequest,
} from '../../../../origin/protocol/decode-request.ts';
import { JsonParsePool, JsonParseWorkerError } from '../../../../origin/protocol/json-parse/pool.ts';
import { AppError } from '../../../../shared/errors/index.ts';

const enc = new TextEncoder();
const pool = new JsonParsePool({ threads: 2 });

afterAll(async () => {
  await pool.close();
});

type Outcome = { ok: unknown } | { error: string };

function mainThread(body: Uint8Array): Outcome {
  try {
    return { ok: decodeInferRequest(body) };
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    return { error: `${err.code}: ${err.message}` };
  }
}

async function offThread(body: Uint8Array): Promise<Outcome> {
  try {
    return { ok: decodePreparsedInferRequest(await pool.parse(body)) };
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    return { error: `${err.code}: ${err.message}` };
  }
}

function input(datatype: string, shape: unknown, data: unknown, extra: Record<string, unknown> = {}) {
  return { inputs: [{ name: 'x', datatype, shape, data, ...extra }] };
}

const nested = (rows: number, cols: number, f = (i: number) => i / 7) =>
  Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => f(r * cols + c)));

const CASES: [string, unknown][] = [
  ['flat FP32', input('FP32', [1, 4], [0.1, -2.5, 3e38, -0])],
  ['nested FP32', input('FP32', [2, 3], nested(2, 3))],
  ['3-deep FP64', input('FP64', [2, 2, 2], [nested(2, 2), nested(2, 2, (i) => -i)])],
  ['FP16 values and one out of range', input('FP16', [3], [1.5, 65504, 70000])],
  ['FP32 out of range (1e39)', input('FP32', [2], [1, 1e39])],
  ['FP64 Infinity from 1e400', '{"inputs":[{"name":"x","datatype":"FP64","shape":[2],"data":[1,1e400]}]}'],
  ['INT8 in and out of range', input('INT8', [3], [-128, 127, 128])],
  ['UINT8 fraction', input('UINT8', [2], [1, 1.5])],
  ['INT64 numbers and decimal strings', input('INT64', [3], [1, '-9223372036854775808', 42])],
  ['INT64 beyond 2^53 as a number', input('INT64', [1], [2 ** 60])],
  ['UINT64 negative', input('UINT64', [2], [1, -1])],
  ['BOOL', input('BOOL', [2, 1], [[true], [false]])],
  ['BOOL given numbers', input('BOOL', [2], [1, 0])],
  ['BYTES', input('BYTES', [2], ['a', 'hé'])],
  ['string in FP32 data', input('FP32', [3], [1, '2', 3])],
  ['null in FP32 data', input('FP32', [2], [1, null])],
  ['ragged nested data', input('FP32', [2, 2], [[1, 2], [3]])],
  ['nested deeper than the shape', input('FP32', [2], [[1], [2]])],
  ['nested much deeper than the shape', input('FP32', [1, 1], [[[[[1]]]]])],
  ['nested shallower than the shape', input('FP32', [1, 2, 1], [[1, 2]])],
  ['flat length mismatch', input('FP32', [2, 2], [1, 2, 3])],
  ['empty data for shape [0]', input('FP32', [0], [])],
  ['empty data for shape [2]', input('FP32', [2], [])],
  ['data not an array', input('FP32', [1], 5)],
  ['data and binary_data_size', input('FP32', [1], [1], { parameters: { binary_data_size: 4 } })],
  [
    'two inputs, one flattened',
    {
      inputs: [
        input('FP32', [2], [1, 2]).inputs[0],
        { name: 'y', datatype: 'BYTES', shape: [1], data: ['s'] },
      ],
      outputs: [{ name: 'z' }],
      id: 'r1',
      parameters: { binary_data_output: true },
    },
  ],
  [
    'duplicate input names',
    { inputs: [input('FP32', [1], [1]).inputs[0], input('FP32', [1], [2]).inputs[0]] },
  ],
  ['root is an array', [1, 2]],
  ['inputs not an array', { inputs: { name: 'x' } }],
  ['input entry not an object', { inputs: [[1, 2]] }],
  ['rank 70 nesting', input('FP32', Array(70).fill(1), JSON.parse(`${'['.repeat(70)}1${']'.repeat(70)}`))],
  ['not JSON', '{"inputs": [1, 2'],
  ['empty body', ''],
];

describe('JsonParsePool with decodePreparsedInferRequest', () => {
  it.each(CASES)('decodes %s exactly as the main-thread decoder does', async (_name, body) => {
    const bytes = enc.encode(typeof body === 'string' ? body : JSON.stringify(body));
    const expected = mainThread(bytes);
    expect(await offThread(bytes)).toEqual(expected);
  });

  it('refuses a body that is not UTF-8 with the same message', async () => {
    const bytes = new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]);
    expect(await offThread(bytes)).toEqual(mainThread(bytes));
    expect(mainThread(bytes)).toMatchObject({ error: expect.stringContaining('not valid UTF-8') });
  });

  it('decodes a large tensor body off the thread, the caller keeping its bytes', async () => {
    const values = Array.from({ length: 3 * 48 * 192 }, (_, i) => Math.sin(i));
    const bytes = enc.encode(JSON.stringify(input('FP32', [1, 3, 48, 192], values)));
    const before = bytes.byteLength;
    const parsed = await pool.parse(bytes);
    expect(bytes.byteLength).toBe(before);
    expect(parsed.flats[0]?.values.length).toBe(values.length);
    expect(decodePreparsedInferRequest(parsed)).toEqual(decodeInferRequest(bytes));
  });

  it('spreads concurrent parses over its threads and answers each with its own body', async () => {
    const bodies = Array.from({ length: 20 }, (_, k) =>
      enc.encode(JSON.stringify(input('FP32', [1, 2], [k + 1, -(k + 1)]))),
    );
    const results = await Promise.all(bodies.map((b) => pool.parse(b)));
    results.forEach((r, k) => {
      expect(Array.from(r.flats[0]!.values)).toEqual([k + 1, -(k + 1)]);
    });
    expect(pool.inFlight).toBe(0);
  });

  it('fails the jobs of a worker that dies with JsonParseWorkerError, and starts a new one next time', async () => {
    const script = join(tmpdir(), `aiserve-dying-parser-${process.pid}.mjs`);
    writeFileSync(
      script,
      "import { parentPort } from 'node:worker_threads';\nlet n = 0;\nparentPort.on('message', (m) => { if (n++ === 0) process.exit(3); parentPort.postMessage({ id: m.id, root: { ok: true }, flats: [] }); });\n",
    );
    const crashes: Error[] = [];
    const dying = new JsonParsePool({
      threads: 1,
      workerUrl: pathToFileURL(script),
      onCrash: (e) => crashes.push(e),
    });
    try {
      await expect(dying.parse(enc.encode('{}'))).rejects.toBeInstanceOf(JsonParseWorkerError);
      expect(crashes).toHaveLength(1);
      // A fresh worker (whose first message also kills it) proves the pool restarted rather than stayed dead.
      await expect(dying.parse(enc.encode('{}'))).rejects.toBeInstanceOf(JsonParseWorkerError);
      expect(crashes).toHaveLength(2);
    } finally {
      await dying.close();
    }
    await expect(dying.parse(enc.encode('{}'))).rejects.toThrow(/closed/);
  });
});

describe('JsonParsePool thread priority', () => {
  it.runIf(process.platform === 'linux')(
    'lowers only its worker threads to the given nice value, not the event loop thread',
    async () => {
      const { readdirSync, readFileSync } = await import('node:fs');
      // Field 19 of /proc/<pid>/task/<tid>/stat is the thread's nice value.
      const niceOf = (tid: string) =>
        Number(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]);
      const before = new Set(readdirSync('/proc/self/task'));
      const mainNice = niceOf(String(process.pid));
      const niced = new JsonParsePool({ threads: 1, nice: 7 });
      try {
        await niced.parse(enc.encode('{"inputs": []}')).catch(() => {});
        await niced.parse(enc.encode('{}'));
        const fresh = readdirSync('/proc/self/task').filter((t) => !before.has(t));
        // An absolute value: from nice 0 (how tests run), the worker thread is at 7.
        if (mainNice === 0) expect(fresh.map(niceOf)).toContain(7);
        else expect(fresh.length).toBeGreaterThan(0);
        expect(niceOf(String(process.pid))).toBe(mainNice);
      } finally {
        await niced.close();
      }
    },
  );
});
