/**
 * Placing the artifacts in the x402 messages and finding them again: the offers in a 402's `extensions`, the receipt
 * in a settlement answer's, and the offer that belongs to a given `accepts[]` entry.
 * @module
 */
import type { z } from 'zod';
import { type ExtensionEnvelope, readExtensionInfo } from '../envelope.js';
import {
  OFFER_RECEIPT,
  OFFER_RECEIPT_VERSION,
  OFFERS_JSON_SCHEMA,
  OffersInfoSchema,
  RECEIPT_JSON_SCHEMA,
  ReceiptInfoSchema,
  type SignedArtifactSchema,
  type SignedOffer,
  type SignedReceipt,
} from './schema.js';

/**
 * A signed artifact of any format, as upstream's envelope shapes it.
 * @example
 * ```ts
 * const artifact: SignedArtifact = { format: 'eip712', payload: { amount: '1000' }, signature: '0x…' };
 * ```
 */
export type SignedArtifact = z.infer<typeof SignedArtifactSchema>;

/**
 * The 402's `extensions["offer-receipt"]` entry for these offers.
 * @example
 * ```ts
 * const extensions = { [OFFER_RECEIPT]: offersExtension(offers) };
 * ```
 */
export function offersExtension(offers: readonly SignedOffer[]): ExtensionEnvelope {
  return {
    info: { version: OFFER_RECEIPT_VERSION, offers: [...offers] },
    schema: OFFERS_JSON_SCHEMA,
  };
}

/**
 * The settlement answer's `extensions["offer-receipt"]` entry for this receipt.
 * @example
 * ```ts
 * const settlement = { success: true, transaction, network, extensions: { [OFFER_RECEIPT]: receiptExtension(r) } };
 * ```
 */
export function receiptExtension(receipt: SignedReceipt): ExtensionEnvelope {
  return { info: { version: OFFER_RECEIPT_VERSION, receipt }, schema: RECEIPT_JSON_SCHEMA };
}

/**
 * The signed offers in a 402's `extensions` (any format; empty when there are none or the entry is malformed).
 * @example
 * ```ts
 * const offers = readSignedOffers(paymentRequired.extensions);
 * ```
 */
export function readSignedOffers(
  extensions: Readonly<Record<string, unknown>> | null | undefined,
): readonly SignedArtifact[] {
  const read = readExtensionInfo(extensions ?? undefined, OFFER_RECEIPT, OffersInfoSchema);
  return read.status === 'present' ? read.info.offers : [];
}

/**
 * The signed receipt in a settlement answer's `extensions` (any format), if there is one.
 * @example
 * ```ts
 * const receipt = readSignedReceipt(decodePaymentResponse(header)?.extensions);
 * ```
 */
export function readSignedReceipt(
  extensions: Readonly<Record<string, unknown>> | null | undefined,
): SignedArtifact | undefined {
  const read = readExtensionInfo(extensions ?? undefined, OFFER_RECEIPT, ReceiptInfoSchema);
  return read.status === 'present' ? read.info.receipt : undefined;
}

/**
 * The fields of an `accepts[]` entry an offer is matched on.
 * @example
 * ```ts
 * const terms: OfferedTerms = paymentRequired.accepts[0]!;
 * ```
 */
export type OfferedTerms = {
  readonly scheme: string;
  readonly network: string;
  readonly asset: string;
  readonly payTo: string;
  readonly amount: string;
};

/**
 * The signed offer whose payload states `terms` (scheme, network, asset, payTo, amount), trying `acceptIndex` first
 * as upstream does: the index is a hint, the fields decide. Only offers with a payload (not JWS) can match.
 * @example
 * ```ts
 * const offer = findSignedOffer(readSignedOffers(paymentRequired.extensions), accepts[0], 0);
 * ```
 */
export function findSignedOffer(
  offers: readonly SignedArtifact[],
  terms: OfferedTerms,
  acceptIndex?: number,
): SignedArtifact | undefined {
  const matches = (offer: SignedArtifact) => {
    const payload = offer.payload;
    return (
      payload !== undefined &&
      payload.scheme === terms.scheme &&
      payload.network === terms.network &&
      payload.asset === terms.asset &&
      payload.payTo === terms.payTo &&
      payload.amount === terms.amount
    );
  };
  const hinted = offers.find((offer) => offer.acceptIndex === acceptIndex && matches(offer));
  return hinted ?? offers.find(matches);
}
