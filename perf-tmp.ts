import { Pool } from 'undici';
import { encodeInferRequest } from './origin/protocol/json-codec.ts';
import { exampleClsPixels } from './scripts/dev/example-request.ts';
const url = process.argv[2]!;
const dur = Number(process.argv[3] ?? 6) * 1000;
const conc = 64;
const enc = encodeInferRequest({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], data: exampleClsPixels() }], binaryInputs: true, parameters: { binary_data_output: true } });
const body = Buffer.from(enc.body as Uint8Array);
const pool = new Pool(url, { connections: conc });
let n = 0, errs = 0;
const end = Date.now() + dur;
const lat: number[] = [];
await Promise.all(Array.from({ length: conc }, async () => {
  while (Date.now() < end) {
    const t = performance.now();
    const r = await pool.request({ path: '/v2/models/ocr-cls/infer', method: 'POST', headers: enc.headers, body });
    await r.body.arrayBuffer();
    if (r.statusCode === 200) n++; else errs++;
    lat.push(performance.now() - t);
  }
}));
lat.sort((a, b) => a - b);
console.log({ rps: n / (dur / 1000), errs, p50: lat[lat.length >> 1], p99: lat[Math.floor(lat.length * 0.99)] });
const m = await (await fetch(url + '/metrics')).text();
console.log(m.split('\n').filter((l) => /^aiserve_origin_(inference_count|execution_count|compute_duration_seconds_(sum|count)|queue_duration_seconds_(sum|count)|event_loop)/.test(l) && l.includes('cls') || l.startsWith('aiserve_origin_event_loop')).join('\n'));
await pool.close();
