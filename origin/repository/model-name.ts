import { AppError } from '../../shared/errors/index.ts';

/**
 * A model is a directory directly under the repository root: a name that could leave it (`..`, a slash) or that
 * the file system cannot hold (NUL) is refused before any path is built from it.
 */
export function checkModelName(name: string): void {
  if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    throw new AppError(
      'INVALID_REQUEST',
      `${JSON.stringify(name)} is not a model name: a model is one directory of the repository (no '/', '\\' or '..')`,
    );
  }
}
