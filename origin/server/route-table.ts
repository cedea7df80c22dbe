/** The origin's routes by method, so a known path with the wrong method answers 405 with `Allow`. */
const ROUTES: Array<{ pattern: RegExp; methods: string[] }> = [
  { pattern: /^\/v2\/health\/(live|ready)$/, methods: ['GET'] },
  { pattern: /^\/v2$/, methods: ['GET'] },
  { pattern: /^\/metrics$/, methods: ['GET'] },
  { pattern: /^\/v2\/models\/[^/]+(\/versions\/[^/]+)?(\/ready)?$/, methods: ['GET'] },
  { pattern: /^\/v2\/models\/[^/]+(\/versions\/[^/]+)?\/infer$/, methods: ['POST'] },
  { pattern: /^\/v2\/repository\/index$/, methods: ['POST'] },
  { pattern: /^\/v2\/repository\/models\/[^/]+\/(load|unload)$/, methods: ['POST'] },
];

export function methodNotAllowed(method: string, path: string): string[] | null {
  for (const route of ROUTES) {
    if (route.pattern.test(path)) return route.methods.includes(method) ? null : route.methods;
  }
  return null;
}
