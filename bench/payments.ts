/**
 * Signed STX payments for the benches that settle on the devnet: every payer's nonces handed out in order, so that
 * each payment is valid when it reaches the chain.
 * @module
 */
import type { StacksAccount } from 'x402-stacks';
import { createPaymentTransaction } from 'x402-stacks/stacks';

/** The terms of the benches' payments. */
export type Requirements = {
  readonly scheme: 'exact';
  readonly network: 'stacks:2147483648';
  readonly amount: string;
  readonly asset: 'STX';
  readonly payTo: string;
  readonly maxTimeoutSeconds: number;
};

/**
 * An STX payment of 1,000 µSTX to `payTo` on the devnet's network.
 * @example
 * ```ts
 * const requirements = paymentRequirements(genesisAccounts(2)[1]!.address);
 * ```
 */
export function paymentRequirements(payTo: string): Requirements {
  return {
    scheme: 'exact',
    network: 'stacks:2147483648',
    amount: '1000',
    asset: 'STX',
    payTo,
    maxTimeoutSeconds: 300,
  };
}

/** An x402 v2 payment payload, as a buyer sends it. */
export type Payment = {
  readonly x402Version: 2;
  readonly accepted: Requirements;
  readonly payload: { readonly transaction: string };
};

/** Signs the benches' payments, each payer's at its next nonce. */
export type PaymentSigner = {
  /**
   * `count` fresh payments, payers interleaved so that concurrent requests are almost always of different payers (a
   * payer's next one is `payers.length` places further on), each payer's in nonce order. Every nonce taken is in the
   * list: the caller must send them all, in order, or the payer's later payments stay pending for good.
   */
  fresh(payers: readonly StacksAccount[], count: number): Promise<Payment[]>;
  /** One payment per payer at its next nonce, which stays untaken: valid now, for verifying only. */
  verifiable(payers: readonly StacksAccount[]): Promise<Payment[]>;
};

/**
 * A signer of payments under `requirements`, which keeps each payer's next nonce (from 0, the devnet's genesis).
 * @example
 * ```ts
 * const signer = createPaymentSigner(paymentRequirements(seller));
 * const settleBodies = await signer.fresh(payers, 1_000);
 * ```
 */
export function createPaymentSigner(requirements: Requirements): PaymentSigner {
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
    fresh(payers: readonly StacksAccount[], count: number): Promise<Payment[]> {
      const taken = Array.from({ length: count }, (_, i) => {
        const payer = payers[i % payers.length]!;
        const nonce = nonceOf(payer);
        nextNonce.set(payer.address, nonce + 1n);
        return sign(payer, nonce);
      });
      return Promise.all(taken);
    },
    verifiable(payers: readonly StacksAccount[]): Promise<Payment[]> {
      return Promise.all(payers.map((payer) => sign(payer, nonceOf(payer))));
    },
  };
}
