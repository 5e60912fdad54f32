/**
 * The faults of a chaos run, each on its own random clock until the load phase ends:
 * - SIGKILL of one facilitator process (only while every process is up), restarted 0.5–1.5 s later;
 * - a drop of one random pending transaction (`dropped_stale_garbage_collect`), as a node's mempool may do;
 * - a short stall of mining (1–2.5 s), as a slow block would.
 */
import type { RunContext } from './run-context.js';

export type FaultCounts = { kills: number; drops: number; stalls: number };

/** No fault loop runs more rounds than this, however long the run. */
const MAX_ROUNDS = 10_000;

export async function runFaults(context: RunContext): Promise<FaultCounts> {
  const counts: FaultCounts = { kills: 0, drops: 0, stalls: 0 };
  const { chain } = context.devnet;
  const { random, stop } = context;

  const kills = async () => {
    for (let round = 0; round < MAX_ROUNDS && !stop.stopped; round++) {
      await stop.sleep(random.between(3_000, 7_000));
      if (stop.stopped) break;
      if (context.cluster.killOne(Math.floor(random.next() * 2), random.between(500, 1_500)))
        counts.kills++;
    }
  };
  const drops = async () => {
    for (let round = 0; round < MAX_ROUNDS && !stop.stopped; round++) {
      await stop.sleep(random.between(1_000, 3_000));
      const pending = chain.mempool;
      if (stop.stopped || pending.length === 0) continue;
      if (chain.injectFault(random.pick(pending).admitted.txid, { kind: 'drop' })) counts.drops++;
    }
  };
  const stalls = async () => {
    for (let round = 0; round < MAX_ROUNDS && !stop.stopped; round++) {
      await stop.sleep(random.between(5_000, 10_000));
      if (stop.stopped) break;
      chain.stall(true);
      counts.stalls++;
      await stop.sleep(random.between(1_000, 2_500));
      chain.stall(false);
    }
    chain.stall(false);
  };
  await Promise.all([kills(), drops(), stalls()]);
  return counts;
}
