/**
 * Starts a built facilitator (a `main.js` of apps/facilitator) as operators run it, and stops it.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';

/** How long a service may take to print the banner that names its URL. */
const BANNER_MS = 60_000;

export type ServiceProcess = {
  readonly url: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
};

/**
 * Spawns `node [nodeArgs] main` with `env` over this process's, and waits for the banner that names its URL. Its
 * output is read to the end, as a log shipper would, so it never blocks on a full pipe.
 */
export async function startService(
  main: string,
  env: Record<string, string>,
  nodeArgs: readonly string[] = [],
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [...nodeArgs, main], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let banner: string | undefined = '';
  const url = await new Promise<string>((resolve, reject) => {
    const fail = (error: Error) => {
      clearTimeout(late);
      reject(error);
    };
    const late = setTimeout(() => {
      fail(new Error(`the facilitator printed no banner within ${BANNER_MS / 1000} s`));
      child.kill('SIGKILL');
    }, BANNER_MS);
    child.stdout!.on('data', (chunk: Buffer) => {
      if (banner === undefined) return; // past the banner: drain the request logs
      banner += chunk.toString();
      const match = /on (http:\/\/\S+)/.exec(banner);
      if (match) {
        banner = undefined;
        clearTimeout(late);
        resolve(match[1]!);
      }
    });
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`the facilitator exited with ${code}`)));
  });
  return {
    url,
    child,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
