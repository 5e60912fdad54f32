/**
 * The payer's own escrow transactions for `x402-stacks channel`: a deposit it pays the fee of, `start-withdrawal` and
 * `finish-withdrawal`. Every call is in deny mode, so a contract that only claims to be an escrow can move nothing of
 * the payer's beyond the deposit's exact amount; the fee is the node's rate within the library's bounds unless given.
 * @module
 */
import { Cl, type ClarityValue, makeContractCall, Pc } from '@stacks/transactions';
import type { StacksAccount } from 'x402-stacks';
import type { ChainClient } from 'x402-stacks/chain';
import { DEFAULT_FEES } from 'x402-stacks/client';
import type { StacksAsset } from 'x402-stacks/stacks';

/** A transaction that ended: its id and the chain's status (`success`, `abort_by_response`, …). */
export type Mined = { readonly txid: string; readonly status: string };

/** Nonce and fee are given, so the builder never reaches the network. */
const refuseNetwork = (() => {
  throw new Error('built without the network');
}) as unknown as typeof fetch;

/**
 * Signs an escrow call from the payer and returns it with the fee it carries: `fee` when given, else the node's fee
 * rate times the transaction's size, within the library's default floor and ceiling.
 */
export async function signEscrowCall(options: {
  account: StacksAccount;
  chain: ChainClient;
  escrow: string;
  functionName: string;
  args: ClarityValue[];
  postConditions: unknown[];
  fee: bigint | undefined;
}): Promise<{ transaction: string; txid: string; fee: bigint }> {
  const [contractAddress, contractName] = options.escrow.split('.') as [string, string];
  const nonce = await options.chain.getNextNonce(options.account.address);
  const build = (fee: bigint) =>
    makeContractCall({
      contractAddress,
      contractName,
      functionName: options.functionName,
      functionArgs: options.args,
      senderKey: options.account.privateKey,
      network: options.account.network,
      nonce,
      fee,
      postConditionMode: 'deny',
      // biome-ignore lint/suspicious/noExplicitAny: the post-condition builders' union is not exported by name
      postConditions: options.postConditions as any,
      validateWithAbi: false,
      client: { fetch: refuseNetwork },
    });
  const fee = options.fee ?? (await feeFor(options.chain, (await build(0n)).serialize()));
  const tx = await build(fee);
  return { transaction: tx.serialize(), txid: tx.txid(), fee };
}

/**
 * The fee of a transaction at the node's rate: its size times the rate, within the library's default floor and
 * ceiling.
 */
export async function feeFor(chain: ChainClient, transaction: string): Promise<bigint> {
  const fee = (await chain.getFeeRate()) * BigInt(transaction.length / 2);
  return clamp(fee, DEFAULT_FEES.minFee, DEFAULT_FEES.maxFee);
}

/** The post-condition that `principal` sends exactly (`eq`) or at most (`lte`) `amount` of the asset. */
export function sends(
  principal: string,
  how: 'eq' | 'lte',
  amount: bigint,
  asset: StacksAsset,
): unknown {
  const from = Pc.principal(principal);
  const bound = how === 'eq' ? from.willSendEq(amount) : from.willSendLte(amount);
  return asset.kind === 'stx'
    ? bound.ustx()
    : bound.ft(asset.contractId as `${string}.${string}`, asset.assetName);
}

/** The escrow's token argument: `none` for STX, else the channel's SIP-010 contract. */
export function tokenArg(token: string | null): ClarityValue {
  return token === null ? Cl.none() : Cl.some(Cl.principal(token));
}

/**
 * Broadcasts a signed transaction and waits until the chain says how it ended, at most `waitMs`.
 * @throws {ChannelFailure} `broadcast_rejected` when the node refuses it, `confirmation_timeout` when it is still
 *   pending at the deadline (its txid is in the message: it may still be mined).
 */
export async function broadcastAndWait(
  chain: ChainClient,
  transaction: string,
  txid: string,
  waitMs: number,
): Promise<Mined> {
  const sent = await chain.broadcast(transaction);
  if (!sent.accepted) {
    throw new ChannelFailure(
      'broadcast_rejected',
      `the node refused the transaction: ${sent.reason}${sent.reasonData ? ` ${JSON.stringify(sent.reasonData)}` : ''}`,
    );
  }
  const deadline = Date.now() + waitMs;
  for (;;) {
    const found = await chain.getTransaction(txid).catch(() => null);
    if (found && found.status !== 'pending') return { txid, status: found.status };
    if (Date.now() > deadline) {
      throw new ChannelFailure(
        'confirmation_timeout',
        `transaction ${txid} was broadcast and is not mined after ${waitMs} ms; look it up before trying again`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** A named runtime failure of `x402-stacks channel` (exit 1); `reason` is stable snake_case for `--json`. */
export class ChannelFailure extends Error {
  override name = 'ChannelFailure';
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

function clamp(value: bigint, min: bigint, max: bigint): bigint {
  return value < min ? min : value > max ? max : value;
}
