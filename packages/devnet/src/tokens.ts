/**
 * The SIP-010 tokens the devnet executes natively, with sbtc-token's `transfer` semantics.
 * @module
 */
import { KNOWN_TOKENS } from 'x402-stacks/stacks';

/**
 * A registered token: where it lives and what its fungible asset is called.
 * @example
 * ```ts
 * const sbtc: DevnetToken | undefined = registeredTokens().find((token) => token.symbol === 'sBTC');
 * ```
 */
export type DevnetToken = {
  readonly symbol: 'sBTC' | 'USDCx';
  readonly contractId: string;
  readonly assetName: string;
  readonly decimals: number;
};

export type TokenOptions = {
  /** The testnet sBTC contract id clients use. Default: x402-stacks' default testnet id. */
  sbtcTestnetContract?: string;
};

/**
 * sBTC at its mainnet id (where Clarinet's simnet keeps it) and at the configured testnet id, and USDCx at its testnet
 * id. The devnet runs on the testnet chain id, so testnet-configured clients find their tokens.
 * @example
 * ```ts
 * registeredTokens().map((t) => t.contractId);
 * ```
 */
export function registeredTokens(options: TokenOptions = {}): DevnetToken[] {
  const sbtc = KNOWN_TOKENS.sBTC;
  const usdcx = KNOWN_TOKENS.USDCx;
  const sbtcIds = new Set([
    options.sbtcTestnetContract ?? sbtc.contracts.testnet,
    sbtc.contracts.testnet,
    sbtc.contracts.mainnet,
  ]);
  return [
    ...[...sbtcIds].map((contractId) => ({
      symbol: 'sBTC' as const,
      contractId,
      assetName: sbtc.assetName,
      decimals: sbtc.decimals,
    })),
    {
      symbol: 'USDCx',
      contractId: usdcx.contracts.testnet,
      assetName: usdcx.assetName,
      decimals: usdcx.decimals,
    },
  ];
}

/**
 * `<contract id>::<asset name>`, the key balances, events and post-conditions use.
 * @example
 * ```ts
 * tokenAssetId(registeredTokens().at(-1)!); // 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.usdcx::usdcx-token'
 * ```
 */
export function tokenAssetId(token: DevnetToken): string {
  return `${token.contractId}::${token.assetName}`;
}
