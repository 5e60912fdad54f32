/**
 * The buyer's deposit: the escrow `deposit(config, amount, token)` call, signed and not broadcast, in deny mode with
 * the one post-condition that the payer sends exactly `amount`. Sponsored (fee 0, an empty sponsor slot) when the
 * offer names a sponsor, so a buyer needs no STX for fees.
 * @module
 */
import { Cl, makeContractCall, Pc } from '@stacks/transactions';
import { channelConfigCV } from '../../batch/channel.js';
import type { ChannelConfig } from '../../batch/wire.js';
import type { StacksAccount } from '../../stacks/accounts.js';
import type { StacksAsset } from '../../stacks/assets.js';
import type { StacksNetwork } from '../../stacks/networks.js';

/**
 * What a deposit transaction is made of. `amount` is in the asset's atomic units, and the post-condition holds the
 * payer to exactly that.
 * @example
 * ```ts
 * const options: DepositTransactionOptions = { account, network: STACKS_NETWORKS.testnet, escrow, config,
 *   amount: 100_000n, asset: STX_ASSET, nonce: 4n, sponsored: true };
 * const { transaction, txid } = await createDepositTransaction(options);
 * ```
 */
export type DepositTransactionOptions = {
  readonly account: StacksAccount;
  readonly network: StacksNetwork;
  readonly escrow: string;
  readonly config: ChannelConfig;
  readonly amount: bigint;
  readonly asset: StacksAsset;
  readonly nonce: bigint;
  /** Sponsored: fee 0. Otherwise `fee` micro-STX. */
  readonly sponsored: boolean;
  readonly fee?: bigint;
};

// Nonce and fee are given, so the builder has no reason to reach the network; this makes sure it cannot.
const refuseNetwork = (() => {
  throw new Error('a deposit is built without the network');
}) as unknown as typeof fetch;

/**
 * Builds and signs a deposit.
 * @returns the transaction hex (no `0x`) and its id.
 * @example
 * ```ts
 * const { transaction } = await createDepositTransaction({ account, network, escrow, config, amount: 100_000n,
 *   asset, nonce: 4n, sponsored: true });
 * ```
 */
export async function createDepositTransaction(
  options: DepositTransactionOptions,
): Promise<{ transaction: string; txid: string }> {
  const { account, network, escrow, config, amount, asset } = options;
  const [contractAddress, contractName] = escrow.split('.') as [string, string];
  const condition =
    asset.kind === 'stx'
      ? Pc.principal(account.address).willSendEq(amount).ustx()
      : Pc.principal(account.address)
          .willSendEq(amount)
          .ft(asset.contractId as `${string}.${string}`, asset.assetName);
  const tx = await makeContractCall({
    contractAddress,
    contractName,
    functionName: 'deposit',
    functionArgs: [
      channelConfigCV(config),
      Cl.uint(amount),
      config.token === null ? Cl.none() : Cl.some(Cl.principal(config.token)),
    ],
    senderKey: account.privateKey,
    network: network.name,
    nonce: options.nonce,
    fee: options.sponsored ? 0n : (options.fee ?? 0n),
    sponsored: options.sponsored,
    postConditionMode: 'deny',
    postConditions: [condition],
    validateWithAbi: false,
    client: { fetch: refuseNetwork },
  });
  return { transaction: tx.serialize(), txid: tx.txid() };
}
