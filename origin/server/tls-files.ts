import { readFile } from 'node:fs/promises';
import { ConfigError } from '../../shared/config/load.ts';
import type { OriginConfig } from '../../shared/config/origin.ts';
import type { TlsMaterial } from './http.ts';

async function readPem(variable: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${variable}: cannot read ${path} (${(err as Error).message})`);
  }
}

/** The HTTPS material the configuration names, read at start-up; null for plain HTTP. */
export async function tlsMaterial(config: OriginConfig): Promise<TlsMaterial | null> {
  if (!config.ORIGIN_TLS_CERT_FILE || !config.ORIGIN_TLS_KEY_FILE) return null;
  const [cert, key, clientCa] = await Promise.all([
    readPem('ORIGIN_TLS_CERT_FILE', config.ORIGIN_TLS_CERT_FILE),
    readPem('ORIGIN_TLS_KEY_FILE', config.ORIGIN_TLS_KEY_FILE),
    config.ORIGIN_TLS_CLIENT_CA_FILE
      ? readPem('ORIGIN_TLS_CLIENT_CA_FILE', config.ORIGIN_TLS_CLIENT_CA_FILE)
      : undefined,
  ]);
  return clientCa === undefined ? { cert, key } : { cert, key, clientCa };
}
