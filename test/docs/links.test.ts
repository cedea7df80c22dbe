import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The documentation's own rules: every relative link in README.md, CONTRIBUTING.md and docs/ resolves to a file
 * a clone has (and to a heading of it, for `#anchors`), and the README stays a landing page.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const README_MAX_LINES = 300;
const README_MAX_LINE_CHARS = 200;

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return markdownFiles(path);
    return entry.name.endsWith('.md') ? [path] : [];
  });
}

const DOCS = [
  join(ROOT, 'README.md'),
  join(ROOT, 'CONTRIBUTING.md'),
  ...(existsSync(join(ROOT, 'docs')) ? markdownFiles(join(ROOT, 'docs')) : []),
];

/** Files a clone has: tracked, or new and not ignored. Without git (an exported tree), whatever is on disk. */
const inClone: (path: string) => boolean = (() => {
  let listed: string[];
  try {
    listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
      cwd: ROOT,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    })
      .split('\0')
      .filter(Boolean);
  } catch {
    return (path: string) => existsSync(path);
  }
  const files = new Set(listed.map((f) => join(ROOT, f)));
  const dirs = new Set<string>();
  for (const f of files) for (let d = dirname(f); d.length > ROOT.length; d = dirname(d)) dirs.add(d);
  return (path: string) => (files.has(path) || dirs.has(path)) && existsSync(path);
})();

interface Line {
  number: number;
  text: string;
  /** Inside a fenced code block. */
  code: boolean;
}

function linesOf(markdown: string): Line[] {
  let fence: string | null = null;
  return markdown
    .replace(/\n$/, '')
    .split('\n')
    .map((text, i) => {
      const marker = /^\s*(`{3,}|~{3,})/.exec(text)?.[1];
      if (marker && (fence === null || (marker[0] === fence[0] && marker.length >= fence.length))) {
        const opening = fence === null;
        fence = opening ? marker : null;
        return { number: i + 1, text, code: true };
      }
      return { number: i + 1, text, code: fence !== null };
    });
}

const withoutCodeSpans = (text: string) => text.replace(/(`+)[^`]*?\1/g, '');

/** GitHub's heading ids (github-slugger): lower case, punctuation and symbols dropped, spaces to hyphens. */
function headingIds(markdown: string): Set<string> {
  const ids = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of linesOf(markdown)) {
    if (line.code) continue;
    for (const m of line.text.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) ids.add(m[1]!);
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line.text);
    if (!heading) continue;
    const text = heading[1]!
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/<[^>]+>/g, '')
      .replace(/[`*]/g, '');
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    ids.add(n === 0 ? base : `${base}-${n}`);
  }
  return ids;
}

interface Link {
  file: string;
  line: number;
  target: string;
}

function linksIn(file: string, markdown: string): Link[] {
  const links: Link[] = [];
  for (const line of linesOf(markdown)) {
    if (line.code) continue;
    const text = withoutCodeSpans(line.text);
    for (const m of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      links.push({ file, line: line.number, target: m[1]! });
    }
    const definition = /^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/.exec(text);
    if (definition) links.push({ file, line: line.number, target: definition[1]! });
    for (const m of text.matchAll(/<(?:a|img)\s[^>]*(?:href|src)="([^"]+)"/g)) {
      links.push({ file, line: line.number, target: m[1]! });
    }
  }
  return links;
}

const idsCache = new Map<string, Set<string>>();
const idsOf = (file: string) => {
  let ids = idsCache.get(file);
  if (!ids) {
    ids = headingIds(readFileSync(file, 'utf8'));
    idsCache.set(file, ids);
  }
  return ids;
};

/** Why a link does not resolve, or null when it does. External links are not checked. */
function problemWith(link: Link): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(link.target)) return null;
  const [rawPath, anchor] = link.target.split('#', 2) as [string, string | undefined];
  const path = decodeURIComponent(rawPath);
  const target = path === '' ? link.file : resolve(dirname(link.file), path);
  const rel = relative(ROOT, target);
  if (rel.startsWith('..') || rel.startsWith(sep) || resolve(ROOT, rel) !== target) {
    return 'points outside the repository';
  }
  if (!inClone(target)) return `${rel} is not in the repository`;
  if (anchor !== undefined && anchor !== '' && target.endsWith('.md') && statSync(target).isFile()) {
    if (!idsOf(target).has(decodeURIComponent(anchor))) return `${rel} has no heading #${anchor}`;
  }
  return null;
}

describe('documentation links', () => {
  it('finds the documentation files', () => {
    expect(DOCS.map((f) => relative(ROOT, f))).toEqual(
      expect.arrayContaining(['README.md', 'CONTRIBUTING.md', join('docs', 'README.md')]),
    );
  });

  it('every relative link in README.md, CONTRIBUTING.md and docs/ resolves inside the repository', () => {
    const broken = DOCS.flatMap((file) => linksIn(file, readFileSync(file, 'utf8')))
      .map((link) => ({ link, problem: problemWith(link) }))
      .filter((x) => x.problem !== null)
      .map(({ link, problem }) => `${relative(ROOT, link.file)}:${link.line}: (${link.target}) ${problem}`);
    expect(broken).toEqual([]);
  });
});

describe('README.md', () => {
  const lines = linesOf(readFileSync(join(ROOT, 'README.md'), 'utf8'));

  it(`is at most ${README_MAX_LINES} lines`, () => {
    expect(lines.length).toBeLessThanOrEqual(README_MAX_LINES);
  });

  it(`has no line over ${README_MAX_LINE_CHARS} characters outside code blocks`, () => {
    const long = lines
      .filter((l) => !l.code && [...l.text].length > README_MAX_LINE_CHARS)
      .map((l) => `README.md:${l.number} (${[...l.text].length} characters)`);
    expect(long).toEqual([]);
  });
});

describe('the link checker itself', () => {
  it('derives GitHub heading ids, duplicates numbered', () => {
    const ids = headingIds(
      '# Usage and audit pipeline\n## `X-Cache` values\n## Tests\n## Tests\n```\n# not a heading\n```\n',
    );
    expect([...ids]).toEqual(['usage-and-audit-pipeline', 'x-cache-values', 'tests', 'tests-1']);
  });

  it('ignores links inside code', () => {
    const file = join(ROOT, 'README.md');
    const fake =
      '`[a](missing.md)`\n```\n[b](missing.md)\n```\n[c](docs/README.md) [d](#x "title")\n[e]: ./x.md\n';
    expect(linksIn(file, fake).map((l) => l.target)).toEqual(['docs/README.md', '#x', './x.md']);
  });

  it('reports targets outside the repository, missing files and missing headings', () => {
    const file = join(ROOT, 'README.md');
    expect(problemWith({ file, line: 1, target: 'docs/README.md' })).toBeNull();
    expect(problemWith({ file, line: 1, target: '../shared/docs/ARCHITECTURE.md' })).toBe(
      'points outside the repository',
    );
    expect(problemWith({ file, line: 1, target: 'docs/nope.md' })).toMatch(/not in the repository/);
    expect(problemWith({ file, line: 1, target: '#no-such-heading' })).toMatch(/has no heading/);
  });
});
