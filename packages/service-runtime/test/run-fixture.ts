/** Runs a test fixture as a process of its own, for the tests that need one. */
import { spawn } from 'node:child_process';

/** What a fixture's run left: its exit code, its output, and how long it ran. */
export type FixtureRun = { code: number | null; out: string; err: string; ms: number };

/**
 * Runs `node --import tsx <fixture> <args>` to its end.
 * @param options.closeStdout closes this side of its standard output at once, as a reader that went away.
 */
export function runFixture(
  fixture: string,
  args: readonly string[],
  options: { closeStdout?: boolean } = {},
): Promise<FixtureRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, ...args]);
  if (options.closeStdout) child.stdout.destroy();
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const started = performance.now();
  return new Promise((resolve) =>
    child.once('close', (code) => resolve({ code, out, err, ms: performance.now() - started })),
  );
}
