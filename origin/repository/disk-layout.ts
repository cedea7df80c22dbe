import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../shared/errors/index.ts';
import { type ModelConfig, parseModelConfig } from './config/model-config.ts';

/**
 * A Triton-layout model repository on disk: `<root>/<model>/config.json` (optional) and
 * `<root>/<model>/<version>/<default_model_filename>` (version = positive integer directory). Dot entries are
 * skipped; symbolic links to directories count as directories.
 */

/** A model directory on disk. */
export interface DiskModel {
  name: string;
  dir: string;
  /** Ascending. */
  versions: number[];
}

/** A version directory's name, and the form a version takes in URLs. */
export const VERSION_DIR = /^[1-9]\d*$/;

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Model directories under `root` and their version directories, by name. */
export async function scanModels(root: string): Promise<DiskModel[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (err) {
    throw new AppError('MODEL_LOAD_FAILED', `cannot read model repository ${root}: ${messageOf(err)}`);
  }
  const models: DiskModel[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const dir = join(root, e.name);
    if (!(e.isDirectory() || (e.isSymbolicLink() && (await isDirectory(dir))))) continue;
    models.push({ name: e.name, dir, versions: await versionDirectories(dir) });
  }
  models.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return models;
}

/** The version directories of a model directory, ascending; none when it cannot be read. */
export async function versionDirectories(dir: string): Promise<number[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const versions: number[] = [];
  for (const e of entries) {
    if (!VERSION_DIR.test(e.name)) continue;
    if (e.isDirectory() || (e.isSymbolicLink() && (await isDirectory(join(dir, e.name))))) {
      versions.push(Number(e.name));
    }
  }
  return versions.sort((a, b) => a - b);
}

/** The ONNX file of one version, after checking that it is a file. Throws MODEL_LOAD_FAILED naming it. */
export async function modelFile(dir: string, version: number, config: ModelConfig): Promise<string> {
  const modelPath = join(dir, String(version), config.defaultModelFilename);
  try {
    const s = await stat(modelPath);
    if (!s.isFile()) throw new Error('not a file');
  } catch {
    throw new AppError('MODEL_LOAD_FAILED', `model file ${modelPath} not found`);
  }
  return modelPath;
}

/**
 * The model's config: the load request's override when given, else `<model>/config.json`, else none (all
 * completed from the ONNX file). `configPath` names where it came from, for messages.
 */
export async function readModelConfig(
  name: string,
  dir: string,
  override: unknown,
): Promise<{ config: ModelConfig; configPath: string | undefined }> {
  const source =
    override !== undefined
      ? { json: override, label: `the load request's 'config' parameter for '${name}'`, owner: 'model' }
      : await configFile(dir);
  if (!source)
    return { config: parseModelConfig(undefined, join(dir, 'config.json')), configPath: undefined };
  const config = parseModelConfig(source.json, source.label);
  if (config.name !== undefined && config.name !== name) {
    throw new AppError(
      'MODEL_LOAD_FAILED',
      `invalid model config ${source.label}: name '${config.name}' does not match the ${source.owner} '${name}'`,
    );
  }
  return { config, configPath: source.label };
}

/** `<dir>/config.json` as JSON, or null when there is none. */
async function configFile(dir: string): Promise<{ json: unknown; label: string; owner: string } | null> {
  const configPath = join(dir, 'config.json');
  let text: string;
  try {
    text = await readFile(configPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new AppError('MODEL_LOAD_FAILED', `cannot read model config ${configPath}: ${messageOf(err)}`);
  }
  try {
    return { json: JSON.parse(text), label: configPath, owner: 'model directory' };
  } catch (err) {
    throw new AppError(
      'MODEL_LOAD_FAILED',
      `invalid model config ${configPath}: not valid JSON (${messageOf(err)})`,
    );
  }
}
