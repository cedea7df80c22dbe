import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  CONFIG_SECTIONS,
  isObjectSchema,
  REFERENCE_PATH,
  renderConfigReference,
} from '../../../scripts/docs/config-reference.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const documented = new Set(CONFIG_SECTIONS.map((s) => s.schemaName));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('configuration reference (npm run docs:config)', () => {
  it('the committed docs/reference/configuration.md is what the schemas generate', () => {
    const committed = readFileSync(join(ROOT, REFERENCE_PATH), 'utf8');
    // A stale reference: run `npm run docs:config` and commit the result.
    expect(committed).toBe(renderConfigReference());
  });

  it('documents every object schema that shared/config exports', async () => {
    const dir = join(ROOT, 'shared/config');
    const missing: string[] = [];
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const module = (await import(join(dir, file))) as Record<string, unknown>;
      for (const [name, value] of Object.entries(module)) {
        if (isObjectSchema(value) && !documented.has(name)) missing.push(`${file}: ${name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('documents every schema a process reads its configuration with (loadConfig)', () => {
    const read = new Set<string>();
    for (const top of ['workers', 'origin', 'shared', 'drizzle', 'scripts', 'bench']) {
      for (const file of sourceFiles(join(ROOT, top))) {
        for (const m of readFileSync(file, 'utf8').matchAll(/\bloadConfig\(\s*(\w+)/g)) {
          if (m[1] !== 'schema') read.add(`${m[1]} (${relative(ROOT, file)})`);
        }
      }
    }
    expect(read.size).toBeGreaterThan(5);
    expect([...read].filter((entry) => !documented.has(entry.split(' ')[0]!))).toEqual([]);
  });

  it('gives every field a description, a type and a default column', () => {
    const rows = renderConfigReference()
      .split('## Read outside these schemas')[0]!
      .split('\n')
      .filter((l) => l.startsWith('| `'));
    expect(rows.length).toBeGreaterThan(150);
    for (const row of rows) {
      const cells = row.split(/(?<!\\)\|/).slice(1, -1);
      expect(cells, row).toHaveLength(4);
      expect(
        cells.every((c) => c.trim() !== ''),
        row,
      ).toBe(true);
    }
  });

  it('refuses a field without .describe()', async () => {
    const { CONFIG_SECTIONS: sections, renderConfigReference: render } = await import(
      '../../../scripts/docs/config-reference.ts'
    );
    const extra = { ...sections[0]!, schema: z.object({ UNDOCUMENTED: z.string().optional() }) };
    sections.push(extra);
    try {
      expect(() => render()).toThrow(/UNDOCUMENTED has no \.describe\(\)/);
    } finally {
      sections.pop();
    }
  });
});
