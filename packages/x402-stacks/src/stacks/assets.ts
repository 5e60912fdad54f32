/**
 * Assets a payment can be made in: native STX, the known SIP-010 tokens (sBTC, USDCx) and any SIP-010 contract.
 * @module
 */
import { parsePrincipal } from './address.js';
import { UnknownAssetError } from './errors.js';
import {
  resolveNetwork,
  type StacksNetwork,
  type StacksNetworkInput,
  type StacksNetworkName,
} from './networks.js';

/**
 * Symbols with built-in contract ids and decimals.
 * @example
 * ```ts
 * const symbol: KnownTokenSymbol = 'sBTC';
 * KNOWN_TOKENS[symbol].decimals; // 8
 * ```
 */
export type KnownTokenSymbol = 'sBTC' | 'USDCx';

/**
 * A SIP-010 contract id, `<address>.<contract-name>`.
 * @example
 * ```ts
 * const usdcx: ContractId = 'SP120SBRBQJ00MCWS7TM5R8WJNTTKD5K0HFRC2CNE.usdcx';
 * const tokens: ResolveAssetOptions = { contracts: { USDCx: usdcx } };
 * ```
 */
export type ContractId = `${string}.${string}`;

/**
 * A resolved asset. Tell STX from a SIP-010 token by `kind`; only a token has a contract.
 * @example
 * ```ts
 * const asset: StacksAsset = resolveAsset('sBTC', 'mainnet');
 * if (asset.kind === 'sip010') console.log(asset.contractId, asset.decimals); // 'SM3VDXK….sbtc-token', 8
 * ```
 */
export type StacksAsset =
  | { readonly kind: 'stx'; readonly symbol: 'STX'; readonly decimals: 6 }
  | {
      readonly kind: 'sip010';
      /** Set for sBTC and USDCx; undefined for other tokens. */
      readonly symbol: KnownTokenSymbol | undefined;
      readonly contractId: ContractId;
      readonly contractAddress: string;
      readonly contractName: string;
      /** The `define-fungible-token` name, used in post-conditions (`<contract id>::<asset name>`). */
      readonly assetName: string;
      /** Known for sBTC and USDCx, or when given; undefined otherwise. */
      readonly decimals: number | undefined;
    };

type TokenDefaults = {
  readonly decimals: number;
  readonly assetName: string;
  readonly contracts: Readonly<Record<StacksNetworkName, ContractId>>;
};

/**
 * Built-in SIP-010 tokens. The testnet ids are defaults: testnet has more than one "sBTC", so override them with the
 * `contracts` option of `resolveAsset` when yours differs.
 *
 * - sBTC: 8 decimals; mainnet `SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token`, testnet
 *   `SN3VMHXEN64ZZF71JQ5VESXDWTR301XTTXGF4J8F1.sbtc-token` (the sBTC signers' own testnet deployment, which the
 *   Stacks docs, Clarinet, the Hiro explorer and faucet, and Leather name since the PoX-5 testnet). Hiro's older
 *   stand-in `ST1F7QA2MDF17S807EPA36TSS8AMEFY4KA9TVGWXT.sbtc-token` is not recognised as sBTC unless configured.
 * - USDCx: 6 decimals; mainnet `SP120SBRBQJ00MCWS7TM5R8WJNTTKD5K0HFRC2CNE.usdcx`, testnet
 *   `ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.usdcx`.
 *
 * @example
 * ```ts
 * import { KNOWN_TOKENS } from 'x402-stacks';
 * KNOWN_TOKENS.sBTC.contracts.mainnet; // 'SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token'
 * ```
 */
export const KNOWN_TOKENS: Readonly<Record<KnownTokenSymbol, TokenDefaults>> = Object.freeze({
  sBTC: Object.freeze({
    decimals: 8,
    assetName: 'sbtc-token',
    contracts: Object.freeze({
      mainnet: 'SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token',
      testnet: 'SN3VMHXEN64ZZF71JQ5VESXDWTR301XTTXGF4J8F1.sbtc-token',
    }),
  }),
  USDCx: Object.freeze({
    decimals: 6,
    assetName: 'usdcx-token',
    contracts: Object.freeze({
      mainnet: 'SP120SBRBQJ00MCWS7TM5R8WJNTTKD5K0HFRC2CNE.usdcx',
      testnet: 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.usdcx',
    }),
  }),
});

/**
 * The native STX asset. `resolveAsset` returns this very object for `'STX'` in any case, on any network.
 * @example
 * ```ts
 * formatAmount(2_500n, STX_ASSET); // '0.0025 STX'
 * resolveAsset('stx', 'testnet') === STX_ASSET; // true
 * ```
 */
export const STX_ASSET: StacksAsset = Object.freeze({ kind: 'stx', symbol: 'STX', decimals: 6 });

/**
 * How `resolveAsset` reads an asset: token contracts in place of the built-in ones, and what an unknown token is.
 * @example
 * ```ts
 * const tokens: ResolveAssetOptions = { contracts: { sBTC: 'ST1F7QA2MDF17S807EPA36TSS8AMEFY4KA9TVGWXT.sbtc-token' } };
 * resolveAsset('sBTC', 'testnet', tokens);
 * ```
 */
export type ResolveAssetOptions = {
  /**
   * Contract ids that replace the built-in ones, e.g. a testnet sBTC deployment. Each applies on the network its
   * address belongs to (an `ST…`/`SN…` id on testnet), so one set of options serves a mainnet and a testnet role.
   */
  contracts?: Partial<Record<KnownTokenSymbol, ContractId>>;
  /** Asset name for a SIP-010 id given without `::asset`. Default: the contract name. */
  assetName?: string;
  /** Decimals of an unknown SIP-010 token, for display only. */
  decimals?: number;
};

// Symbols are matched without case because peers write 'SBTC' and 'USDCX' on the wire.
const SYMBOLS: Readonly<Record<string, 'STX' | KnownTokenSymbol>> = {
  stx: 'STX',
  sbtc: 'sBTC',
  usdcx: 'USDCx',
};

/**
 * Resolves an asset spelling to a `StacksAsset` on a network.
 *
 * Accepts `'STX'`, `'sBTC'`, `'USDCx'` (any case), `'<address>.<contract>'` and `'<address>.<contract>::<asset>'`.
 * A contract id is checked against the network (an `SP…` contract is not a testnet asset). Known contract ids pick
 * up their symbol, decimals and asset name.
 *
 * @throws {UnknownAssetError}
 * @example
 * ```ts
 * import { resolveAsset } from 'x402-stacks';
 * resolveAsset('sBTC', 'mainnet');
 * // { kind: 'sip010', symbol: 'sBTC', contractId: 'SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token',
 * //   assetName: 'sbtc-token', decimals: 8, … }
 * ```
 */
export function resolveAsset(
  asset: string,
  networkInput: StacksNetworkInput,
  options: ResolveAssetOptions = {},
): StacksAsset {
  if (typeof asset !== 'string' || asset.length === 0) {
    throw new UnknownAssetError(asset, 'expected a non-empty string');
  }
  const network = resolveNetwork(networkInput);
  const symbol = SYMBOLS[asset.toLowerCase()];
  if (symbol === 'STX') return STX_ASSET;
  if (symbol) {
    const contractId =
      overrideOf(symbol, network, options) ?? KNOWN_TOKENS[symbol].contracts[network.name];
    return tokenAsset(contractId, network, symbol, KNOWN_TOKENS[symbol].assetName, undefined);
  }

  const [contractId, assetName, extra] = asset.split('::');
  if (extra !== undefined || assetName === '') {
    throw new UnknownAssetError(asset, "expected at most one '::asset-name' suffix");
  }
  if (!contractId?.includes('.')) {
    throw new UnknownAssetError(asset, 'not a known symbol and not a contract id');
  }
  const known = knownSymbolOf(contractId as ContractId, network, options);
  if (known) {
    const expectedName = KNOWN_TOKENS[known].assetName;
    if (assetName !== undefined && assetName !== expectedName) {
      throw new UnknownAssetError(
        asset,
        `the ${known} asset is '${expectedName}', not '${assetName}'`,
      );
    }
    return tokenAsset(contractId as ContractId, network, known, expectedName, undefined);
  }
  return tokenAsset(
    contractId as ContractId,
    network,
    undefined,
    assetName ?? options.assetName,
    options.decimals,
  );
}

/**
 * Whether two asset spellings name the same asset on a network (`'sBTC'` and its contract id are the same).
 * @example
 * ```ts
 * isSameAsset('sBTC', 'SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token', 'mainnet'); // true
 * ```
 */
export function isSameAsset(
  a: string,
  b: string,
  network: StacksNetworkInput,
  options?: ResolveAssetOptions,
): boolean {
  return (
    assetKey(resolveAsset(a, network, options)) === assetKey(resolveAsset(b, network, options))
  );
}

/**
 * The canonical string of an asset: `'STX'` or `'<contract id>::<asset name>'` (the form post-conditions and Hiro
 * balances use).
 * @example
 * ```ts
 * assetKey(resolveAsset('sBTC', 'mainnet')); // 'SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token::sbtc-token'
 * ```
 */
export function assetKey(asset: StacksAsset): string {
  return asset.kind === 'stx' ? 'STX' : `${asset.contractId}::${asset.assetName}`;
}

/**
 * The spelling to put on the wire for an asset: `'STX'`, or the contract id `<address>.<contract>`, with
 * `::<asset>` only when the asset name differs from the contract name (it cannot be left out then without changing
 * what the post-condition names). Every client reads a contract id as that token; x402-stacks 2.0 clients misread
 * symbols in other cases than `SBTC`/`USDCX` and pay STX instead.
 * @example
 * ```ts
 * wireAssetOf(resolveAsset('sBTC', 'testnet')); // 'SN3VMHXEN64ZZF71JQ5VESXDWTR301XTTXGF4J8F1.sbtc-token'
 * wireAssetOf(STX_ASSET); // 'STX'
 * ```
 */
export function wireAssetOf(asset: StacksAsset): string {
  if (asset.kind === 'stx') return 'STX';
  return asset.assetName === asset.contractName || asset.symbol !== undefined
    ? asset.contractId
    : `${asset.contractId}::${asset.assetName}`;
}

/**
 * Whether the token's `transfer` is known to move exactly `amount` of exactly this asset and nothing else. Only such
 * tokens may be paid in post-condition allow mode under the `compatible` policy (that is how older clients sign).
 * @example
 * ```ts
 * isExactTransferToken(resolveAsset('sBTC', 'testnet')); // true
 * ```
 */
export function isExactTransferToken(asset: StacksAsset): boolean {
  return asset.kind === 'sip010' && asset.symbol !== undefined;
}

function knownSymbolOf(
  contractId: ContractId,
  network: StacksNetwork,
  options: ResolveAssetOptions,
): KnownTokenSymbol | undefined {
  for (const symbol of Object.keys(KNOWN_TOKENS) as KnownTokenSymbol[]) {
    const configured = overrideOf(symbol, network, options);
    if (contractId === configured || contractId === KNOWN_TOKENS[symbol].contracts[network.name]) {
      return symbol;
    }
  }
  return undefined;
}

// An override belongs to the network of its address: a testnet sBTC id says nothing about mainnet sBTC.
function overrideOf(
  symbol: KnownTokenSymbol,
  network: StacksNetwork,
  options: ResolveAssetOptions,
): ContractId | undefined {
  const configured = options.contracts?.[symbol];
  if (typeof configured !== 'string') return undefined;
  try {
    parsePrincipal(configured, network);
    return configured;
  } catch {
    return undefined;
  }
}

function tokenAsset(
  contractId: ContractId,
  network: StacksNetwork,
  symbol: KnownTokenSymbol | undefined,
  assetName: string | undefined,
  decimals: number | undefined,
): StacksAsset {
  let principal: ReturnType<typeof parsePrincipal>;
  try {
    principal = parsePrincipal(contractId, network);
  } catch (cause) {
    throw new UnknownAssetError(contractId, `not a ${network.name} contract id`, { cause });
  }
  if (!principal.contractName) throw new UnknownAssetError(contractId, 'missing the contract name');
  const name = assetName ?? principal.contractName;
  return Object.freeze({
    kind: 'sip010',
    symbol,
    contractId,
    contractAddress: principal.address,
    contractName: principal.contractName,
    assetName: name,
    decimals: symbol ? KNOWN_TOKENS[symbol].decimals : decimals,
  });
}
