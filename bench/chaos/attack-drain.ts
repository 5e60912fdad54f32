/**
 * The drain: a payer holding exactly one payment's amount signs sponsored payments on consecutive nonces and sends
 * them all at once. Only one can pay; every other one the facilitator broadcasts aborts on chain with the sponsor's
 * fee spent. A fresh payer each round, since a payer's failures are limited per window.
 */
import { type AttackTally, attackTally, recordAttack } from './attack-tally.js';
import { freshAccount, signPayment, sponsoredRequirements } from './payments.js';
import type { RunContext } from './run-context.js';
import { settleVia } from './settle-client.js';

const PRICE = 1_000n;
const PAYMENTS_PER_ROUND = 8;
const MAX_ROUNDS = 500;

export async function runDrain(context: RunContext): Promise<AttackTally> {
  const tally = attackTally('drain');
  for (let round = 0; round < MAX_ROUNDS && !context.stop.stopped; round++) {
    const attacker = freshAccount();
    context.devnet.chain.fund(attacker.address, { stx: PRICE });
    const requirements = sponsoredRequirements('STX', PRICE, context.seller, context.namedSponsor);
    const payments = await Promise.all(
      Array.from({ length: PAYMENTS_PER_ROUND }, (_, nonce) =>
        signPayment(attacker, requirements, BigInt(nonce)),
      ),
    );
    const outcomes = await Promise.all(payments.map((p) => settleVia(context, p.body, 15_000)));
    for (const outcome of outcomes) recordAttack(tally, outcome);
    await context.stop.sleep(context.random.between(1_000, 2_500));
  }
  return tally;
}
