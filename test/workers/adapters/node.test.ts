import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileLastKnownStore } from '../../../workers/adapters/node.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'aiserve-last-known-'));
  dirs.push(dir);
  return join(dir, 'nested', 'state');
}

describe('fileLastKnownStore (the last-known store under Node)', () => {
  it('a store opened later on the same directory (a restarted process) reads what an earlier one wrote', async () => {
    const dir = await freshDir();
    await fileLastKnownStore(dir).put('fleet-abc', '{"x":1}', 60);
    expect(await fileLastKnownStore(dir).get('fleet-abc')).toBe('{"x":1}');
    expect(await fileLastKnownStore(dir).get('fleet-other')).toBeNull();
    // Written by rename: no temporary file is left behind.
    expect(await readdir(dir)).toEqual(['fleet-abc.json']);
  });

  it('an entry past its lifetime, or a malformed file, reads as none', async () => {
    const dir = await freshDir();
    let now = 1_000_000;
    const store = fileLastKnownStore(dir, () => now);
    await store.put('k', 'v', 10);
    now += 9_999;
    expect(await store.get('k')).toBe('v');
    now += 2;
    expect(await store.get('k')).toBeNull();
    await writeFile(join(dir, 'bad.json'), '{not json');
    expect(await store.get('bad')).toBeNull();
    await writeFile(join(dir, 'odd.json'), '{"expiresAt":"soon","value":1}');
    expect(await store.get('odd')).toBeNull();
  });

  it('keeps keys inside its directory whatever they contain', async () => {
    const dir = await freshDir();
    const store = fileLastKnownStore(dir);
    await store.put('../../escape/key', 'v', 60);
    expect(await readdir(dir)).toEqual(['.._.._escape_key.json']);
    expect(await store.get('../../escape/key')).toBe('v');
  });
});
