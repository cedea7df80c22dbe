/**
 * The methods an app serves on a path, from its registered routes (Hono's `app.routes`), so that a known path
 * asked with the wrong method answers 405 with `Allow` instead of a 404 that reads as "no such model". One
 * derivation for the origin and the edge, so no hand-kept method list can drift from the routes. Middleware is
 * registered for the method `ALL` and is not a route.
 */

interface RouteLike {
  readonly method: string;
  readonly path: string;
}

interface CompiledRoute {
  method: string;
  segments: string[];
}

function compile(routes: readonly RouteLike[]): CompiledRoute[] {
  return routes
    .filter((r) => r.method !== 'ALL')
    .map((r) => ({ method: r.method.toUpperCase(), segments: r.path.split('/').slice(1) }));
}

/** Hono's path syntax as the app uses it: literal segments, `:name` for one segment, a trailing `*`. */
function matches(pattern: readonly string[], path: readonly string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p === '*') return true;
    const s = path[i];
    if (s === undefined) return false;
    if (p.startsWith(':')) {
      if (s === '') return false;
    } else if (p !== s) return false;
  }
  return pattern.length === path.length;
}

/** Returns a lookup over `routes` (read once, on first use, when every route is registered). */
export function allowedMethodsOf(routes: () => readonly RouteLike[]): (path: string) => string[] {
  let compiled: CompiledRoute[] | undefined;
  return (path) => {
    compiled ??= compile(routes());
    const segments = path.split('/').slice(1);
    const methods = new Set<string>();
    for (const route of compiled) if (matches(route.segments, segments)) methods.add(route.method);
    // Hono answers HEAD from the GET handler.
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods].sort();
  };
}
