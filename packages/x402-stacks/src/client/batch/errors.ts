/**
 * The batch buyer's own errors, each with a stable snake_case `reason`. None ever holds a key or a signed
 * transaction.
 * @module
 */
import { X402StacksError, type X402StacksErrorOptions } from '../../errors/base.js';

/**
 * Why the buyer's side of batch-settlement stopped:
 * - `invalid_batch_settlement_stacks_deposit_above_cap`: the deposit the offer calls for (at least its price) is above
 *   the buyer's deposit cap for the asset; nothing was signed;
 * - `channel_store_unavailable`: the channel store could not be read or written (a short write included);
 * - `channel_store_corrupt`: a stored channel record cannot be read back;
 * - `channel_not_authorized_by_account`: a refund asked for a channel whose payer-authorizer is another account.
 * @example
 * ```ts
 * const reason: BatchClientReason = 'channel_store_unavailable';
 * if (error instanceof BatchClientError && error.reason === reason) await retryLater();
 * ```
 */
export type BatchClientReason =
  | 'invalid_batch_settlement_stacks_deposit_above_cap'
  | 'channel_store_unavailable'
  | 'channel_store_corrupt'
  | 'channel_not_authorized_by_account';

/**
 * An error of the buyer's side of batch-settlement.
 * @example
 * ```ts
 * if (error instanceof BatchClientError && error.reason === 'invalid_batch_settlement_stacks_deposit_above_cap') payExact();
 * ```
 */
export class BatchClientError extends X402StacksError<BatchClientReason> {
  override name = 'BatchClientError';
  constructor(reason: BatchClientReason, message: string, options: X402StacksErrorOptions = {}) {
    super(reason, message, options);
  }
}
