/**
 * The batch-settlement engine stack the e2e files share: a devnet over HTTP and an in-process facilitator engine with
 * the batch mechanism (account 4 the receiver-authorizer, account 5 the sponsor), and what an offer names from it.
 */
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import { createFacilitator, type Facilitator } from 'x402-stacks';
import {
  BATCH_SETTLEMENT,
  type BatchSettlementMechanism,
  batchSettlementFacilitator,
  type ChannelConfig,
  createDepositTransaction,
} from 'x402-stacks/batch';
import { resolveAsset, STACKS_NETWORKS, type StacksAccount } from 'x402-stacks/stacks';

/** The devnet's batch-escrow on the testnet chain id. */
export const ESCROW = 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow';

/** A running stack and the parties of its offers. */
export type EngineStack = {
  readonly devnet: Devnet;
  readonly engine: Facilitator;
  readonly mechanism: BatchSettlementMechanism;
  /** The receiver-authorizer `/supported` names for batch-settlement. */
  readonly authorizer: string;
  /** The sponsor `/supported` names for exact. */
  readonly sponsor: string;
  stop(): Promise<void>;
};

/** Starts the stack; `engine` options (timeouts) and the devnet's mining mode may be given. */
export async function startEngineStack(
  options: {
    readonly manualMining?: boolean;
    readonly settleTimeoutMs?: number;
    readonly pollIntervalMs?: number;
  } = {},
): Promise<EngineStack> {
  const devnet = await startDevnet({
    port: 0,
    accounts: 8,
    ...(options.manualMining ? { mining: { mode: 'manual' as const } } : {}),
  });
  const mechanism = batchSettlementFacilitator({
    escrows: { testnet: ESCROW },
    authorizerKey: devnet.accounts[4]!.account.privateKey,
    claims: { maxAgeMs: 60 * 60_000 },
  });
  const engine = createFacilitator({
    networks: { testnet: { url: devnet.url } },
    sponsor: { privateKeys: [devnet.accounts[5]!.account.privateKey] },
    ...(options.settleTimeoutMs === undefined ? {} : { settleTimeoutMs: options.settleTimeoutMs }),
    ...(options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs }),
    schemes: [mechanism],
  });
  const kinds = engine.supported().kinds;
  const batch = kinds.find((k) => k.scheme === BATCH_SETTLEMENT);
  if (batch?.extra?.escrow !== ESCROW) throw new Error('/supported does not list the batch escrow');
  return {
    devnet,
    engine,
    mechanism,
    authorizer: String(batch.extra.receiverAuthorizer),
    sponsor: String(kinds.find((k) => k.scheme === 'exact')?.extra?.sponsor),
    async stop() {
      await engine.idle();
      await devnet.stop();
    },
  };
}

/** A sponsored STX deposit of `amount` into `config`'s channel, signed by `payer` at `nonce`. */
export async function sponsoredDeposit(
  payer: StacksAccount,
  config: ChannelConfig,
  amount: bigint,
  nonce: bigint,
): Promise<string> {
  const { transaction } = await createDepositTransaction({
    account: payer,
    network: STACKS_NETWORKS.testnet,
    escrow: ESCROW,
    config,
    amount,
    asset: resolveAsset('STX', STACKS_NETWORKS.testnet),
    nonce,
    sponsored: true,
  });
  return transaction;
}
