import type { OriginConfig } from '../../shared/config/origin.ts';
import { readConfigFile } from '../../shared/config/read-file.ts';
import type { TlsMaterial } from './http.ts';

/** The HTTPS material the configuration names, read at start-up; null for plain HTTP. */
export async function tlsMaterial(config: OriginConfig): Promise<TlsMaterial | null> {
  if (!config.ORIGIN_TLS_CERT_FILE || !config.ORIGIN_TLS_KEY_FILE) return null;
  const [cert, key, clientCa] = await Promise.all([
    readConfigFile('ORIGIN_TLS_CERT_FILE', config.ORIGIN_TLS_CERT_FILE),
    readConfigFile('ORIGIN_TLS_KEY_FILE', config.ORIGIN_TLS_KEY_FILE),
    config.ORIGIN_TLS_CLIENT_CA_FILE
      ? readConfigFile('ORIGIN_TLS_CLIENT_CA_FILE', config.ORIGIN_TLS_CLIENT_CA_FILE)
      : undefined,
  ]);
  return clientCa === undefined ? { cert, key } : { cert, key, clientCa };
}
