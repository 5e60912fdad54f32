/**
 * The capacity flood: fresh addresses, each funded with 1 µSTX, each paying a 1 µSTX price with a sponsored payment,
 * as fast as `floodConcurrency` connections allow. Every payment is valid, so each takes a sponsor nonce and a place
 * in the key's mempool chain (25 per key): the attack is on capacity, not on fees.
 */
import { type AttackTally, attackTally, recordAttack } from './attack-tally.js';
import { freshAccount, signPayment, sponsoredRequirements } from './payments.js';
import type { RunContext } from './run-context.js';
import { settleVia } from './settle-client.js';

/** A flooder does not wait for confirmation: it gives up on an answer after this and sends the next payment. */
const FLOOD_DEADLINE_MS = 3_000;

export async function runFlood(
  context: RunContext,
  concurrency: number,
  maxAddresses: number,
): Promise<AttackTally> {
  const tally = attackTally('flood');
  const requirements = sponsoredRequirements('STX', 1n, context.seller, context.namedSponsor);
  let created = 0;
  const worker = async () => {
    while (!context.stop.stopped && created < maxAddresses) {
      created++;
      const attacker = freshAccount();
      context.devnet.chain.fund(attacker.address, { stx: 1n });
      const payment = await signPayment(attacker, requirements, 0n);
      recordAttack(tally, await settleVia(context, payment.body, FLOOD_DEADLINE_MS));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return tally;
}
