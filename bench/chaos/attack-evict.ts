/**
 * Replace-by-fee eviction: the attacker gets a sponsored payment broadcast, then sends the devnet directly a
 * self-paid transfer on the same origin nonce with a higher fee. The node drops the sponsored transaction, leaving a
 * hole at its sponsor nonce that every later transaction of that key waits behind until the nonce is reused or filled.
 */
import { makeSTXTokenTransfer } from '@stacks/transactions';
import { type AttackTally, attackTally, recordAttack } from './attack-tally.js';
import { freshAccount, signPayment, sponsoredRequirements } from './payments.js';
import type { RunContext } from './run-context.js';
import { settleVia } from './settle-client.js';
import { sleep } from './stop-signal.js';

const PRICE = 1_000n;
const MAX_ROUNDS = 500;
/** How long to watch the mempool for the sponsored transaction, in 25 ms looks. */
const WATCH_LOOKS = 200;

export type EvictTally = AttackTally & { evicted: number };

export async function runEvict(context: RunContext): Promise<EvictTally> {
  const tally: EvictTally = { ...attackTally('evict'), evicted: 0 };
  const { chain } = context.devnet;
  for (let round = 0; round < MAX_ROUNDS && !context.stop.stopped; round++) {
    const attacker = freshAccount();
    chain.fund(attacker.address, { stx: 1_000_000n });
    const requirements = sponsoredRequirements('STX', PRICE, context.seller, context.namedSponsor);
    const payment = await signPayment(attacker, requirements, 0n);
    const settling = settleVia(context, payment.body, 15_000);
    let sponsoredFee: bigint | undefined;
    for (let look = 0; look < WATCH_LOOKS && sponsoredFee === undefined; look++) {
      sponsoredFee = chain.mempool.find(
        (record) => record.admitted.origin === attacker.address && record.admitted.sponsor,
      )?.admitted.fee;
      if (sponsoredFee === undefined) await sleep(25);
    }
    if (sponsoredFee !== undefined) {
      const replacement = await makeSTXTokenTransfer({
        recipient: context.seller,
        amount: 1n,
        senderKey: attacker.privateKey,
        network: 'testnet',
        nonce: 0n,
        fee: sponsoredFee + 10_000n,
      });
      if (chain.broadcast(replacement.serializeBytes()).accepted) tally.evicted++;
    }
    recordAttack(tally, await settling);
    await context.stop.sleep(context.random.between(1_000, 2_500));
  }
  return tally;
}
