import { AppError } from '../../shared/errors/index.ts';
import type { LoadOptions } from '../repository/repository.ts';
import type { RouteDeps } from './route-deps.ts';

/**
 * Bodies of the repository extension's load and unload requests, as Triton reads them:
 *   load:   {"parameters": {"config": "<model config as a JSON string>"}}
 *   unload: {"parameters": {"unload_dependents": true}}
 * Both bodies and `parameters` are optional. Anything else is refused with 400 rather than ignored: a client that
 * sends a config override must not get a 200 for a load that did not use it.
 */

/** Load and unload change what the origin serves: only with MODEL_CONTROL_MODE=explicit. */
export function requireExplicitControl(mode: RouteDeps['modelControl'], action: 'load' | 'unload'): void {
  if (mode !== 'explicit') {
    throw new AppError(
      'INVALID_REQUEST',
      `explicit model ${action} is not allowed: the origin runs with MODEL_CONTROL_MODE=none (set it to explicit)`,
    );
  }
}

function parseObject(text: string, what: string): Record<string, unknown> | undefined {
  if (!text.trim()) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new AppError('INVALID_JSON', `${what} body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new AppError('INVALID_REQUEST', `${what} body must be a JSON object such as {"parameters": {}}`);
  }
  const body = parsed as Record<string, unknown>;
  const extra = Object.keys(body).filter((k) => k !== 'parameters');
  if (extra.length > 0) {
    throw new AppError(
      'INVALID_REQUEST',
      `${what} body has unknown field(s) ${extra.join(', ')}; only 'parameters'`,
    );
  }
  const parameters = body.parameters;
  if (parameters === undefined) return undefined;
  if (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters)) {
    throw new AppError('INVALID_REQUEST', `${what} 'parameters' must be a JSON object`);
  }
  return parameters as Record<string, unknown>;
}

export function parseLoadBody(text: string): LoadOptions {
  const parameters = parseObject(text, 'load');
  if (!parameters) return {};
  const options: LoadOptions = {};
  for (const [key, value] of Object.entries(parameters)) {
    if (key === 'config') {
      if (typeof value !== 'string') {
        throw new AppError(
          'INVALID_REQUEST',
          "load 'parameters.config' must be the model config as a JSON string",
        );
      }
      try {
        options.config = JSON.parse(value);
      } catch (err) {
        throw new AppError(
          'INVALID_REQUEST',
          `load 'parameters.config' is not valid JSON: ${(err as Error).message}`,
        );
      }
    } else if (key.startsWith('file:')) {
      throw new AppError(
        'INVALID_REQUEST',
        `load parameter '${key}': uploading model files with the load request is not supported; put the files in the model repository`,
      );
    } else {
      throw new AppError('INVALID_REQUEST', `unknown load parameter '${key}'; supported: config`);
    }
  }
  return options;
}

export function parseUnloadBody(text: string): void {
  const parameters = parseObject(text, 'unload');
  if (!parameters) return;
  for (const [key, value] of Object.entries(parameters)) {
    if (key !== 'unload_dependents') {
      throw new AppError(
        'INVALID_REQUEST',
        `unknown unload parameter '${key}'; supported: unload_dependents`,
      );
    }
    // No ensembles here, so no model has dependents: the flag is accepted and changes nothing.
    if (typeof value !== 'boolean') {
      throw new AppError('INVALID_REQUEST', "unload 'parameters.unload_dependents' must be a boolean");
    }
  }
}
