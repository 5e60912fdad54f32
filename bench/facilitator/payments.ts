/**
 * Signed payments for the facilitator benches: every payer's nonces handed out in order, so that each payment is
 * valid when it reaches the chain.
 * @module
 */
import type { StacksAccount } from 'x402-stacks';
import { createPaymentTransaction } from 'x402-stacks/stacks';

/** An STX payment of 1,000 µSTX to `payTo` on the devnet's network. */
export function paymentRequirements(payTo: string) {
  return {
    scheme: 'exact',
    network: 'stacks:2147483648',
    amount: '1000',
    asset: 'STX',
    payTo,
    maxTimeoutSeconds: 300,
  };
}

export type Requirements = ReturnType<typeof paymentRequirements>;
export type Payment = {
  readonly x402Version: 2;
  readonly accepted: Requirements;
  readonly payload: { readonly transaction: string };
};

/**
 * Hands out fresh payments of `payers` in nonce order. A nonce taken is always signed into a payment the caller
 * holds: a payer's nonce left out would hold its later payments pending for good.
 */
export function createPayments(requirements: Requirements) {
  const nextNonce = new Map<string, bigint>();
  const nonceOf = (payer: StacksAccount) => nextNonce.get(payer.address) ?? 0n;

  async function sign(payer: StacksAccount, nonce: bigint): Promise<Payment> {
    const { transaction } = await createPaymentTransaction({
      account: payer,
      requirements,
      nonce,
      fee: 300n,
    });
    return { x402Version: 2, accepted: requirements, payload: { transaction } };
  }

  return {
    /**
     * `count` fresh payments, payers interleaved so that concurrent requests are almost always of different payers (a
     * payer's next one is `payers.length` places further on), each payer's in nonce order.
     */
    fresh(payers: readonly StacksAccount[], count: number): Promise<Payment[]> {
      const taken = Array.from({ length: count }, (_, i) => {
        const payer = payers[i % payers.length]!;
        const nonce = nonceOf(payer);
        nextNonce.set(payer.address, nonce + 1n);
        return sign(payer, nonce);
      });
      return Promise.all(taken);
    },
    /** One payment per payer at its next nonce, which stays untaken: valid now, for verifying only. */
    verifiable(payers: readonly StacksAccount[]): Promise<Payment[]> {
      return Promise.all(payers.map((payer) => sign(payer, nonceOf(payer))));
    },
  };
}
