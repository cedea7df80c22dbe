import { describe, expect, it } from 'vitest';
import { startChild, waitForHttp } from '../../../../scripts/dev/stack/child.ts';
import { groupAlive, groupGone } from '../../../support/process-state.ts';

// A parent that starts a grandchild and prints its pid, then idles; optionally deaf to SIGTERM.
const script = (ignoreTerm: boolean) => `
  const { spawn } = require('node:child_process');
  ${ignoreTerm ? "process.on('SIGTERM', () => {});" : ''}
  const g = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)"], { stdio: 'ignore' });
  console.log('grandchild ' + g.pid);
  setInterval(() => {}, 1000);
`;

async function firstLine(lines: string[]): Promise<string> {
  for (let i = 0; i < 200 && lines.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
  return lines[0] ?? '';
}

/** The test script as a child, its prefixed output collected in `lines`. */
function start(name: string, ignoreSigterm: boolean) {
  const lines: string[] = [];
  const child = startChild({
    name,
    command: process.execPath,
    args: ['-e', script(ignoreSigterm)],
    env: process.env,
    write: (l) => lines.push(l),
  });
  return { child, lines };
}

describe('startChild', () => {
  it('prefixes output lines and stop() ends the whole process group, grandchildren included', async () => {
    const { child, lines } = start('demo', false);
    expect(await firstLine(lines)).toMatch(/^\[demo\] grandchild \d+\n$/);
    expect(groupAlive(child.pid)).toBe(true);
    await child.stop(5_000);
    expect(await groupGone(child.pid)).toBe(true);
  });

  it('escalates to SIGKILL after the grace period for a child that ignores SIGTERM', async () => {
    const { child, lines } = start('deaf', true);
    await firstLine(lines);
    const code = await child.stop(200);
    expect(code).toBe(128 + 9);
    expect(await groupGone(child.pid)).toBe(true);
  });

  it('waitForHttp gives up as soon as the child it waits for has exited, with its exit code', async () => {
    const child = startChild({
      name: 'quitter',
      command: process.execPath,
      args: ['-e', 'process.exit(3)'],
      env: process.env,
      write: () => {},
    });
    await child.exited;
    await expect(waitForHttp('http://127.0.0.1:9/never', { child, timeoutMs: 60_000 })).rejects.toThrow(
      'quitter exited with code 3 during start-up',
    );
  });
});
