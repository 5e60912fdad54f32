/**
 * Checks that a service process listens for a stop before it prints the line that says it is ready.
 * @module
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const PRELOAD = fileURLToPath(new URL('./ready-signals.cjs', import.meta.url));
/** What the probe writes just before it sends the signal. */
const SENT = 'x402-ready-signals: SIGTERM sent';

/** How a process sent SIGTERM on its ready line ended. */
export type StoppedAtReady = {
  /** Its exit code; null when the signal killed it. */
  readonly code: number | null;
  /** The signal that killed it; null when it exited. */
  readonly signal: NodeJS.Signals | null;
  /** Its stdout and stderr, interleaved. */
  readonly output: string;
  /** Whether the probe saw the ready line and sent the signal. */
  readonly signalled: boolean;
};

/**
 * Runs `node --require <probe> <args>`, which sends itself SIGTERM the moment it writes a line matching `ready`, and
 * resolves with how it ended. A process that set its SIGTERM handler before that line exits with a code of its own; one
 * that set it after is killed by the signal. Gives up, killing the process, after `timeoutMs`.
 * @example
 * ```ts
 * const ended = await stopAtReadyLine(['--import', 'tsx', main], /on http:\/\//, env);
 * assert.equal(ended.signal, null);
 * ```
 */
export async function stopAtReadyLine(
  args: readonly string[],
  ready: RegExp,
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<StoppedAtReady> {
  const child = spawn(process.execPath, ['--require', PRELOAD, ...args], {
    env: { ...process.env, ...env, X402_READY_LINE: ready.source, X402_READY_FLAGS: ready.flags },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await new Promise<StoppedAtReady>((resolve, reject) => {
      timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`still running after ${timeoutMs} ms: ${output}`));
      }, timeoutMs);
      child.once('close', (code, signal) =>
        resolve({ code, signal, output, signalled: output.includes(SENT) }),
      );
    });
  } finally {
    clearTimeout(timer);
  }
}
