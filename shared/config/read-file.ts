import { readFile } from 'node:fs/promises';
import { ConfigError } from './load.ts';

/**
 * A file a configuration variable names (a PEM certificate, say), read at start-up under Node; one that cannot
 * be read is bad configuration naming the variable, like a bad value.
 */
export async function readConfigFile(variable: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${variable}: cannot read ${path} (${(err as Error).message})`);
  }
}
