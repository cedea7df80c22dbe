// Architecture guard, run by `npm run lint:deps` (part of `npm run lint`).
//
// Layers: shared/ is the base every part may use; drizzle/ (the data layer) builds on shared/ only; workers/
// (edge) and origin/ (Node origin) are two separate applications that meet only through shared/; scripts/ are
// tools on top that nothing else in production imports. test/ and bench/ are not production code: they may
// import everything, production imports neither, and they share helpers only through fixtures/ (never
// test/ → bench/ or bench/ → test/).
//
// Type-only imports count (tsPreCompilationDeps): a cycle or an upward import through `import type` is still a
// coupling, even though it disappears from the emitted JavaScript.
//
// test/lint/dependency-rules.test.ts runs these rules on a small fixture tree so the guard itself is pinned.

/** Not production code: free to use devDependencies and each other's public code (with the limits below). */
const NOT_PRODUCTION = '^(test|bench|fixtures)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'Import cycle (type-only imports count). Break it: move the shared part down a level, or invert it.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'shared-not-to-apps',
      severity: 'error',
      comment: 'shared/ is the base layer: it must not import workers/, origin/, drizzle/ or scripts/.',
      from: { path: '^shared/' },
      to: { path: '^(workers|origin|drizzle|scripts)/' },
    },
    {
      name: 'origin-not-to-workers',
      severity: 'error',
      comment: 'The origin and the edge are separate applications; what both need belongs in shared/.',
      from: { path: '^origin/' },
      to: { path: '^workers/' },
    },
    {
      name: 'workers-not-to-origin',
      severity: 'error',
      comment: 'The edge and the origin are separate applications; what both need belongs in shared/.',
      from: { path: '^workers/' },
      to: { path: '^origin/' },
    },
    {
      name: 'drizzle-not-to-apps',
      severity: 'error',
      comment:
        'drizzle/ (the data layer) sits below the applications: it must not import workers/, origin/ or scripts/.',
      from: { path: '^drizzle/' },
      to: { path: '^(workers|origin|scripts)/' },
    },
    {
      name: 'not-to-scripts',
      severity: 'error',
      comment:
        'scripts/ (CLI, dev stack, jobs, simulator) are tools on top of the code: workers/, origin/, shared/ and ' +
        'drizzle/ must not import them.',
      from: { path: '^(workers|origin|shared|drizzle)/' },
      to: { path: '^scripts/' },
    },
    {
      name: 'production-not-to-test-bench-fixtures',
      severity: 'error',
      comment:
        'Production code (everything outside test/, bench/ and fixtures/) must not import test/, bench/ or fixtures/.',
      from: { pathNot: NOT_PRODUCTION },
      to: { path: NOT_PRODUCTION },
    },
    {
      name: 'test-not-to-bench',
      severity: 'error',
      comment: 'test/ must not import bench/: move what both use to fixtures/.',
      from: { path: '^test/' },
      to: { path: '^bench/' },
    },
    {
      name: 'bench-not-to-test',
      severity: 'error',
      comment: 'bench/ must not import test/: move what both use to fixtures/.',
      from: { path: '^bench/' },
      to: { path: '^test/' },
    },
    {
      name: 'fixtures-not-to-test-bench',
      severity: 'error',
      comment: 'fixtures/ sits below test/ and bench/: it must not import either.',
      from: { path: '^fixtures/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'This import resolves to no file and no installed package.',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-non-package-json',
      severity: 'error',
      comment: 'This package is not declared in package.json (it is only there transitively, or not at all).',
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'production-not-to-dev-dependencies',
      severity: 'error',
      comment:
        'Production code must not depend on a devDependency at run time: `npm ci --omit=dev` would drop it. ' +
        'Type-only imports (e.g. @cloudflare/workers-types) are fine: they vanish at compile time. ' +
        'scripts/, test/, bench/, fixtures/ and tool configs may use devDependencies.',
      from: {
        pathNot: [
          NOT_PRODUCTION,
          '^scripts/',
          // Tool configuration, loaded only by the tools themselves (drizzle-kit, vitest), both devDependencies.
          '^drizzle/drizzle\\.config\\.ts$',
          '^vitest\\.config\\.ts$',
        ],
      },
      to: {
        dependencyTypes: ['npm-dev'],
        dependencyTypesNot: ['type-only', 'type-import', 'triple-slash-type-reference'],
      },
    },
    {
      name: 'no-deprecated-core',
      severity: 'error',
      comment: 'Deprecated Node built-in module.',
      from: {},
      to: { dependencyTypes: ['core'], path: '^(punycode|domain|constants|sys|_linklist|_stream_wrap)$' },
    },
  ],
  options: {
    // Generated and local data, never source.
    exclude: {
      path: '^(bench/results|bench/sim/traces|models|coverage|\\.git|\\.aiserve|\\.wrangler|\\.data)/',
    },
    doNotFollow: { path: 'node_modules' },
    // See `import type` too (the TypeScript parser keeps type-only imports, marked 'type-only').
    tsPreCompilationDeps: true,
    // The project's resolution settings (moduleResolution Bundler, explicit `.ts` extensions in imports).
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      // 'types' last: a types-only package (@cloudflare/workers-types) still resolves for `import type`.
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
      extensions: ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs', '.d.ts', '.json'],
    },
    skipAnalysisNotInRules: true,
  },
};
