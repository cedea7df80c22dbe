import { AppError } from '../../../shared/errors/index.ts';

/** Which versions on disk a model serves (Triton `version_policy`; default `latest 1`). */
export type VersionPolicy =
  | { kind: 'latest'; numVersions: number }
  | { kind: 'all' }
  | { kind: 'specific'; versions: number[] };

/** The versions a policy serves out of those on disk (ascending). A `specific` version missing on disk is an error. */
export function selectVersions(
  policy: VersionPolicy,
  available: readonly number[],
  model = 'model',
): number[] {
  const sorted = [...new Set(available)].sort((a, b) => a - b);
  switch (policy.kind) {
    case 'all':
      return sorted;
    case 'latest':
      return sorted.slice(Math.max(0, sorted.length - policy.numVersions));
    case 'specific': {
      const missing = policy.versions.filter((v) => !sorted.includes(v));
      if (missing.length > 0) {
        throw new AppError(
          'MODEL_LOAD_FAILED',
          `model '${model}': version_policy.specific lists version${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not found on disk`,
        );
      }
      return [...policy.versions];
    }
  }
}
