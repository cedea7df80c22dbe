import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../origin/observability/logger.ts';
import { type Origin, startOrigin } from '../../origin/start-origin.ts';
import { prepareModels } from '../../scripts/models/prepare.ts';
import { loadConfig } from '../../shared/config/load.ts';
import { originConfigSchema } from '../../shared/config/origin.ts';
import { signRequest } from '../../shared/signing/index.ts';

export const KEY_ID = 'edge-1';
export const SECRET = 'test-secret-0123456789abcdef';

/** A temp Triton repository with the shipped OCR models; `edit` may add or change models before start. */
export async function makeRepository(edit?: (dir: string) => Promise<void>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'aiserve-repo-'));
  await prepareModels(dir);
  if (edit) await edit(dir);
  return dir;
}

/** Writes a broken sibling of ocr-cls: a model file that is not ONNX. */
export async function addCorruptModel(dir: string, name = 'broken'): Promise<void> {
  await mkdir(join(dir, name, '1'), { recursive: true });
  await writeFile(join(dir, name, '1', 'model.onnx'), 'this is not an onnx model');
}

/** A copy of ocr-cls under another name with its config edited. */
export async function addClsVariant(
  dir: string,
  name: string,
  edit: (config: Record<string, unknown>) => void,
): Promise<void> {
  await mkdir(join(dir, name, '1'), { recursive: true });
  await copyFile(join(dir, 'ocr-cls', '1', 'model.onnx'), join(dir, name, '1', 'model.onnx'));
  const config = JSON.parse(await readFile(join(dir, 'ocr-cls', 'config.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  config.name = name;
  edit(config);
  await writeFile(join(dir, name, 'config.json'), JSON.stringify(config));
}

export interface Harness {
  origin: Origin;
  url: string;
  repo: string;
  /** Signed request to the origin (unsigned when `sign` is false). */
  call(
    method: string,
    path: string,
    init?: { body?: string | Uint8Array; headers?: Record<string, string>; sign?: boolean },
  ): Promise<Response>;
  close(): Promise<void>;
}

export async function startHarness(env: Record<string, string>, repo: string): Promise<Harness> {
  const config = loadConfig(
    originConfigSchema,
    {
      PORT: '0',
      ORIGIN_AUTH: 'hmac',
      ORIGIN_SIGNING_KEYS: `${KEY_ID}:${SECRET}`,
      LOG_LEVEL: 'silent',
      GPU_METRICS: 'false',
      INTRA_OP_THREADS: '1',
      MODEL_REPOSITORY: repo,
      ...env,
    },
    'origin',
  );
  const origin = await startOrigin(config, { logger: createLogger({ level: 'silent', name: 'test' }) });
  const url = origin.url;
  return {
    origin,
    url,
    repo,
    async call(method, path, init = {}) {
      const body = init.body;
      const headers: Record<string, string> = { ...init.headers };
      if (init.sign !== false) {
        Object.assign(
          headers,
          await signRequest({
            method,
            pathWithQuery: path,
            body: body ?? null,
            keyId: KEY_ID,
            secret: SECRET,
          }),
        );
      }
      return fetch(url + path, { method, headers, body: body as BodyInit | undefined });
    },
    async close() {
      await origin.drain();
      await rm(repo, { recursive: true, force: true });
    },
  };
}
