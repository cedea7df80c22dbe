/**
 * Writes the shipped traces to `bench/sim/traces/` from fixed seeds (`npx tsx scripts/sim/make-traces.ts`);
 * running it again reproduces the committed files byte for byte.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildTraces, traceFileContent } from './traces-gen.ts';

const OUT = join(import.meta.dirname, '../../bench/sim/traces');

await mkdir(OUT, { recursive: true });
for (const trace of buildTraces()) {
  const file = join(OUT, `${trace.name}.json`);
  await writeFile(file, traceFileContent(trace));
  console.log(`wrote ${file} (${trace.rates.length} steps of ${trace.stepS} s)`);
}
