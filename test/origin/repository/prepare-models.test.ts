import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelRepository } from '../../../origin/repository/repository.ts';
import { prepareModels } from '../../../scripts/models/prepare.ts';
import { captureLogger, testExecution } from '../../support/onnx-models.ts';

let root: string;
let repo: ModelRepository | undefined;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'aiserve-prepare-'));
});

afterEach(async () => {
  await repo?.close();
  repo = undefined;
  await rm(root, { recursive: true, force: true });
});

describe('prepareModels', () => {
  it('writes a Triton repository with both PaddleOCR models, and a second run copies nothing', async () => {
    const first = await prepareModels(root);
    expect(first.map((m) => [m.name, m.copied, m.configWritten])).toEqual([
      ['ocr-cls', true, true],
      ['ocr-det', true, true],
    ]);
    expect((await stat(join(root, 'ocr-cls', '1', 'model.onnx'))).size).toBeGreaterThan(100_000);

    const second = await prepareModels(root);
    expect(second.map((m) => [m.copied, m.configWritten])).toEqual([
      [false, false],
      [false, false],
    ]);
  });

  it('replaces a model file of the wrong size and a modified config', async () => {
    await prepareModels(root);
    await writeFile(join(root, 'ocr-det', '1', 'model.onnx'), 'truncated');
    await writeFile(join(root, 'ocr-cls', 'config.json'), '{}');
    const again = await prepareModels(root);
    expect(again.map((m) => [m.name, m.copied, m.configWritten])).toEqual([
      ['ocr-cls', false, true],
      ['ocr-det', true, false],
    ]);
  });

  it('produces models the repository loads and serves', async () => {
    await prepareModels(root);
    repo = new ModelRepository({ root, execution: testExecution(), logger: captureLogger().logger });
    const index = await repo.loadAll();
    expect(index).toEqual([
      { name: 'ocr-cls', version: '1', state: 'READY', reason: '' },
      { name: 'ocr-det', version: '1', state: 'READY', reason: '' },
    ]);
    const det = repo.get('ocr-det');
    expect(det.definition.inputs).toEqual([{ name: 'x', datatype: 'FP32', shape: [-1, 3, -1, -1] }]);
    expect(det.definition.outputs).toEqual([
      { name: 'sigmoid_0.tmp_0', datatype: 'FP32', shape: [-1, 1, -1, -1] },
    ]);
    expect(det.definition.batching.maxBatchSize).toBe(4);
    const [out] = await det.pool.run([
      { name: 'x', datatype: 'FP32', shape: [1, 3, 64, 96], data: new Float32Array(3 * 64 * 96) },
    ]);
    expect(out?.shape).toEqual([1, 1, 64, 96]);
  });
});
