/**
 * Payment terms: what a `PaymentRequirements` entry asks for, resolved once into typed values. Building a payment
 * and checking one read the requirements through this single function, so they can never disagree.
 * @module
 */
import { type ParsedPrincipal, parsePrincipal } from '../address.js';
import { type ResolveAssetOptions, resolveAsset, type StacksAsset } from '../assets.js';
import { resolveNetwork, type StacksNetwork } from '../networks.js';
import { formatAmount, parseAtomic } from '../units.js';

/** Largest u64: STX amounts, fees and nonces are u64 on the wire. */
export const MAX_U64 = 2n ** 64n - 1n;
/** Largest Clarity uint (u128): SIP-010 amounts. */
export const MAX_U128 = 2n ** 128n - 1n;

/**
 * The fields of an x402 `PaymentRequirements` entry that a Stacks exact payment depends on.
 * @example
 * ```ts
 * const requirements: StacksPaymentRequirements = { scheme: 'exact', network: 'stacks:2147483648',
 *   amount: '1000', asset: 'STX', payTo: 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5' };
 * const terms = resolvePaymentTerms(requirements);
 * ```
 */
export type StacksPaymentRequirements = {
  scheme: string;
  network: string;
  amount: string;
  asset: string;
  payTo: string;
  maxTimeoutSeconds?: number;
  extra?: Record<string, unknown> | undefined;
};

/**
 * Requirements resolved into typed values.
 * @example
 * ```ts
 * const terms = resolvePaymentTerms(requirements);
 * if (!isTermsProblem(terms)) console.log(terms.amount, terms.asset.kind, terms.payTo.principal); // 1000n 'stx' 'ST1…'
 * ```
 */
export type PaymentTerms = {
  readonly network: StacksNetwork;
  readonly asset: StacksAsset;
  readonly amount: bigint;
  readonly payTo: ParsedPrincipal;
  /**
   * The sponsor address, when the facilitator pays the fee: `extra.sponsor`, or `extra.feePayer` (how the sponsoring
   * Stacks peers and other chains' mechanisms name it). Both may be written; they must then agree.
   */
  readonly sponsor: string | undefined;
};

/**
 * Why requirements cannot be paid with the Stacks exact scheme.
 * @example
 * ```ts
 * const terms = resolvePaymentTerms({ ...requirements, network: 'stacks:99' });
 * if (isTermsProblem(terms)) console.log(terms.reason); // 'invalid_network'
 * ```
 */
export type TermsProblem = {
  readonly reason: 'invalid_scheme' | 'invalid_network' | 'invalid_payment_requirements';
  readonly message: string;
};

/**
 * Resolves requirements into `PaymentTerms`, or explains why they are not payable.
 *
 * @example
 * ```ts
 * const terms = resolvePaymentTerms({ scheme: 'exact', network: 'stacks:2147483648', amount: '1000',
 *   asset: 'STX', payTo: 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5' });
 * if ('reason' in terms) throw new Error(terms.message);
 * terms.amount; // 1000n
 * ```
 */
export function resolvePaymentTerms(
  requirements: StacksPaymentRequirements,
  assetOptions?: ResolveAssetOptions,
): PaymentTerms | TermsProblem {
  if (requirements?.scheme !== 'exact') {
    return problem(
      'invalid_scheme',
      `scheme must be 'exact', got ${JSON.stringify(requirements?.scheme)}`,
    );
  }
  let network: StacksNetwork;
  try {
    network = resolveNetwork(requirements.network, { payTo: requirements.payTo });
  } catch (error) {
    return problem('invalid_network', messageOf(error));
  }
  try {
    const amount = parseAtomic(requirements.amount);
    // The node refuses zero-amount transfers, so a zero price can never be paid on chain.
    if (amount === 0n) return problem('invalid_payment_requirements', 'amount must be above zero');
    const asset = resolveAsset(requirements.asset, network, assetOptions);
    // STX transfers carry a u64 amount and SIP-010 calls a Clarity uint (u128); anything larger cannot be encoded.
    const limit = asset.kind === 'stx' ? MAX_U64 : MAX_U128;
    if (amount > limit) {
      return problem(
        'invalid_payment_requirements',
        `amount is above the ${asset.kind === 'stx' ? 'u64' : 'u128'} maximum`,
      );
    }
    const payTo = parsePrincipal(requirements.payTo, network);
    const sponsor = sponsorOf(requirements.extra);
    if (typeof sponsor === 'object') return sponsor;
    if (sponsor !== undefined) parsePrincipal(sponsor, network);
    return { network, asset, amount, payTo, sponsor };
  } catch (error) {
    return problem('invalid_payment_requirements', messageOf(error));
  }
}

/** The sponsor the requirements name through `extra.sponsor` or `extra.feePayer`, or why they cannot be read. */
function sponsorOf(extra: Record<string, unknown> | undefined): string | undefined | TermsProblem {
  const named = [extra?.sponsor, extra?.feePayer].filter((value) => value !== undefined);
  if (named.some((value) => typeof value !== 'string')) {
    return problem(
      'invalid_payment_requirements',
      'extra.sponsor and extra.feePayer must be Stacks addresses',
    );
  }
  if (named.length === 2 && named[0] !== named[1]) {
    return problem(
      'invalid_payment_requirements',
      'extra.sponsor and extra.feePayer name different accounts',
    );
  }
  return named[0] as string | undefined;
}

/**
 * The price of requirements as people read it (`'0.0025 STX'`), through {@link formatAmount}. Requirements that do
 * not resolve (an unknown network or asset) show their atomic amount and the asset as written, so a hostile or broken
 * offer can still be described; this never throws.
 * @example
 * ```ts
 * formatPrice({ amount: '2500', asset: 'STX', network: 'stacks:2147483648' }); // '0.0025 STX'
 * ```
 */
export function formatPrice(
  requirements: Pick<StacksPaymentRequirements, 'amount' | 'asset' | 'network'>,
  assetOptions?: ResolveAssetOptions,
): string {
  try {
    return formatAmount(
      requirements.amount,
      resolveAsset(requirements.asset, resolveNetwork(requirements.network), assetOptions),
    );
  } catch {
    return `${String(requirements.amount)} atomic units of ${String(requirements.asset)}`;
  }
}

/**
 * Narrows the result of `resolvePaymentTerms`.
 * @example
 * ```ts
 * const terms = resolvePaymentTerms(requirements);
 * if (isTermsProblem(terms)) return { isValid: false, invalidReason: terms.reason };
 * ```
 */
export function isTermsProblem(value: PaymentTerms | TermsProblem): value is TermsProblem {
  return 'reason' in value;
}

function problem(reason: TermsProblem['reason'], message: string): TermsProblem {
  return { reason, message };
}

function messageOf(error: unknown): string {
  if (error && typeof error === 'object' && 'shortMessage' in error)
    return String(error.shortMessage);
  return error instanceof Error ? error.message : String(error);
}
