/**
 * Output and exit codes shared by the commands.
 * @module
 */

/** Where a command writes: each call is one or more whole lines. */
export type Io = {
  out(text: string): void;
  err(text: string): void;
};

export const processIo: Io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

/** The exit code for a usage error: an unknown command, an unknown flag, a bad flag value. */
export const EXIT_USAGE = 2;

/**
 * A flag, argument or input file the user got wrong; its message is shown as is, followed by a pointer to `--help`.
 * `reason` is a stable snake_case code for scripts (`--json`): `usage_error` unless a more precise one applies.
 */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly reason: string;
  constructor(message: string, reason = 'usage_error') {
    super(message);
    this.reason = reason;
  }
}
