import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { bool, commaList, int } from './fields.ts';

/** Default intra-op threads: leave a core for HTTP and batching so the event loop stays responsive. */
export function defaultIntraOpThreads(cores = availableParallelism()): number {
  return Math.max(1, cores - 1);
}

/**
 * The origin's whole configuration, read once at start-up from the environment. Each field's `.describe()` is its
 * documentation: `npm run docs:config` prints them into docs/reference/configuration.md.
 */
export const originConfigSchema = z
  .object({
    HOST: z.string().default('127.0.0.1').describe('Bind address (`0.0.0.0` on a GPU host).'),
    PORT: int(0, 65535).default(8000).describe('HTTP port; `0` picks a free one.'),
    MODEL_REPOSITORY: z
      .string()
      .default('./models')
      .describe('Triton-layout model repository (a directory).'),
    MODEL_CONTROL_MODE: z
      .enum(['none', 'explicit'])
      .default('none')
      .describe(
        '`none`: load every model of the repository at start; `explicit`: load and unload through the repository API (`POST /v2/repository/models/{m}/load`, `…/unload`).',
      ),
    LOAD_MODELS: commaList.describe(
      "Explicit mode: comma-separated models to load at start (Triton's `--load-model`).",
    ),
    EXECUTION_PROVIDER: z
      .enum(['cpu', 'cuda'])
      .default('cpu')
      .describe(
        'onnxruntime execution provider. If CUDA cannot load, the origin logs one warning and runs on CPU.',
      ),
    CUDA_DEVICE_ID: int(0)
      .default(0)
      .describe('CUDA device for `KIND_AUTO`/`KIND_GPU` instances that name no `gpus`.'),
    INTRA_OP_THREADS: int(1, 1024)
      .optional()
      .describe(
        'onnxruntime intra-op threads per session. Unset: cores − 1, at least 1 (leaves a core for HTTP and batching).',
      ),
    INTER_OP_THREADS: int(1, 1024).default(1).describe('onnxruntime inter-op threads per session.'),
    GRAPH_OPTIMIZATION: z
      .enum(['disabled', 'basic', 'extended', 'all'])
      .default('all')
      .describe('onnxruntime graph optimisation level.'),
    WORKER_THREAD_NICE: int(0, 19)
      .default(10)
      .describe(
        "Nice value of the compute threads (onnxruntime sessions, JSON parsing): they yield the CPU to the event loop's thread when cores are oversubscribed, which keeps its lag low. `0` = same priority as the rest.",
      ),
    STAGED_BATCHES: int(0, 8)
      .default(1)
      .describe(
        "Batches per model formed ahead while every instance is busy, once they cannot grow any more (a worker then never waits for batch assembly). `0` = Triton's behaviour: a batch is formed only when an instance is free.",
      ),
    MAX_BODY_BYTES: int(1024)
      .default(64 * 1024 * 1024)
      .describe('Largest request body in bytes (64 MiB); larger bodies get 413.'),
    JSON_PARSE_THREADS: int(0, 64)
      .default(1)
      .describe(
        'Worker threads that parse large JSON bodies so the event loop stays responsive; `0` = parse on the main thread.',
      ),
    JSON_PARSE_MIN_BYTES: int(0)
      .default(64 * 1024)
      .describe(
        'JSON bodies from this size (bytes, 64 KiB) go to those threads; smaller ones cost less than the hand-off.',
      ),
    ORIGIN_AUTH: z
      .enum(['hmac', 'off'])
      .default('hmac')
      .describe(
        "`hmac`: every request but health and metrics must carry the edge's signature; `off`: local direct use (warns at start).",
      ),
    ORIGIN_SIGNING_KEYS: z
      .string()
      .default('')
      .describe(
        '`keyId:secret[,keyId:secret…]` the origin accepts signatures from; several ids let keys rotate without downtime. Required with `ORIGIN_AUTH=hmac`.',
      ),
    SIGNATURE_MAX_SKEW_SECONDS: int(1, 3600)
      .default(300)
      .describe(
        'Replay window in seconds: older or future timestamps are rejected; nonces are remembered for twice this.',
      ),
    SHUTDOWN_TIMEOUT_MS: int(0).default(30_000).describe('Bound on the SIGTERM drain, in milliseconds.'),
    LOG_LEVEL: z
      .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
      .default('info')
      .describe('pino log level (`silent` mutes).'),
    OTEL_EXPORTER_OTLP_ENDPOINT: z
      .string()
      .url()
      .optional()
      .describe('OTLP/HTTP base URL; when set, spans are exported to `<url>/v1/traces`.'),
    ORIGIN_ID: z
      .string()
      .optional()
      .describe('Id in the fleet registry: letters, digits and `. _ : -`. Unset: `<hostname>-<pid>`.'),
    ORIGIN_REGION: z
      .string()
      .default('local')
      .describe("Region in the fleet registry, matched against the edge's `EDGE_REGION`."),
    GPU_METRICS: bool
      .default(true)
      .describe('Sample `nvidia-smi` every 5 s when it exists (GPU gauges on `/metrics`).'),
    REGISTRY_REDIS_REST_URL: z
      .string()
      .url()
      .optional()
      .describe(
        "Fleet registry (the edge's Upstash REST URL, or the local bridge). The origin joins the fleet only when this and `REGISTRY_REDIS_REST_TOKEN` are both set; one without the other stops start-up.",
      ),
    REGISTRY_REDIS_REST_TOKEN: z
      .string()
      .optional()
      .describe('Token for `REGISTRY_REDIS_REST_URL` (a secret).'),
    ORIGIN_PUBLIC_URL: z
      .string()
      .url()
      .optional()
      .describe(
        'The URL the edge reaches this origin at, as written to the registry. Unset: the listen URL. Set it on any host that binds `0.0.0.0`, or behind a proxy.',
      ),
    HEARTBEAT_INTERVAL_MS: int(100, 60_000)
      .default(5_000)
      .describe('Time between registry record rewrites, in milliseconds.'),
    HEARTBEAT_TTL_MS: int(300, 300_000)
      .default(15_000)
      .describe(
        'Registry record lifetime without a heartbeat, in milliseconds; must exceed the interval. The bound on how long a dead origin stays listed.',
      ),
    ORIGIN_INSTANCE_ID: z
      .string()
      .optional()
      .describe('The `gpu_instances` id a launcher gave this host (recorded in the registry).'),
    ORIGIN_TLS_CERT_FILE: z
      .string()
      .min(1)
      .optional()
      .describe(
        'PEM certificate file: serve HTTPS (with `ORIGIN_TLS_KEY_FILE`; both or neither). An unreadable file stops the start with exit 2.',
      ),
    ORIGIN_TLS_KEY_FILE: z
      .string()
      .min(1)
      .optional()
      .describe('PEM private key file for `ORIGIN_TLS_CERT_FILE`.'),
    ORIGIN_TLS_CLIENT_CA_FILE: z
      .string()
      .min(1)
      .optional()
      .describe(
        'PEM file of the CA(s) whose client certificates are accepted: when set, every connection must present one it signed (mTLS, checked in the TLS handshake). Needs the two above.',
      ),
  })
  .superRefine((env, ctx) => {
    if (Boolean(env.ORIGIN_TLS_CERT_FILE) !== Boolean(env.ORIGIN_TLS_KEY_FILE)) {
      ctx.addIssue({
        code: 'custom',
        path: [env.ORIGIN_TLS_CERT_FILE ? 'ORIGIN_TLS_KEY_FILE' : 'ORIGIN_TLS_CERT_FILE'],
        message: 'ORIGIN_TLS_CERT_FILE and ORIGIN_TLS_KEY_FILE go together',
      });
    }
    if (env.ORIGIN_TLS_CLIENT_CA_FILE && !env.ORIGIN_TLS_CERT_FILE) {
      ctx.addIssue({
        code: 'custom',
        path: ['ORIGIN_TLS_CLIENT_CA_FILE'],
        message:
          'client certificates (mTLS) need HTTPS: set ORIGIN_TLS_CERT_FILE and ORIGIN_TLS_KEY_FILE too',
      });
    }
  });

export type OriginConfig = z.infer<typeof originConfigSchema>;

export function parseSigningKeys(spec: string): Map<string, string> {
  const keys = new Map<string, string>();
  for (const part of spec.split(',')) {
    const trimmed = part.trim();
    if (!trimmed) continue;
    const idx = trimmed.indexOf(':');
    if (idx <= 0 || idx === trimmed.length - 1) {
      throw new Error(`ORIGIN_SIGNING_KEYS entry "${trimmed.slice(0, 12)}…" must be keyId:secret`);
    }
    keys.set(trimmed.slice(0, idx), trimmed.slice(idx + 1));
  }
  return keys;
}
