import { Agent, fetch as undiciFetch } from 'undici';
import type { EdgeConfig } from '../../shared/config/edge.ts';
import { ConfigError } from '../../shared/config/load.ts';
import { readConfigFile } from '../../shared/config/read-file.ts';

/**
 * Under Node, the `fetch` the router calls origins with when the configuration names TLS files: it presents the
 * client certificate to origins that require one (mTLS) and trusts a private CA for their server certificates.
 * Undefined when none are set (the global fetch then serves). The Workers twin is the `ORIGIN_MTLS` binding
 * (`adapters/workers.ts`).
 */
export async function nodeOriginFetch(config: EdgeConfig): Promise<typeof fetch | undefined> {
  const certFile = config.ORIGIN_TLS_CLIENT_CERT_FILE;
  const keyFile = config.ORIGIN_TLS_CLIENT_KEY_FILE;
  if (Boolean(certFile) !== Boolean(keyFile)) {
    throw new ConfigError('ORIGIN_TLS_CLIENT_CERT_FILE and ORIGIN_TLS_CLIENT_KEY_FILE go together');
  }
  if (!certFile && !config.ORIGIN_TLS_CA_FILE) return undefined;
  const [cert, key, ca] = await Promise.all([
    certFile ? readConfigFile('ORIGIN_TLS_CLIENT_CERT_FILE', certFile) : undefined,
    keyFile ? readConfigFile('ORIGIN_TLS_CLIENT_KEY_FILE', keyFile) : undefined,
    config.ORIGIN_TLS_CA_FILE ? readConfigFile('ORIGIN_TLS_CA_FILE', config.ORIGIN_TLS_CA_FILE) : undefined,
  ]);
  const dispatcher = new Agent({
    connect: { ...(cert && key ? { cert, key } : {}), ...(ca ? { ca } : {}) },
  });
  return ((input: RequestInfo | URL, init?: RequestInit) =>
    undiciFetch(input as Parameters<typeof undiciFetch>[0], {
      ...(init as Parameters<typeof undiciFetch>[1]),
      dispatcher,
    })) as unknown as typeof fetch;
}
