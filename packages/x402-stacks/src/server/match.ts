/**
 * Which of the route's `accepts[]` entries a payment pays. A v2 payment names its entry in `accepted`; a v1 payment
 * names only scheme and network, and an x402-stacks 1.x payment nothing at all, so the transaction decides between
 * entries of several assets.
 * @module
 */
import { BATCH_SETTLEMENT } from '../batch/wire.js';
import type { PaymentPayloadV1 } from '../protocol/v1.js';
import type { PaymentPayload, PaymentRequirements } from '../protocol/v2.js';
import { isSameAsset, type ResolveAssetOptions } from '../stacks/assets.js';
import { fromHex } from '../stacks/bytes.js';
import { resolveNetwork, type StacksNetwork } from '../stacks/networks.js';
import { checkPaymentTransaction } from '../stacks/payment/check.js';
import { signedTransactionOf } from '../stacks/payment/signed-transaction.js';
import type { RequestPayment } from './payment-header.js';

/** A payment matched to one of the offered entries, as the facilitator is asked to settle it. */
export type MatchedPayment = {
  readonly requirements: PaymentRequirements;
  /** The v2 payload sent to the facilitator (a v1 payment is carried over with the matched entry as `accepted`). */
  readonly payload: PaymentPayload;
  readonly version: 1 | 2;
  /** Set for an x402-stacks 1.x payment (raw transaction hex in `X-PAYMENT`). */
  readonly legacy?: true;
};

/**
 * Finds the offered entry the payment accepts, or `undefined` when it accepts none of them (another amount, payTo,
 * asset, network, scheme or sponsor than offered).
 */
export function matchPayment(
  payment: RequestPayment,
  offered: readonly PaymentRequirements[],
  network: StacksNetwork,
  tokens?: ResolveAssetOptions,
): MatchedPayment | undefined {
  if (payment.version === 2) {
    const { accepted } = payment.payload;
    const requirements = offered.find((entry) => sameTerms(accepted, entry, network, tokens));
    return requirements ? { requirements, payload: payment.payload, version: 2 } : undefined;
  }
  if ('transaction' in payment) {
    const { transaction } = payment;
    const requirements = byTransaction(
      transaction,
      offered.filter((entry) => sameNetwork(entry.network, entry.payTo, network)),
      tokens,
    );
    if (!requirements) return undefined;
    return {
      requirements,
      payload: { x402Version: 2, accepted: requirements, payload: { transaction } },
      version: 1,
      legacy: true,
    };
  }
  const requirements = matchV1(payment.payload, offered, network, tokens);
  if (!requirements) return undefined;
  return {
    requirements,
    payload: { x402Version: 2, accepted: requirements, payload: payment.payload.payload },
    version: 1,
  };
}

function sameTerms(
  accepted: PaymentRequirements,
  offered: PaymentRequirements,
  network: StacksNetwork,
  tokens: ResolveAssetOptions | undefined,
): boolean {
  if (accepted.scheme !== offered.scheme || accepted.amount !== offered.amount) return false;
  if (accepted.payTo !== offered.payTo || !sameNetwork(accepted.network, accepted.payTo, network)) {
    return false;
  }
  // A sponsored offer must be paid sponsored by that sponsor, and an unsponsored one unsponsored. A peer may echo only
  // one of the two names of the sponsor.
  if (sponsorNamed(accepted) !== sponsorNamed(offered)) return false;
  // A batch-settlement payment opens or pays this route's channel terms: the escrow, its authorizer and the delay.
  if (offered.scheme === BATCH_SETTLEMENT) {
    for (const key of ['escrow', 'receiverAuthorizer', 'withdrawDelay'] as const) {
      if (accepted.extra?.[key] !== offered.extra?.[key]) return false;
    }
  }
  try {
    return (
      accepted.asset === offered.asset ||
      isSameAsset(accepted.asset, offered.asset, network, tokens)
    );
  } catch {
    return false;
  }
}

function sponsorNamed(requirements: PaymentRequirements): unknown {
  return requirements.extra?.sponsor ?? requirements.extra?.feePayer;
}

function matchV1(
  payload: PaymentPayloadV1,
  offered: readonly PaymentRequirements[],
  network: StacksNetwork,
  tokens: ResolveAssetOptions | undefined,
): PaymentRequirements | undefined {
  const candidates = offered.filter(
    (entry) =>
      entry.scheme === payload.scheme && sameNetwork(payload.network, entry.payTo, network),
  );
  const transaction = signedTransactionOf(payload.payload);
  return transaction === undefined ? candidates[0] : byTransaction(transaction, candidates, tokens);
}

// Several entries on one network: the one this transaction pays, checked offline (no chain state), else the first,
// whose refusal the facilitator then explains.
function byTransaction(
  transaction: string,
  candidates: readonly PaymentRequirements[],
  tokens: ResolveAssetOptions | undefined,
): PaymentRequirements | undefined {
  if (candidates.length <= 1) return candidates[0];
  return (
    candidates.find((entry) => checkPaymentTransaction(transaction, entry, { tokens }).isValid) ??
    candidates[0]
  );
}

function sameNetwork(input: string, payTo: string, network: StacksNetwork): boolean {
  try {
    return resolveNetwork(input, { payTo }).caip2 === network.caip2;
  } catch {
    return false;
  }
}

/**
 * The bytes of the transaction as the buyer signed it, or `undefined` when the payload carries no readable hex.
 * @example
 * ```ts
 * const raw = signedBytesOf(matched);
 * if (raw) console.log(readTransactionOrigin(raw)?.nonce);
 * ```
 */
export function signedBytesOf(matched: MatchedPayment): Uint8Array | undefined {
  const transaction = signedTransactionOf(matched.payload.payload);
  if (transaction === undefined || !HEX.test(transaction)) return undefined;
  return fromHex(transaction.replace(/^0x/, ''));
}

const HEX = /^(0x)?([0-9a-fA-F]{2})+$/;
