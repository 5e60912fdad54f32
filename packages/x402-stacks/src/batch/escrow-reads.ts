/**
 * The escrow's channel state read from the chain (`get-channel` over the node's call-read), strictly parsed: it decides
 * how much a seller may serve, and where a buyer that lost its own records finds its channel again.
 * @module
 */
import { Cl, type ClarityValue, cvToHex, hexToCV } from '@stacks/transactions';
import type { ChainClient } from '../chain/client.js';

/**
 * A channel's on-chain numbers: what the escrow's `get-channel` answers. Amounts are bigints in the token's atomic
 * units, so they compare directly with a charged total.
 * @example
 * ```ts
 * const reading: EscrowChannelReading | undefined = await readEscrowChannel(chain, escrow, channelId);
 * const unclaimed = reading ? reading.balance - reading.claimed : 0n;
 * ```
 */
export type EscrowChannelReading = {
  readonly balance: bigint;
  readonly claimed: bigint;
  readonly refundNonce: bigint;
  /** The burn block a pending withdrawal started at, 0 when none. */
  readonly withdrawRequestedAt: number;
};

/**
 * A channel as the escrow holds it, or undefined when the escrow has no such channel.
 * @throws {Error} when the chain cannot run read-only calls or answers a value that is not a channel.
 * @example
 * ```ts
 * const state = await readEscrowChannel(chain, 'ST1PQ….batch-escrow', channelId); // { balance: 5000n, … }
 * ```
 */
export async function readEscrowChannel(
  chain: ChainClient,
  escrow: string,
  channelId: string,
): Promise<EscrowChannelReading | undefined> {
  if (!chain.callReadOnly) throw new Error('this chain client cannot run read-only calls');
  const hex = await chain.callReadOnly(escrow, 'get-channel', [
    cvToHex(Cl.bufferFromHex(channelId.slice(2))),
  ]);
  const value = hexToCV(hex);
  if (value.type === 'none') return undefined;
  if (value.type !== 'some' || value.value.type !== 'tuple') throw notAChannel();
  const fields = value.value.value;
  const withdrawal = fields.withdrawal;
  let withdrawRequestedAt = 0;
  if (withdrawal?.type === 'some' && withdrawal.value.type === 'tuple') {
    // 0 means "no withdrawal" in every channel snapshot, and a devnet's first burn blocks are numbered 0: a withdrawal
    // started there reads as started at 1. Nothing counts on the exact block: any pending withdrawal makes the next
    // claim due at once and stops new charges.
    const requestedAt = Number(uint(withdrawal.value.value['requested-at']));
    withdrawRequestedAt = requestedAt === 0 ? 1 : requestedAt;
  } else if (withdrawal?.type !== 'none') {
    throw notAChannel();
  }
  return {
    balance: uint(fields.balance),
    claimed: uint(fields.claimed),
    refundNonce: uint(fields['refund-nonce']),
    withdrawRequestedAt,
  };
}

function uint(value: ClarityValue | undefined): bigint {
  if (value?.type !== 'uint') throw notAChannel();
  return BigInt(value.value);
}

function notAChannel(): Error {
  return new Error('get-channel answered a value that is not a batch-escrow channel');
}
