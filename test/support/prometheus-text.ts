import { expect } from 'vitest';

/** One sample line of the Prometheus text exposition format. */
interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PromFamily {
  name: string;
  type: string;
  help: string;
  samples: PromSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new Error(`bad labels in: ${line}`);
    const name = text.slice(i, eq).trim();
    if (!LABEL_NAME.test(name)) throw new Error(`bad label name "${name}" in: ${line}`);
    if (text[eq + 1] !== '"') throw new Error(`unquoted label value in: ${line}`);
    let value = '';
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j += 1) {
      if (text[j] === '\\') {
        const next = text[j + 1];
        value += next === 'n' ? '\n' : next;
        j += 1;
      } else {
        value += text[j];
      }
    }
    if (text[j] !== '"') throw new Error(`unterminated label value in: ${line}`);
    if (name in labels) throw new Error(`label "${name}" twice in: ${line}`);
    labels[name] = value;
    i = j + 1;
    if (text[i] === ',') i += 1;
  }
  return labels;
}

function parseValue(text: string, line: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  const value = Number(text);
  if (text === '' || Number.isNaN(value)) throw new Error(`bad value in: ${line}`);
  return value;
}

/** The family a sample belongs to: a histogram's `_bucket`, `_sum` and `_count` belong to its base name. */
function familyOf(name: string, families: Map<string, PromFamily>): PromFamily | undefined {
  const exact = families.get(name);
  if (exact) return exact;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  const family = families.get(base);
  return family?.type === 'histogram' ? family : undefined;
}

/**
 * Parses the text format strictly (a test's check that Prometheus could read it): every sample belongs to a
 * family declared by `# TYPE` before it, names and labels are well-formed, values are numbers, no series
 * twice.
 */
export function parsePrometheusText(text: string): Map<string, PromFamily> {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a line feed');
  const families = new Map<string, PromFamily>();
  const help = new Map<string, string>();
  const seen = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ')) {
      const [name, ...rest] = line.slice(7).split(' ');
      help.set(name!, rest.join(' '));
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      if (!METRIC_NAME.test(name!)) throw new Error(`bad metric name in: ${line}`);
      if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type!)) throw new Error(line);
      if (families.has(name!)) throw new Error(`family declared twice: ${line}`);
      families.set(name!, { name: name!, type: type!, help: help.get(name!) ?? '', samples: [] });
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([^{\s]+)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) throw new Error(`unparseable line: ${line}`);
    const name = m[1]!;
    if (!METRIC_NAME.test(name)) throw new Error(`bad metric name in: ${line}`);
    const family = familyOf(name, families);
    if (!family) throw new Error(`sample before (or without) its # TYPE: ${line}`);
    const labels = m[2] === undefined ? {} : parseLabels(m[2], line);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw new Error(`series twice: ${line}`);
    seen.add(key);
    family.samples.push({ name, labels, value: parseValue(m[3]!, line) });
  }
  return families;
}

const withoutLe = (labels: Record<string, string>) =>
  JSON.stringify(
    Object.entries(labels)
      .filter(([k]) => k !== 'le')
      .sort(),
  );

/**
 * Every series of a histogram family: buckets in increasing `le`, non-decreasing counts, the last `le="+Inf"`
 * and equal to `_count`, and a `_sum`. Returns the series (labels without `le`) with their `_count`.
 */
export function expectValidHistogram(
  family: PromFamily,
): { labels: Record<string, string>; count: number }[] {
  expect(family.type).toBe('histogram');
  const series = new Map<
    string,
    { labels: Record<string, string>; buckets: PromSample[]; sum?: number; count?: number }
  >();
  for (const s of family.samples) {
    const id = withoutLe(s.labels);
    const entry = series.get(id) ?? {
      labels: Object.fromEntries(Object.entries(s.labels).filter(([k]) => k !== 'le')),
      buckets: [],
    };
    if (s.name.endsWith('_bucket')) entry.buckets.push(s);
    else if (s.name.endsWith('_sum')) entry.sum = s.value;
    else if (s.name.endsWith('_count')) entry.count = s.value;
    series.set(id, entry);
  }
  for (const s of series.values()) {
    const les = s.buckets.map((b) => parseValue(b.labels.le ?? '', 'le'));
    expect(les, 'buckets in increasing le').toEqual([...les].sort((a, b) => a - b));
    expect(s.buckets.at(-1)?.labels.le).toBe('+Inf');
    const counts = s.buckets.map((b) => b.value);
    expect(counts, 'cumulative bucket counts').toEqual([...counts].sort((a, b) => a - b));
    expect(s.count).toBe(s.buckets.at(-1)?.value);
    expect(s.sum).toBeGreaterThanOrEqual(0);
  }
  return [...series.values()].map((s) => ({ labels: s.labels, count: s.count ?? 0 }));
}

/** The sum of a family's samples whose labels include `match`. */
export function sumOf(
  family: PromFamily | undefined,
  match: Record<string, string> = {},
  sampleName?: string,
): number {
  return (family?.samples ?? [])
    .filter(
      (s) =>
        (sampleName === undefined || s.name === sampleName) &&
        Object.entries(match).every(([k, v]) => s.labels[k] === v),
    )
    .reduce((a, s) => a + s.value, 0);
}
