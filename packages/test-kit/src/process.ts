/** Running a service as a child process in tests: spawn it, wait for the URL it prints, stop it with a signal. */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';

export type RunningProcess = {
  readonly url: string;
  readonly child: ChildProcessWithoutNullStreams;
  /** Everything printed to stdout so far. */
  output(): string;
  /** Sends the signal and resolves with the exit code. */
  stop(signal: NodeJS.Signals): Promise<number | null>;
};

/** Spawns `node <args>` and resolves once it prints `on http://…`; rejects if it exits first. */
export async function startProcess(
  args: string[],
  env: Record<string, string>,
): Promise<RunningProcess> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env } });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /on (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`exited early with ${code}: ${output}`)));
  });
  return {
    url,
    child,
    output: () => output,
    stop(signal) {
      // 'close', not 'exit': by then its last output has been read, which the caller may check.
      const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
      child.kill(signal);
      return exited;
    },
  };
}
