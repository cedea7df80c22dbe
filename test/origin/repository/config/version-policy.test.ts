import { describe, expect, it } from 'vitest';
import { selectVersions } from '../../../../origin/repository/config/version-policy.ts';

describe('selectVersions', () => {
  const onDisk = [3, 1, 2, 10];

  it('latest N picks the N highest version numbers', () => {
    expect(selectVersions({ kind: 'latest', numVersions: 1 }, onDisk)).toEqual([10]);
    expect(selectVersions({ kind: 'latest', numVersions: 2 }, onDisk)).toEqual([3, 10]);
    expect(selectVersions({ kind: 'latest', numVersions: 9 }, onDisk)).toEqual([1, 2, 3, 10]);
  });

  it('all picks every version', () => {
    expect(selectVersions({ kind: 'all' }, onDisk)).toEqual([1, 2, 3, 10]);
  });

  it('specific picks the listed versions and fails on one missing from disk', () => {
    expect(selectVersions({ kind: 'specific', versions: [1, 3] }, onDisk)).toEqual([1, 3]);
    expect(() => selectVersions({ kind: 'specific', versions: [4] }, onDisk, 'm')).toThrow(
      /version 4 not found/,
    );
  });
});
