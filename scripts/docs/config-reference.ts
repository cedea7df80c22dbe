/**
 * `npm run docs:config`: writes docs/reference/configuration.md from the zod configuration schemas. Each field's
 * `.describe()` text is its documentation; the type and the default are read from the schema itself
 * (`z.toJSONSchema` for the accepted input, the schema's own default), so the reference cannot drift from the
 * parsing. test/scripts/docs/config-reference.test.ts regenerates it in memory and fails when the committed file is stale.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { controlConfigSchema } from '../../shared/config/control.ts';
import { dataConfigSchema } from '../../shared/config/data.ts';
import { edgeConfigSchema } from '../../shared/config/edge.ts';
import { edgeRoutingConfigSchema } from '../../shared/config/edge-routing.ts';
import {
  neonWsProxyConfigSchema,
  pgliteServerConfigSchema,
  stackConfigSchema,
  upstashBridgeConfigSchema,
} from '../../shared/config/local.ts';
import { originConfigSchema } from '../../shared/config/origin.ts';
import {
  edgeUsageDrainConfigSchema,
  partitionsConfigSchema,
  pipelineConfigSchema,
} from '../../shared/config/pipeline.ts';
import { autoscalerEnvSchema } from '../../shared/fleet/autoscaler-config.ts';

export const REFERENCE_PATH = 'docs/reference/configuration.md';

/** One table of the reference: a schema, who reads it, and where it is defined. */
export interface ConfigSection {
  title: string;
  /** The exported schema's name and its module, so a reader can find the `.describe()` texts. */
  schemaName: string;
  source: string;
  schema: z.ZodType;
  /** Fields of this schema documented in another section (merged-in schemas). */
  omit?: z.ZodType;
  intro: string;
}

export const CONFIG_SECTIONS: ConfigSection[] = [
  {
    title: 'Origin',
    schemaName: 'originConfigSchema',
    source: 'shared/config/origin.ts',
    schema: originConfigSchema,
    intro:
      'The inference server (`npm run origin`), read once at start-up. `npm start` passes every variable it does ' +
      'not read itself to the origin unchanged. The fleet-membership variables (`REGISTRY_REDIS_REST_*`, ' +
      '`ORIGIN_PUBLIC_URL`, `ORIGIN_ID`, `ORIGIN_REGION`, `ORIGIN_INSTANCE_ID`, `HEARTBEAT_*`) are explained in ' +
      '[the control plane](../concepts/control-plane.md#fleet-registry).',
  },
  {
    title: 'Edge',
    schemaName: 'edgeConfigSchema',
    source: 'shared/config/edge.ts',
    schema: edgeConfigSchema,
    intro:
      'The edge gateway: the `[vars]` of the environment in `wrangler.toml` plus secrets under wrangler, ' +
      '`process.env` under `npm run edge:node`. Read once per isolate; a bad value makes every request answer 500 ' +
      '`INTERNAL` ("edge is misconfigured; see the worker logs") and the log names every bad variable. The ' +
      'database variables are those of [the database client](#database-client).',
  },
  {
    title: 'Edge caching and routing',
    schemaName: 'edgeRoutingConfigSchema',
    source: 'shared/config/edge-routing.ts',
    schema: edgeRoutingConfigSchema,
    intro:
      'Read from the same bindings as the edge table above. Explained in [caching](../concepts/caching.md) and ' +
      '[routing](../concepts/routing.md).',
  },
  {
    title: 'Database client',
    schemaName: 'dataConfigSchema',
    source: 'shared/config/data.ts',
    schema: dataConfigSchema,
    intro:
      'Every process that talks to Postgres: the edge, the CLI, the jobs, `npm run db:migrate`. Under wrangler ' +
      '`DATABASE_DRIVER` is `neon` and `DATABASE_MAX_LIFETIME_SECONDS` is `0` (set in `wrangler.toml`). ' +
      'Explained in [the data layer](../concepts/data-layer.md#database-client).',
  },
  {
    title: 'Control plane',
    schemaName: 'controlConfigSchema',
    source: 'shared/config/control.ts',
    schema: controlConfigSchema,
    omit: autoscalerEnvSchema,
    intro:
      "The reconcile runner: the edge Worker's Cron Trigger (its vars and secrets) and `npm run cli -- fleet …`. " +
      'It also reads the [autoscaler](#autoscaler) variables. A bad value, or a missing API key for a provider ' +
      'named in `CONTROL_PROVIDERS`, names every bad variable and stops the pass. Explained in ' +
      '[the control plane](../concepts/control-plane.md).',
  },
  {
    title: 'Autoscaler',
    schemaName: 'autoscalerEnvSchema',
    source: 'shared/fleet/autoscaler-config.ts',
    schema: autoscalerEnvSchema,
    intro:
      'Read by the reconcile runner together with the control plane table, and by the simulator (`npm run sim`). ' +
      'Explained in [the control plane](../concepts/control-plane.md#autoscaler).',
  },
  {
    title: 'Usage drain',
    schemaName: 'pipelineConfigSchema',
    source: 'shared/config/pipeline.ts',
    schema: pipelineConfigSchema,
    intro:
      'The process that moves usage events from the Redis stream to Postgres (`npm run usage:drain`; `npm start` ' +
      'runs it as a child when `REDIS_URL` is set), together with the [database client](#database-client) ' +
      'variables. Explained in [the data layer](../concepts/data-layer.md#usage-drain).',
  },
  {
    title: 'Usage drain on the Cron Trigger',
    schemaName: 'edgeUsageDrainConfigSchema',
    source: 'shared/config/pipeline.ts',
    schema: edgeUsageDrainConfigSchema,
    intro:
      "The bounded drain pass the edge Worker's Cron Trigger runs every minute, read from the Worker's vars like " +
      'the [edge](#edge) table, over its `UPSTASH_REDIS_REST_*` and `DATABASE_URL`. Explained in ' +
      '[operating](../guides/operating.md#the-usage-drain).',
  },
  {
    title: 'Partition maintenance',
    schemaName: 'partitionsConfigSchema',
    source: 'shared/config/pipeline.ts',
    schema: partitionsConfigSchema,
    intro:
      '`npm run cli -- partitions run` and the daily job `npx tsx scripts/jobs/partitions.ts`. Explained in ' +
      '[the data layer](../concepts/data-layer.md#partition-maintenance-and-retention).',
  },
  {
    title: 'Local stack (npm start)',
    schemaName: 'stackConfigSchema',
    source: 'shared/config/local.ts',
    schema: stackConfigSchema,
    intro:
      '`npm start`. Every other variable goes to the origin unchanged, so `MODEL_REPOSITORY=/path/to/repo npm ' +
      'start` serves your own models. See [the local stack](../guides/local-stack.md).',
  },
  {
    title: 'Upstash REST bridge',
    schemaName: 'upstashBridgeConfigSchema',
    source: 'shared/config/local.ts',
    schema: upstashBridgeConfigSchema,
    intro:
      'The bridge run alone (`npx tsx scripts/dev/upstash-bridge.ts`); `npm start` configures it itself. See ' +
      '[local services](../guides/local-stack.md#upstash-compatible-rest-bridge).',
  },
  {
    title: 'Neon WebSocket proxy',
    schemaName: 'neonWsProxyConfigSchema',
    source: 'shared/config/local.ts',
    schema: neonWsProxyConfigSchema,
    intro:
      'The proxy run alone (`npx tsx scripts/dev/neon-ws-proxy.ts`). See ' +
      '[local services](../guides/local-stack.md#neon-websocket-proxy).',
  },
  {
    title: 'PGlite server',
    schemaName: 'pgliteServerConfigSchema',
    source: 'shared/config/local.ts',
    schema: pgliteServerConfigSchema,
    intro:
      'Embedded Postgres run alone (`npx tsx scripts/dev/pglite-server.ts`). See ' +
      '[local services](../guides/local-stack.md#embedded-postgres-pglite).',
  },
];

/** Variables read outside the zod schemas (tools and tests); written here by hand, so keep it short. */
const OTHER_VARIABLES = `## Read outside these schemas

These are read directly by tools and tests, not through a configuration schema:

| variable | read by | meaning |
| --- | --- | --- |
| \`AISERVE_LOCAL_FILE\` | CLI | the local stack's state file (default \`.aiserve/local.json\`), used when \`DATABASE_URL\` or the Upstash pair is unset |
| \`AISERVE_ACTOR\` | CLI | the actor recorded in the audit log (default \`cli:<os user>\`) |
| \`AISERVE_EDGE_URL\`, \`AISERVE_API_KEY\` | CLI \`inference\` | the edge and key to use when \`--url\` / \`--key\` are not given |
| \`ORIGIN_MTLS\` | edge on Workers | not a variable but an mTLS-certificate binding: the client certificate presented to origins |
| \`BENCH_*\` | benchmarks | see [benchmarks](../benchmarks.md#knobs) |
| \`TEST_PG_ADMIN_URL\`, \`TEST_REDIS_URL\`, \`FUZZ_SEED\` | tests | see [CONTRIBUTING](../../CONTRIBUTING.md#tests) |
`;

type JsonSchema = {
  type?: string;
  enum?: unknown[];
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
};

type Def = {
  type: string;
  shape?: Record<string, z.ZodType>;
  left?: z.ZodType;
  right?: z.ZodType;
  in?: z.ZodType;
  innerType?: z.ZodType;
  defaultValue?: unknown;
};

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** The fields of an object schema, through `.transform()`/`.pipe()` and `.and()` (intersections merge). */
export function fieldsOf(schema: z.ZodType): Record<string, z.ZodType> {
  const def = defOf(schema);
  if (def.type === 'object' && def.shape) return { ...def.shape };
  if (def.type === 'intersection' && def.left && def.right) {
    return { ...fieldsOf(def.left), ...fieldsOf(def.right) };
  }
  if (def.type === 'pipe' && def.in) return fieldsOf(def.in);
  throw new Error(`not an object schema (zod type ${def.type})`);
}

/** Whether `fieldsOf` can read this schema: how the test finds every configuration schema. */
export function isObjectSchema(value: unknown): value is z.ZodType {
  if (!(value instanceof z.ZodType)) return false;
  try {
    fieldsOf(value);
    return true;
  } catch {
    return false;
  }
}

/** A default value back in the text an environment variable would carry. */
function envText(value: unknown): string {
  if (value === '' || value === undefined) return '';
  if (Array.isArray(value)) return value.map(envText).join(',');
  if (value !== null && typeof value === 'object') {
    return Object.entries(value)
      .map(([k, v]) => `${k}=${envText(v)}`)
      .join(',');
  }
  return String(value);
}

/** `required`, `(unset)`, `(empty)` or the default as environment text; from the schema's own default. */
function defaultOf(field: z.ZodType): string {
  let schema: z.ZodType | undefined = field;
  while (schema) {
    const def = defOf(schema);
    if (def.type === 'default' || def.type === 'prefault') {
      const text = envText(def.defaultValue);
      return text === '' ? '(empty)' : code(text);
    }
    if (def.type === 'optional') return '(unset)';
    schema = def.type === 'pipe' ? def.in : def.innerType;
  }
  return 'required';
}

const MAX = Number.MAX_SAFE_INTEGER;
const BOOLEAN_TEXTS = ['0', '1', 'false', 'no', 'true', 'yes'];

/** The accepted input in a few words, from the field's JSON Schema (what the environment may hold). */
function typeOf(field: z.ZodType): string {
  const json = z.toJSONSchema(field, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  if (json.enum) {
    const values = json.enum.map(String);
    if ([...values].sort().join() === BOOLEAN_TEXTS.join())
      return 'boolean (`true`/`false`, `1`/`0`, `yes`/`no`)';
    return values.map(code).join(', ');
  }
  if (json.type === 'integer' || json.type === 'number') {
    const noun = json.type;
    const lower =
      json.exclusiveMinimum !== undefined
        ? `> ${json.exclusiveMinimum}`
        : json.minimum !== undefined
          ? `≥ ${json.minimum}`
          : undefined;
    const upper =
      json.maximum !== undefined && json.maximum < MAX
        ? `≤ ${json.maximum}`
        : json.exclusiveMaximum !== undefined
          ? `< ${json.exclusiveMaximum}`
          : undefined;
    if (json.minimum !== undefined && json.maximum !== undefined && json.maximum < MAX) {
      return `${noun}, ${json.minimum}–${json.maximum}`;
    }
    return [noun, [lower, upper].filter(Boolean).join(' and ')].filter(Boolean).join(', ');
  }
  if (json.type === 'string') {
    if (json.format === 'uri') return 'URL';
    if (json.pattern) return `string matching ${code(json.pattern)}`;
    if (json.minLength !== undefined && json.minLength > 1) return `string, ≥ ${json.minLength} characters`;
    return 'string';
  }
  return json.type ?? 'any';
}

function code(text: string): string {
  return text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``;
}

/** A table cell: one line, pipes escaped. */
function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
}

function descriptionOf(name: string, field: z.ZodType, section: ConfigSection): string {
  const description = field.description?.trim();
  if (!description) {
    throw new Error(
      `${section.source} ${section.schemaName}.${name} has no .describe(): document the field there`,
    );
  }
  return description;
}

export function anchorOf(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .trim()
    .replace(/\s/g, '-');
}

function renderSection(section: ConfigSection): string {
  const omitted = section.omit ? new Set(Object.keys(fieldsOf(section.omit))) : new Set<string>();
  const rows = Object.entries(fieldsOf(section.schema))
    .filter(([name]) => !omitted.has(name))
    .map(([name, field]) => {
      const cells = [code(name), typeOf(field), defaultOf(field), descriptionOf(name, field, section)];
      return `| ${cells.map(cell).join(' | ')} |`;
    });
  return [
    `## ${section.title}`,
    '',
    `${section.intro} Schema: \`${section.schemaName}\` in \`${section.source}\`.`,
    '',
    '| variable | type | default | description |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

/** The whole reference, as committed in docs/reference/configuration.md. */
export function renderConfigReference(): string {
  const contents = CONFIG_SECTIONS.map((s) => `- [${s.title}](#${anchorOf(s.title)})`);
  return [
    '# Configuration reference',
    '',
    '<!-- Generated by `npm run docs:config` from the zod schemas; edit their .describe() texts, not this file. -->',
    '',
    'All configuration is environment variables (Workers vars and secrets for the edge). Each process reads its ' +
      'variables once, at start-up (once per isolate on Workers), through one zod schema. An empty value means ' +
      'unset. A bad value stops the process with one message naming every bad variable. This page is generated ' +
      'from those schemas by `npm run docs:config`: the type is what the schema accepts, the default is the ' +
      "schema's own, and the description is the field's `.describe()` text.",
    '',
    'In the default column, `(unset)` means the variable is optional and has no default (the description says ' +
      'what unset means), `(empty)` an empty string or list, and `required` that the process refuses to start ' +
      'without it.',
    '',
    ...contents,
    '- [Read outside these schemas](#read-outside-these-schemas)',
    '',
    ...CONFIG_SECTIONS.map(renderSection),
    OTHER_VARIABLES,
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await writeFile(REFERENCE_PATH, renderConfigReference());
  process.stdout.write(`wrote ${REFERENCE_PATH}\n`);
}
