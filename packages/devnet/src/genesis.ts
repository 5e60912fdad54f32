/**
 * Genesis: deterministic accounts from a published mnemonic, funded with STX, sBTC and the USDCx-like token.
 * @module
 */
import type { StacksAccount } from 'x402-stacks';
import {
  addressFromHash160,
  mnemonicToAccounts,
  parseStacksAddress,
  STACKS_NETWORKS,
} from 'x402-stacks/stacks';

/**
 * Clarinet's published devnet mnemonic. It is public on purpose: never send real funds to these accounts.
 * Account `i` is `m/44'/5757'/0'/0/i`; account 0 is Clarinet's devnet deployer, ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.
 * @example
 * ```ts
 * const [deployer] = mnemonicToAccounts(DEVNET_MNEMONIC, 'testnet', { count: 1 });
 * ```
 */
export const DEVNET_MNEMONIC =
  'twice kind fence tip hidden tilt action fragile skin nothing glory cousin green tomorrow spring wrist shed math olympic multiply hip blue scout claw';

/** Clarinet's devnet deployer: account 0 of the mnemonic on testnet. */
const DEPLOYER = 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM';

/**
 * Where batch-escrow is preloaded: by the deployer, at its testnet address (what the devnet's testnet chain id
 * reaches, and where the contract's tests deploy it in simnet) and at the same key's mainnet address (`SP1PQ…`), so
 * mainnet-configured clients find it too. Each is its own deployment with its own storage, and since the devnet runs
 * the testnet chain id, both SIP-018 domains carry testnet's chain id. The admin of both is the testnet deployer
 * (no transaction on this chain can come from an `SP…` origin), and every registered token starts allowed.
 * @example
 * ```ts
 * ESCROW_DEPLOYMENTS.map((d) => d.contractId);
 * // ['ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow', 'SP1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRCBGD7R.batch-escrow']
 * ```
 */
export const ESCROW_DEPLOYMENTS: readonly { contractId: string; admin: string }[] = [
  STACKS_NETWORKS.testnet.addressVersion.singleSig,
  STACKS_NETWORKS.mainnet.addressVersion.singleSig,
].map((version) => ({
  contractId: `${addressFromHash160(version, parseStacksAddress(DEPLOYER).hash160)}.batch-escrow`,
  admin: DEPLOYER,
}));

/**
 * What each genesis account holds, in atomic units: enough for any test to pay fees and transfers without a faucet.
 * @example
 * ```ts
 * chain.state.stx(chain.accounts[1].address) === GENESIS_BALANCES.stx; // true before wallet_1 spends anything
 * ```
 */
export const GENESIS_BALANCES = {
  /** 100,000 STX. */
  stx: 100_000_000_000n,
  /** 1 sBTC (100,000,000 sats), on each registered sBTC contract. */
  sBTC: 100_000_000n,
  /** 10,000 USDCx. */
  USDCx: 10_000_000_000n,
} as const;

/**
 * A genesis account: its name, index and keys. The key is public, like the mnemonic.
 * @example
 * ```ts
 * const { name, address, account } = devnet.accounts[1]; // 'wallet_1'
 * ```
 */
export type DevnetAccount = {
  readonly name: string;
  readonly index: number;
  readonly address: string;
  readonly privateKey: string;
  readonly account: StacksAccount;
};

/**
 * The first `count` accounts of the devnet mnemonic on testnet: `deployer`, then `wallet_1`, `wallet_2`, ….
 * @example
 * ```ts
 * genesisAccounts(2).map((a) => a.address);
 * // ['ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM', 'ST2ST2H80NP5C9SPR4ENJ1Z9CDM9PKAJVPYWPQZ50']
 * ```
 */
export function genesisAccounts(count: number): DevnetAccount[] {
  return mnemonicToAccounts(DEVNET_MNEMONIC, 'testnet', { count }).map((account, index) => {
    return {
      name: index === 0 ? 'deployer' : `wallet_${index}`,
      index,
      address: account.address,
      privateKey: account.privateKey,
      account,
    };
  });
}
