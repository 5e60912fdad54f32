/** The body of a `/verify` or `/settle` call that the service tests send. */
import type { StacksAccount } from 'x402-stacks';
import { createPaymentTransaction } from 'x402-stacks/stacks';

/**
 * A `/verify` or `/settle` body: an STX `exact` payment of `payer` to `payTo` on testnet, signed at `nonce`.
 * @example
 * ```ts
 * const body = await stxPaymentBody({ payer, payTo: seller, nonce: 0n });
 * ```
 */
export async function stxPaymentBody(options: {
  payer: StacksAccount;
  payTo: string;
  nonce: bigint;
  amount?: string;
  fee?: bigint;
}) {
  const paymentRequirements = {
    scheme: 'exact',
    network: 'stacks:2147483648',
    amount: options.amount ?? '1000',
    asset: 'STX',
    payTo: options.payTo,
    maxTimeoutSeconds: 300,
  };
  const { transaction } = await createPaymentTransaction({
    account: options.payer,
    requirements: paymentRequirements,
    nonce: options.nonce,
    fee: options.fee ?? 400n,
  });
  return {
    x402Version: 2,
    paymentPayload: { x402Version: 2, accepted: paymentRequirements, payload: { transaction } },
    paymentRequirements,
  };
}
