/** Runs a test fixture as a process of its own, for the tests that need one. */
import { spawn } from 'node:child_process';

/** What a fixture's run left: its exit code, its output, and how long it ran. */
export type FixtureRun = { code: number | null; out: string; err: string; ms: number };

/** A fixture still running after this long is killed (its run then ends with code null): a hang fails, not stalls. */
const KILL_AFTER_MS = 20_000;

/**
 * Runs `node --import tsx <fixture> <args>` to its end.
 * @param options.closeStdout closes this side of its standard output at once, as a reader that went away.
 * @param options.stallStdoutMs reads nothing of its standard output for this long at first, as a reader behind.
 */
export function runFixture(
  fixture: string,
  args: readonly string[],
  options: { closeStdout?: boolean; stallStdoutMs?: number } = {},
): Promise<FixtureRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, ...args]);
  const killer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
  child.once('exit', () => clearTimeout(killer));
  if (options.closeStdout) child.stdout.destroy();
  if (options.stallStdoutMs) {
    child.stdout.pause();
    setTimeout(() => child.stdout.resume(), options.stallStdoutMs);
  }
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
