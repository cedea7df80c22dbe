import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { bool, commaList, int } from './fields.ts';

/** Default intra-op threads: leave a core for HTTP and batching so the event loop stays responsive. */
export function defaultIntraOpThreads(cores = availableParallelism()): number {
  return Math.max(1, cores - 1);
}

/** The origin's whole configuration, read once at start-up from the environment. Documented in the README. */
export const originConfigSchema = z
  .object({
    HOST: z.string().default('127.0.0.1'),
    PORT: int(0, 65535).default(8000),
    MODEL_REPOSITORY: z.string().default('./models'),
    MODEL_CONTROL_MODE: z.enum(['none', 'explicit']).default('none'),
    /** Comma-separated models to load at start in explicit mode (Triton's --load-model). */
    LOAD_MODELS: commaList,
    EXECUTION_PROVIDER: z.enum(['cpu', 'cuda']).default('cpu'),
    CUDA_DEVICE_ID: int(0).default(0),
    INTRA_OP_THREADS: int(1, 1024).optional(),
    INTER_OP_THREADS: int(1, 1024).default(1),
    GRAPH_OPTIMIZATION: z.enum(['disabled', 'basic', 'extended', 'all']).default('all'),
    /**
     * Nice value of the compute threads (onnxruntime sessions, JSON parsing): they yield to the event loop's thread
     * when the cores are oversubscribed, which keeps its lag low. 0 = same priority as the rest.
     */
    WORKER_THREAD_NICE: int(0, 19).default(10),
    /**
     * Batches per model that may be formed ahead while every instance is busy, when they cannot grow any more;
     * 0 = Triton's behaviour (form a batch only when an instance is free). See the README's batching section.
     */
    STAGED_BATCHES: int(0, 8).default(1),
    MAX_BODY_BYTES: int(1024).default(64 * 1024 * 1024),
    /** Worker threads that parse large JSON bodies off the event loop; 0 = parse on the main thread. */
    JSON_PARSE_THREADS: int(0, 64).default(1),
    /** JSON bodies from this size (bytes) go to those threads; smaller ones cost less than the hand-off. */
    JSON_PARSE_MIN_BYTES: int(0).default(64 * 1024),
    ORIGIN_AUTH: z.enum(['hmac', 'off']).default('hmac'),
    /** `keyId:secret` pairs, comma-separated; several ids let keys rotate without downtime. */
    ORIGIN_SIGNING_KEYS: z.string().default(''),
    SIGNATURE_MAX_SKEW_SECONDS: int(1, 3600).default(300),
    SHUTDOWN_TIMEOUT_MS: int(0).default(30_000),
    LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
    ORIGIN_ID: z.string().optional(),
    ORIGIN_REGION: z.string().default('local'),
    GPU_METRICS: bool.default(true),
    /** Fleet registry (Upstash REST, or the local bridge); the origin joins the fleet only when both are set. */
    REGISTRY_REDIS_REST_URL: z.string().url().optional(),
    REGISTRY_REDIS_REST_TOKEN: z.string().optional(),
    /** The URL the edge reaches this origin at; default: the listen URL. */
    ORIGIN_PUBLIC_URL: z.string().url().optional(),
    HEARTBEAT_INTERVAL_MS: int(100, 60_000).default(5_000),
    /** Registry record lifetime without a heartbeat: the bound on how long a dead origin stays listed. */
    HEARTBEAT_TTL_MS: int(300, 300_000).default(15_000),
    /** The provider instance id a launcher gave this host (recorded in the registry). */
    ORIGIN_INSTANCE_ID: z.string().optional(),
    /** PEM files: serve HTTPS with this certificate and key (both or neither). */
    ORIGIN_TLS_CERT_FILE: z.string().min(1).optional(),
    ORIGIN_TLS_KEY_FILE: z.string().min(1).optional(),
    /** PEM file of the CA(s) whose client certificates are accepted: set, every connection must present one (mTLS). */
    ORIGIN_TLS_CLIENT_CA_FILE: z.string().min(1).optional(),
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
