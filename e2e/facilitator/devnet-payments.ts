/** A devnet for one suite of engine tests, and `exact` STX payments on it to its second account. */
import { after, before } from 'node:test';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import { PAYMENT_IDENTIFIER } from 'x402-stacks/extensions';
import { createPaymentTransaction } from 'x402-stacks/stacks';

/**
 * Starts a devnet before the suite's tests and stops it after them (call it inside `describe`).
 * @returns the running devnet, the requirements of a payment of `amount`, and a payment of one account at a nonce,
 *   naming a `payment-identifier` id when given one (any value: the engine judges it). Tests paying from accounts
 *   of their own never meet on a nonce.
 * @example
 * ```ts
 * const { devnet, requirements, payment } = devnetPayments(2_500n);
 * test('…', async () => { await facilitator.settle(await payment(2, 0n), requirements()); });
 * ```
 */
export function devnetPayments(amount: bigint) {
  let started: Devnet | undefined;
  before(async () => {
    started = await startDevnet({ port: 0 });
  });
  after(async () => {
    await started?.stop();
  });
  const devnet = (): Devnet => {
    if (!started) throw new Error('the devnet starts before the suite’s first test');
    return started;
  };
  const requirements = () => ({
    scheme: 'exact',
    network: 'stacks:2147483648',
    amount: amount.toString(),
    asset: 'STX',
    payTo: devnet().accounts[1]!.address,
    maxTimeoutSeconds: 300,
  });
  async function payment(payerIndex: number, nonce: bigint, id?: unknown, fee = 400n) {
    const signed = await signedPayment(devnet(), requirements(), { payerIndex, nonce, fee });
    return {
      ...signed.payment,
      ...(id === undefined
        ? {}
        : { extensions: { [PAYMENT_IDENTIFIER]: { info: { required: false, id } } } }),
    };
  }
  return { devnet, requirements, payment };
}

/**
 * A payment of one devnet account (the first by default) under `requirements`, signed at `nonce`, as a settle request
 * carries it, and its txid.
 * @example
 * ```ts
 * const { txid, payment } = await signedPayment(devnet, requirements, { nonce: 0n });
 * ```
 */
export async function signedPayment<
  R extends Parameters<typeof createPaymentTransaction>[0]['requirements'],
>(
  devnet: Devnet,
  requirements: R,
  { payerIndex = 0, nonce, fee = 400n }: { payerIndex?: number; nonce: bigint; fee?: bigint },
) {
  const { transaction, txid } = await createPaymentTransaction({
    account: devnet.accounts[payerIndex]!.account,
    requirements,
    nonce,
    fee,
  });
  return { txid, payment: { x402Version: 2, accepted: requirements, payload: { transaction } } };
}
