/**
 * The seller's side of the scheme under `@x402/core`'s `x402ResourceServer`: a route's price into an atomic
 * `{asset, amount}`, an asset's decimals, and the sponsor from the facilitator's `/supported` copied into `extra`.
 * @module
 */
import type {
  AssetAmount,
  Network,
  PaymentRequirements,
  Price,
  SupportedKind,
} from '@x402/core/types';
import { z } from 'zod';
import { isValidStacksAddress } from '../stacks/address.js';
import { type ResolveAssetOptions, resolveAsset, type StacksAsset } from '../stacks/assets.js';
import { resolveNetwork, type StacksNetwork } from '../stacks/networks.js';
import { MAX_U64, MAX_U128 } from '../stacks/payment/terms.js';
import { ExactStacksSchemeError } from './errors.js';
import { type MoneyOptions, parseUsd, usdToAtomic } from './money.js';

/**
 * Options of the server role.
 * @example
 * ```ts
 * const options: ServerRoleOptions = { money: { asset: 'STX', rate: () => '0.62' }, sponsored: false };
 * ```
 */
export type ServerRoleOptions = {
  /** How `$` prices are charged. Default: in USDCx, 1 USDCx per dollar. */
  money?: MoneyOptions;
  /** Copy the facilitator's sponsor into `extra.sponsor`, so buyers pay no fee. Default `true`. */
  sponsored?: boolean;
  /** Token contract overrides (a devnet or testnet sBTC at another id). */
  tokens?: ResolveAssetOptions;
};

/** The server role's methods, as `SchemeNetworkServer` names them. */
export type ServerRole = {
  parsePrice(price: Price, network: Network): Promise<AssetAmount>;
  getAssetDecimals(asset: string, network: Network): number | undefined;
  enhancePaymentRequirements(
    requirements: PaymentRequirements,
    supportedKind: SupportedKind,
    facilitatorExtensions: string[],
  ): Promise<PaymentRequirements>;
};

const AssetAmountSchema = z.object({
  asset: z.string().min(1),
  amount: z.string().regex(/^\d+$/, 'an integer string of atomic units'),
  extra: z.record(z.string(), z.unknown()).optional(),
});

/**
 * Creates the server role.
 * @example
 * ```ts
 * const role = createServerRole({});
 * await role.parsePrice({ asset: 'sBTC', amount: '100' }, 'stacks:1');
 * // { asset: 'SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token', amount: '100' }
 * ```
 */
export function createServerRole(options: ServerRoleOptions = {}): ServerRole {
  const { tokens, sponsored = true } = options;
  const moneyAsset = options.money?.asset ?? 'USDCx';
  const moneyRate = options.money?.rate;

  const assetOf = (asset: string, network: StacksNetwork): StacksAsset => {
    try {
      return resolveAsset(asset, network, tokens);
    } catch (cause) {
      throw new ExactStacksSchemeError(
        'invalid_price',
        `the asset ${JSON.stringify(asset)} is not payable on ${network.caip2}`,
        { cause },
      );
    }
  };

  const fromMoney = async (
    price: string | number,
    network: StacksNetwork,
  ): Promise<AssetAmount> => {
    const usd = parseUsd(price);
    const asset = assetOf(moneyAsset, network);
    if (asset.decimals === undefined) {
      throw new ExactStacksSchemeError(
        'invalid_price',
        `money.asset ${moneyAsset} has no known decimals; give tokens.decimals`,
      );
    }
    let rate: string;
    if (moneyRate) rate = await moneyRate(asset, network.caip2);
    else if (asset.kind === 'sip010' && asset.symbol === 'USDCx') rate = '1';
    else {
      throw new ExactStacksSchemeError(
        'invalid_price',
        `a dollar price in ${moneyAsset} needs money.rate (dollars per whole ${moneyAsset}); only USDCx is priced 1:1`,
      );
    }
    return { asset: wireAsset(asset), amount: usdToAtomic(usd, asset.decimals, rate).toString() };
  };

  return {
    async parsePrice(price, networkId) {
      const network = networkOf(networkId);
      if (typeof price === 'string' || typeof price === 'number') return fromMoney(price, network);
      const parsed = AssetAmountSchema.safeParse(price);
      if (!parsed.success) {
        throw new ExactStacksSchemeError(
          'invalid_price',
          'expected a $ price or { asset, amount } in atomic units',
          {
            metaMessages: parsed.error.issues.map(
              (issue) => `${issue.path.join('.') || 'price'}: ${issue.message}`,
            ),
          },
        );
      }
      const { asset: spelling, amount, extra } = parsed.data;
      const asset = assetOf(spelling, network);
      const atomic = BigInt(amount);
      const max = asset.kind === 'stx' ? MAX_U64 : MAX_U128;
      if (atomic === 0n || atomic > max) {
        throw new ExactStacksSchemeError(
          'invalid_price',
          `the amount must be between 1 and ${max}, got ${amount}`,
        );
      }
      return { asset: wireAsset(asset), amount: atomic.toString(), ...(extra ? { extra } : {}) };
    },

    getAssetDecimals(asset, networkId) {
      try {
        return resolveAsset(asset, networkId, tokens).decimals;
      } catch {
        return undefined;
      }
    },

    async enhancePaymentRequirements(requirements, supportedKind) {
      const extra = { ...requirements.extra };
      const sponsor = supportedKind.extra?.sponsor;
      // A route that names its own sponsor, or opts out with `extra.sponsor: false`, keeps its choice.
      if (sponsored && extra.sponsor === undefined && typeof sponsor === 'string') {
        if (isValidStacksAddress(sponsor, networkOf(requirements.network))) extra.sponsor = sponsor;
      }
      if (extra.sponsor === false) delete extra.sponsor;
      // Written beside it for the peers that read `feePayer` (the sponsoring Stacks peers, other chains' mechanisms).
      if (typeof extra.sponsor === 'string' && extra.feePayer === undefined)
        extra.feePayer = extra.sponsor;
      return { ...requirements, extra };
    },
  };
}

/**
 * The asset id put on the wire: `STX`, or the bare contract id of a known token (what every Stacks client reads,
 * the incumbent `x402-stacks@2` included, which misreads `sBTC` as STX), or `<contract id>::<asset>` for another
 * token whose asset name differs from its contract name.
 * @example
 * ```ts
 * wireAsset(resolveAsset('sBTC', 'testnet')); // 'SN3VMHXEN64ZZF71JQ5VESXDWTR301XTTXGF4J8F1.sbtc-token'
 * ```
 */
export function wireAsset(asset: StacksAsset): string {
  if (asset.kind === 'stx') return 'STX';
  if (asset.symbol !== undefined || asset.assetName === asset.contractName) return asset.contractId;
  return `${asset.contractId}::${asset.assetName}`;
}

function networkOf(network: string): StacksNetwork {
  try {
    return resolveNetwork(network);
  } catch (cause) {
    throw new ExactStacksSchemeError(
      'invalid_payment_requirements',
      `${network} is not a Stacks network`,
      { cause },
    );
  }
}
