/**
 * The batch suites' child processes: a facilitator service (`apps/facilitator/src/main.ts`) or a seller
 * (`seller-process.ts`), spawned with `node --import tsx`, ready once it prints the URL it listens on, stopped by
 * signal (SIGKILL for a crash).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The facilitator service's entry point, as `npm start -w @x402-stacks/facilitator` runs it. */
export const FACILITATOR_MAIN = fileURLToPath(
  new URL('../../apps/facilitator/src/main.ts', import.meta.url),
);
/** One seller process. */
export const SELLER_MAIN = fileURLToPath(new URL('./seller-process.ts', import.meta.url));

export type Child = {
  /** The first `http://…` URL the process printed after `on `. */
  readonly url: string;
  /** Everything it printed to stdout. */
  output(): string;
  /** Sends the signal and resolves with the exit code (null when killed). */
  stop(signal: NodeJS.Signals): Promise<number | null>;
};

/** Spawns `node --import tsx <main>` with `env` added, and resolves once it prints `on http://…`. */
export async function startChild(main: string, env: Record<string, string>): Promise<Child> {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, ['--import', 'tsx', main], {
    env: { ...process.env, ...env },
  });
  let output = '';
  let errors = '';
  child.stderr.on('data', (chunk: Buffer) => {
    errors += chunk.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /on (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) =>
      reject(new Error(`${main} exited with ${code}: ${output}${errors}`)),
    );
  });
  let exited: Promise<number | null> | undefined;
  return {
    url,
    output: () => output,
    stop(signal) {
      if (child.exitCode !== null || child.signalCode !== null)
        return Promise.resolve(child.exitCode);
      exited ??= new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      return exited;
    },
  };
}
