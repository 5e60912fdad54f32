/**
 * Spend-control presets for a stock `x402Client`. By default it allows only the assets a scheme calls
 * "USD-pegged defaults", so STX and sBTC would be refused; these presets allow STX, sBTC and USDCx under every
 * spelling a server may send, each with an atomic cap per payment. They are data, merged into the caller's own
 * controls: `setSpendControls` replaces the whole object, so nothing here calls it behind the caller's back.
 * @module
 */
import type { SpendControlAsset, SpendControls } from '@x402/core/client';
import { DEFAULT_MAX_AMOUNT } from '../client/policy.js';
import { assetKey, type ResolveAssetOptions, resolveAsset } from '../stacks/assets.js';
import { resolveNetwork, type StacksNetworkInput } from '../stacks/networks.js';
import { parseAtomic } from '../stacks/units.js';
import { ExactStacksSchemeError } from './errors.js';

/**
 * Options of {@link stacksSpendControls}.
 * @example
 * ```ts
 * const options: StacksSpendControlsOptions = { networks: ['testnet'], maxAmount: { STX: 50_000n, sBTC: 500n } };
 * ```
 */
export type StacksSpendControlsOptions = {
  /** The networks to allow. Default both, `stacks:1` and `stacks:2147483648`. */
  networks?: readonly StacksNetworkInput[];
  /**
   * Largest amount of one payment per asset, atomic units. Default {@link DEFAULT_MAX_AMOUNT}: 1 STX, 10,000 sats,
   * 1 USDCx. An asset left out of a given map keeps its default; `null` leaves it out of the preset (not payable).
   */
  maxAmount?: Partial<Record<'STX' | 'sBTC' | 'USDCx', bigint | string | number | null>>;
  /** Token contract overrides, for a network whose sBTC or USDCx lives at another id. */
  tokens?: ResolveAssetOptions;
};

/**
 * The `allowedAssets` entries that let a stock `x402Client` pay STX, sBTC and USDCx on Stacks.
 * @throws {ExactStacksSchemeError} `invalid_payer_options` for a cap that is not an atomic integer.
 * @example
 * ```ts
 * import { x402Client } from '@x402/fetch';
 * const client = x402Client.fromConfig({
 *   schemes: [{ network: 'stacks:*', client: new ExactStacksScheme({ account }) }],
 *   spendControls: stacksSpendControls({ networks: ['testnet'] }),
 * });
 * ```
 */
export function stacksSpendControls(options: StacksSpendControlsOptions = {}): SpendControls {
  return { allowedAssets: stacksAllowedAssets(options) };
}

/**
 * Your spend controls with the Stacks preset added: your own `allowedAssets` entries come first (the first entry
 * that matches sets the cap), and `maxAmountPerPayment` is kept. Controls that already allow every asset
 * (`allowedAssets: true`) are returned as they are.
 * @example
 * ```ts
 * client.setSpendControls(mergeStacksSpendControls({ maxAmountPerPayment: '$5' }, { networks: ['mainnet'] }));
 * ```
 */
export function mergeStacksSpendControls(
  controls: SpendControls | undefined,
  options: StacksSpendControlsOptions = {},
): SpendControls {
  if (controls?.allowedAssets === true) return controls;
  return {
    ...controls,
    allowedAssets: [...(controls?.allowedAssets ?? []), ...stacksAllowedAssets(options)],
  };
}

function stacksAllowedAssets(options: StacksSpendControlsOptions): SpendControlAsset[] {
  const networks = (options.networks ?? ['mainnet', 'testnet']).map((n) => resolveNetwork(n));
  const entries: SpendControlAsset[] = [];
  for (const symbol of ['STX', 'sBTC', 'USDCx'] as const) {
    const given = options.maxAmount?.[symbol];
    if (given === null) continue;
    const cap = capOf(symbol, given ?? DEFAULT_MAX_AMOUNT[symbol]);
    for (const network of networks) {
      const asset = resolveAsset(symbol, network, options.tokens);
      // Matching is case-insensitive and exact: the symbol covers 'SBTC'; the ids need both spellings.
      const spellings =
        asset.kind === 'stx' ? ['STX'] : [symbol, asset.contractId, assetKey(asset)];
      for (const spelling of spellings) {
        entries.push({ network: network.caip2, asset: spelling, maxAmountPerPayment: cap });
      }
    }
  }
  return entries;
}

function capOf(symbol: string, value: bigint | string | number): string {
  try {
    return parseAtomic(value).toString();
  } catch (cause) {
    throw new ExactStacksSchemeError(
      'invalid_payer_options',
      `maxAmount.${symbol} must be atomic units as an integer, got ${String(value)}`,
      { cause },
    );
  }
}
