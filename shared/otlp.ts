/** OTLP/HTTP settings both tiers read the same way (`OTEL_EXPORTER_OTLP_*`, as the OpenTelemetry spec names them). */

/** `OTEL_EXPORTER_OTLP_ENDPOINT` is a base URL: traces go to `<base>/v1/traces` (kept when already there). */
export function otlpTracesUrl(endpoint: string): string {
  const base = endpoint.replace(/\/+$/, '');
  return base.endsWith('/v1/traces') ? base : `${base}/v1/traces`;
}

/**
 * `OTEL_EXPORTER_OTLP_HEADERS`: `key=value` pairs, comma-separated, values percent-encoded (the spec's W3C
 * Baggage form). Throws naming the first malformed pair.
 */
export function parseOtlpHeaders(spec: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of spec.split(',')) {
    if (pair.trim() === '') continue;
    const eq = pair.indexOf('=');
    const key = eq > 0 ? pair.slice(0, eq).trim() : '';
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(key)) throw new Error(`malformed header pair "${pair.trim()}"`);
    headers[key.toLowerCase()] = decodeURIComponent(pair.slice(eq + 1).trim());
  }
  return headers;
}
