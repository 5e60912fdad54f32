/**
 * The facilitator service as child processes sharing one PostgreSQL schema: started, picked round-robin like a load
 * balancer would, SIGKILLed and restarted on a fresh port. Peak RSS is sampled while each process lives, because a
 * killed process's /proc entry goes with it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { peakRssOfMiB } from '../lib.js';

const main = fileURLToPath(new URL('../../apps/facilitator/src/main.ts', import.meta.url));
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;
const RSS_SAMPLE_MS = 500;

type Slot = {
  child?: ChildProcess;
  url?: string;
  /** The highest VmHWM seen over every incarnation of this slot. */
  peakMiB: number;
  restart?: NodeJS.Timeout;
  /** The exit we caused (kill or stop): any other exit is reported. */
  expectingExit: boolean;
};

export type FacilitatorCluster = {
  /** A live process's base URL, round-robin; undefined while none is up. */
  pick(): string | undefined;
  /** SIGKILLs one live process (only while all are up) and restarts it after `restartAfterMs`. */
  killOne(index: number, restartAfterMs: number): boolean;
  readonly kills: number;
  /** Waits until every slot has a live process (a restart pending), at most `ms`. */
  allUp(ms: number): Promise<boolean>;
  peakRssMiB(): number[];
  /** SIGTERM, then SIGKILL past the deadline. */
  stop(): Promise<void>;
};

export async function startCluster(
  count: number,
  env: Record<string, string>,
): Promise<FacilitatorCluster> {
  const slots: Slot[] = Array.from({ length: count }, () => ({ peakMiB: 0, expectingExit: false }));
  let turn = 0;
  let kills = 0;
  let stopping = false;

  const sample = (slot: Slot) => {
    const pid = slot.child?.pid;
    if (pid === undefined || slot.child?.exitCode !== null) return;
    try {
      const mib = peakRssOfMiB(pid);
      if (mib > slot.peakMiB) slot.peakMiB = mib;
    } catch {
      // Exited between the check and the read: its last sample stands.
    }
  };
  const sampler = setInterval(() => {
    for (const slot of slots) sample(slot);
  }, RSS_SAMPLE_MS);
  sampler.unref();

  async function launch(slot: Slot, index: number): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', main], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    slot.child = child;
    slot.expectingExit = false;
    let stderrTail = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString()).slice(-4_000);
    });
    child.once('exit', (code, signal) => {
      if (slot.child === child) slot.url = undefined;
      if (!slot.expectingExit && !stopping)
        process.stderr.write(
          `  facilitator #${index} exited unexpectedly (${code ?? signal}):\n${stderrTail}\n`,
        );
    });
    let banner: string | undefined = '';
    slot.url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('the facilitator did not start in time')),
        START_TIMEOUT_MS,
      );
      child.stdout!.on('data', (chunk: Buffer) => {
        if (banner === undefined) {
          // Past the banner: drain, as a log shipper would, showing only what the service logged as an error.
          for (const line of chunk.toString().split('\n')) {
            if (line.includes('"level":50'))
              process.stderr.write(`  facilitator #${index}: ${line}\n`);
          }
          return;
        }
        banner += chunk.toString();
        const match = /on (http:\/\/\S+)/.exec(banner);
        if (match) {
          banner = undefined;
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the facilitator exited with ${code} before serving: ${stderrTail}`));
      });
    });
  }

  await Promise.all(slots.map((slot, index) => launch(slot, index)));

  return {
    pick() {
      for (let i = 0; i < slots.length; i++) {
        const slot = slots[turn++ % slots.length]!;
        if (slot.url) return slot.url;
      }
      return undefined;
    },
    killOne(index, restartAfterMs) {
      if (stopping || slots.some((s) => !s.url)) return false;
      const slot = slots[index % slots.length]!;
      sample(slot);
      slot.expectingExit = true;
      slot.url = undefined;
      slot.child!.kill('SIGKILL');
      kills++;
      slot.restart = setTimeout(() => {
        slot.restart = undefined;
        if (!stopping)
          launch(slot, index % slots.length).catch((error: unknown) => {
            if (!stopping) process.stderr.write(`  restart failed: ${String(error)}\n`);
          });
      }, restartAfterMs);
      return true;
    },
    get kills() {
      return kills;
    },
    async allUp(ms) {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        if (slots.every((s) => s.url)) return true;
        await new Promise((r) => setTimeout(r, 100));
      }
      return false;
    },
    peakRssMiB: () => {
      for (const slot of slots) sample(slot);
      return slots.map((s) => s.peakMiB);
    },
    async stop() {
      stopping = true;
      clearInterval(sampler);
      for (const slot of slots) sample(slot);
      await Promise.all(
        slots.map(async (slot) => {
          if (slot.restart) clearTimeout(slot.restart);
          const child = slot.child;
          if (!child || child.exitCode !== null || child.signalCode !== null) return;
          slot.expectingExit = true;
          const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
          await exited;
          clearTimeout(timer);
        }),
      );
    },
  };
}
