/**
 * Checks that a service process listens for SIGINT and SIGTERM before it prints the line that says it is ready.
 * @module
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const PRELOAD = fileURLToPath(new URL('./ready-signals.cjs', import.meta.url));

/**
 * Runs `node --require <probe> <args>` until it writes a line matching `ready`, then ends it, and resolves with the
 * SIGINT and SIGTERM listener counts it had when it wrote that line.
 * @example
 * ```ts
 * const counts = await signalListenersWhenReady(['--import', 'tsx', main], /on http:\/\//, env);
 * assert.ok(counts.SIGTERM > 0);
 * ```
 */
export async function signalListenersWhenReady(
  args: readonly string[],
  ready: RegExp,
  env: Record<string, string> = {},
): Promise<{ SIGINT: number; SIGTERM: number }> {
  const child = spawn(process.execPath, ['--require', PRELOAD, ...args], {
    env: { ...process.env, ...env, X402_READY_LINE: ready.source },
  });
  let output = '';
  try {
    return await new Promise((resolve, reject) => {
      const read = (chunk: Buffer) => {
        output += chunk.toString();
        const told = /x402-ready-signals: SIGINT=(\d+) SIGTERM=(\d+)/.exec(output);
        if (told) resolve({ SIGINT: Number(told[1]), SIGTERM: Number(told[2]) });
      };
      child.stdout.on('data', read);
      child.stderr.on('data', read);
      child.once('exit', (code) =>
        reject(new Error(`exited with ${code} before ready: ${output}`)),
      );
    });
  } finally {
    const closed = new Promise((resolve) => child.once('close', resolve));
    child.kill('SIGKILL');
    await closed;
  }
}
