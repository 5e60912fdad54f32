/**
 * The buyer's side of batch-settlement under `@x402/core`'s `x402Client`. It is the `exact` client role
 * (`createClientRole`) over a payer given the `batch` option, so each payload comes from the library's batch buyer
 * (`createBatchBuyer`): a voucher when the buyer's channel holds enough, else one sponsored deposit within the deposit
 * cap, the channel state kept in the buyer's store. A corrective 402 that the buyer can check (a voucher it signed
 * backs the seller's total) resynchronises the channel, and the response hook answers `{ recovered: true }` so the
 * stock transport pays the same challenge once more, from the corrected total.
 * @module
 */
import type { BatchPaymentOption } from '../client/batch/batch-option.js';
import type { StacksAccount } from '../stacks/accounts.js';
import { type ClientRole, type ClientRoleOptions, createClientRole } from './client-role.js';
import { ExactStacksSchemeError } from './errors.js';

/**
 * Options of the batch-settlement client role: the payer's options (spending policy, budget store, hooks) and the
 * channel's `depositCap` and `store`, as the payer's `batch` option names them.
 * @example
 * ```ts
 * const options: BatchClientRoleOptions = { depositCap: { STX: 100_000n }, escrows: [escrow], maxAmount: { STX: 10_000n } };
 * ```
 */
export type BatchClientRoleOptions = Omit<ClientRoleOptions, 'batch'> & BatchPaymentOption;

/** batch-settlement: a payload is told apart by its voucher's signature (a deposit carries one too). */
const BATCH_CLIENT_SCHEME = {
  name: 'batch-settlement',
  paymentKey: (payload: Record<string, unknown>) => {
    const signature = (payload.voucher as { signature?: unknown } | undefined)?.signature;
    return typeof signature === 'string' ? signature : undefined;
  },
};

/**
 * Creates the batch-settlement client role of one account.
 * @throws {ExactStacksSchemeError} `invalid_payer_options` without a `depositCap`, or with a `batch` option (the cap
 * and store are given at the top level here).
 * @throws {PayerOptionsError} for a cap, store or payer option the payer cannot use.
 * @example
 * ```ts
 * const role = createBatchClientRole(privateKeyToAccount(key, 'testnet'), { depositCap: { STX: 100_000n }, escrows: [escrow] });
 * ```
 */
export function createBatchClientRole(
  account: StacksAccount,
  options: BatchClientRoleOptions,
): ClientRole {
  const { depositCap, escrows, store, ...paymentOptions } =
    options ?? ({} as BatchClientRoleOptions);
  if ('batch' in paymentOptions) {
    throw new ExactStacksSchemeError(
      'invalid_payer_options',
      'give depositCap and store at the top level of the batch-settlement client options, not under batch',
    );
  }
  if (typeof depositCap !== 'object' || depositCap === null) {
    throw new ExactStacksSchemeError(
      'invalid_payer_options',
      'the batch-settlement client needs depositCap, the most one deposit may lock per asset: { STX: 100_000n }',
    );
  }
  return createClientRole(
    account,
    { ...paymentOptions, batch: { depositCap, escrows, ...(store ? { store } : {}) } },
    BATCH_CLIENT_SCHEME,
  );
}
