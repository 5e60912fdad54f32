/**
 * Starts the benches' devnet in a process of its own (devnet-process.ts), as a node runs, so that its CPU is read
 * off /proc apart from the load generator's and the facilitator's.
 * @module
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export type DevnetProcess = { readonly url: string; readonly pid: number; stop(): Promise<void> };

/** Forks devnet-process.ts with `accounts` genesis accounts and waits until it listens. */
export async function startDevnetProcess(accounts: number): Promise<DevnetProcess> {
  const child = fork(
    fileURLToPath(new URL('./devnet-process.ts', import.meta.url)),
    [String(accounts)],
    {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const exited = once(child, 'exit');
  const [ready] = (await Promise.race([
    once(child, 'message'),
    exited.then(([code, signal]) => {
      throw new Error(`the devnet exited (${code ?? signal}) before it listened`);
    }),
  ])) as [{ url: string }];
  return {
    url: ready.url,
    pid: child.pid!,
    stop: async () => {
      // A devnet that died has closed its channel (disconnecting again would throw over the error that ended the run).
      if (!child.connected) return;
      child.disconnect();
      await exited.catch(() => undefined);
    },
  };
}
