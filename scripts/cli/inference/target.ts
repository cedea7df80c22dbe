import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from '../../usage-error.ts';
import { localStack } from '../context.ts';
import type { FlagValues } from '../types.ts';

/** Where the `inference` commands send requests, and the key they present (null: none). */
export interface EdgeTarget {
  /** Origin of the edge, e.g. `https://api.example.com`. */
  origin: string;
  /** Inference path, with any path prefix of `--url`. */
  path: string;
  key: string | null;
}

/** A request body as sent, and where it came from (for messages). */
export interface RequestBody {
  text: string;
  source: string;
}

/**
 * `--url`, else AISERVE_EDGE_URL, else the running local stack's `edgeUrl`; `--key`, else AISERVE_API_KEY,
 * else its demo key. The model and version go into the Open Inference Protocol path.
 */
export function resolveTarget(
  flags: FlagValues,
  env: Record<string, string | undefined>,
  model: string,
  cwd = process.cwd(),
): EdgeTarget {
  const local = localStack(env, cwd);
  const raw = (flags['url'] as string | undefined) ?? env['AISERVE_EDGE_URL'] ?? local.edgeUrl;
  if (!raw) {
    throw new UsageError(
      'no edge URL: pass --url, set AISERVE_EDGE_URL, or start the local stack with `npm start`',
    );
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--url must be an http(s) URL, e.g. http://127.0.0.1:8787 (got "${raw}")`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--url must be an http(s) URL (got "${raw}")`);
  }
  const version = flags['version'] as string | undefined;
  const prefix = url.pathname.replace(/\/+$/, '');
  const path = `${prefix}/v2/models/${encodeURIComponent(model)}${
    version ? `/versions/${encodeURIComponent(version)}` : ''
  }/infer`;
  const key = (flags['key'] as string | undefined) ?? env['AISERVE_API_KEY'] ?? local.apiKey ?? null;
  return { origin: url.origin, path, key };
}

/**
 * `--data '<json>'`, else `--body <file>`, else the example `npm start` wrote for the model
 * (`examples/<model>.json` beside the local stack's file, `.aiserve/` by default). The body must be a JSON
 * object with an `inputs` array; the edge checks the rest and says what is wrong.
 */
export function resolveBody(
  flags: FlagValues,
  env: Record<string, string | undefined>,
  model: string,
  cwd = process.cwd(),
): RequestBody {
  let body: RequestBody;
  if (flags['data'] !== undefined) {
    body = { text: String(flags['data']), source: '--data' };
  } else {
    const file = flags['body'] as string | undefined;
    const stateDir = dirname(resolve(cwd, env['AISERVE_LOCAL_FILE'] ?? '.aiserve/local.json'));
    const path = file ? resolve(cwd, file) : join(stateDir, 'examples', `${model}.json`);
    if (!existsSync(path)) {
      throw new UsageError(
        file
          ? `--body: no such file ${path}`
          : `no request body: pass --body <file> or --data '<json>' (there is no example for "${model}" at ${path})`,
      );
    }
    body = { text: readFileSync(path, 'utf8'), source: path };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.text);
  } catch (err) {
    throw new UsageError(`${body.source} is not valid JSON: ${(err as Error).message}`);
  }
  const inputs = (parsed as { inputs?: unknown } | null)?.inputs;
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray(inputs)) {
    throw new UsageError(
      `${body.source} must be an Open Inference Protocol request: a JSON object with an "inputs" array`,
    );
  }
  return body;
}
