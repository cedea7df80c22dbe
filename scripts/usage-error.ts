/**
 * Bad command-line usage: the scripts that take arguments (the CLI, the simulator) print it with their usage
 * line and exit 2.
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
