import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Pins the architecture guard (.dependency-cruiser.cjs, `npm run lint:deps`): the project's own rule set runs on a
 * small tree with one violation of each rule and one allowed import of each kind, and must report exactly the
 * violations.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const FILES: Record<string, string> = {
  'package.json': JSON.stringify({
    name: 'fixture',
    private: true,
    type: 'module',
    dependencies: { 'prod-pkg': '1.0.0' },
    devDependencies: { 'dev-pkg': '1.0.0' },
  }),
  'node_modules/prod-pkg/package.json': JSON.stringify({
    name: 'prod-pkg',
    version: '1.0.0',
    main: 'index.js',
  }),
  'node_modules/prod-pkg/index.js': 'export const prod = 1;\n',
  'node_modules/dev-pkg/package.json': JSON.stringify({
    name: 'dev-pkg',
    version: '1.0.0',
    main: 'index.js',
  }),
  'node_modules/dev-pkg/index.js': 'export const dev = 1;\n',
  'node_modules/hidden-pkg/package.json': JSON.stringify({
    name: 'hidden-pkg',
    version: '1.0.0',
    main: 'index.js',
  }),
  'node_modules/hidden-pkg/index.js': 'export const hidden = 1;\n',

  // Allowed: the edge on shared/ and on a dependency, type-only on a devDependency; a tool on a devDependency.
  'shared/base.ts': 'export const base = 1;\n',
  'workers/edge.ts':
    "import { prod } from 'prod-pkg';\nimport { base } from '../shared/base.ts';\nexport const edge = base + prod;\n",
  'workers/types-dev.ts': "import type { dev } from 'dev-pkg';\nexport type Dev = typeof dev;\n",
  'scripts/tool.ts':
    "import { dev } from 'dev-pkg';\nimport { edge } from '../workers/edge.ts';\nexport const tool = dev + edge;\n",
  'origin/o.ts': "import { base } from '../shared/base.ts';\nexport const o = base;\n",
  // Allowed: test/ and bench/ on production code and on fixtures/, fixtures/ on production code.
  'fixtures/f.ts': "import { base } from '../shared/base.ts';\nexport const f = base;\n",
  'test/helper.ts':
    "import { f } from '../fixtures/f.ts';\nimport { edge } from '../workers/edge.ts';\nexport const helper = f + edge;\n",
  'bench/b.ts':
    "import { f } from '../fixtures/f.ts';\nimport { o } from '../origin/o.ts';\nexport const b = f + o;\n",

  // Violations, one per rule.
  'workers/cycle-a.ts': "import type { B } from './cycle-b.ts';\nexport interface A {\n  b?: B;\n}\n",
  'workers/cycle-b.ts': "import type { A } from './cycle-a.ts';\nexport interface B {\n  a?: A;\n}\n",
  'shared/up.ts': "import { edge } from '../workers/edge.ts';\nexport const up = edge;\n",
  'workers/to-origin.ts': "import { o } from '../origin/o.ts';\nexport const x = o;\n",
  'origin/to-workers.ts': "import { edge } from '../workers/edge.ts';\nexport const y = edge;\n",
  'drizzle/to-origin.ts': "import { o } from '../origin/o.ts';\nexport const dq = o;\n",
  'origin/to-scripts.ts': "import { tool } from '../scripts/tool.ts';\nexport const ot = tool;\n",
  'workers/uses-test.ts': "import { helper } from '../test/helper.ts';\nexport const z = helper;\n",
  'origin/uses-fixture.ts': "import { f } from '../fixtures/f.ts';\nexport const z = f;\n",
  'test/to-bench.ts': "import { b } from '../bench/b.ts';\nexport const tb = b;\n",
  'bench/to-test.ts': "import { helper } from '../test/helper.ts';\nexport const bt = helper;\n",
  'fixtures/to-test.ts': "import { helper } from '../test/helper.ts';\nexport const ft = helper;\n",
  'workers/uses-dev.ts': "import { dev } from 'dev-pkg';\nexport const d = dev;\n",
  'workers/uses-hidden.ts': "import { hidden } from 'hidden-pkg';\nexport const h = hidden;\n",
  // An .mjs worker file is cruised too.
  'origin/worker.mjs': "import { gone } from './missing.mjs';\nexport const w = gone;\n",
};

const EXPECTED = [
  // Type-only both ways: found only because tsPreCompilationDeps keeps `import type`. One report per cycle.
  'no-circular: workers/cycle-a.ts → workers/cycle-b.ts',
  'shared-not-to-apps: shared/up.ts → workers/edge.ts',
  'workers-not-to-origin: workers/to-origin.ts → origin/o.ts',
  'origin-not-to-workers: origin/to-workers.ts → workers/edge.ts',
  'drizzle-not-to-apps: drizzle/to-origin.ts → origin/o.ts',
  'not-to-scripts: origin/to-scripts.ts → scripts/tool.ts',
  'production-not-to-test-bench-fixtures: workers/uses-test.ts → test/helper.ts',
  'production-not-to-test-bench-fixtures: origin/uses-fixture.ts → fixtures/f.ts',
  'test-not-to-bench: test/to-bench.ts → bench/b.ts',
  'bench-not-to-test: bench/to-test.ts → test/helper.ts',
  'fixtures-not-to-test-bench: fixtures/to-test.ts → test/helper.ts',
  'production-not-to-dev-dependencies: workers/uses-dev.ts → node_modules/dev-pkg/index.js',
  'no-non-package-json: workers/uses-hidden.ts → node_modules/hidden-pkg/index.js',
  'not-to-unresolvable: origin/worker.mjs → ./missing.mjs',
].sort();

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aiserve-depcruise-'));
  const project = JSON.parse(await readFile(join(ROOT, 'tsconfig.json'), 'utf8'));
  FILES['tsconfig.json'] = JSON.stringify({ compilerOptions: { ...project.compilerOptions, types: [] } });
  for (const [path, text] of Object.entries(FILES)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('.dependency-cruiser.cjs', () => {
  it('reports each forbidden import, and only those', async () => {
    const options = await extractDepcruiseOptions(join(ROOT, '.dependency-cruiser.cjs'));
    const tsConfig = join(dir, 'tsconfig.json');
    // The same rule set and options, cruising the fixture tree with its tsconfig.json.
    options.baseDir = dir;
    options.tsConfig = { fileName: tsConfig };
    const { output } = await cruise(['.'], options, {}, { tsConfig: extractTSConfig(tsConfig) });
    const result = output as ICruiseResult;
    const found = result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();
    expect(found).toEqual(EXPECTED);
    // Every rule is an error, so `depcruise` exits non-zero and fails `npm run lint`.
    expect(result.summary.error).toBe(EXPECTED.length);
  });
});
