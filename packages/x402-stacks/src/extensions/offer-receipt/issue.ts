/**
 * Making signed offers and receipts: the payload from the seller's terms, the tuple, the SIP-018 signature.
 * @module
 */
import {
  OFFER_RECEIPT_VERSION,
  type OfferPayload,
  type ReceiptPayload,
  SIP018_FORMAT,
  type SignedOffer,
  type SignedReceipt,
} from './schema.js';
import { type BoundSigner, bindSigner, isBoundSigner, type OfferReceiptSigner } from './signer.js';
import { offerReceiptDomain, offerTupleCV, receiptTupleCV, structuredDomainOf } from './tuples.js';

/**
 * The terms of one `accepts[]` entry, as an offer states them.
 * @example
 * ```ts
 * const terms: OfferTerms = { ...paymentRequired.accepts[0]!, resourceUrl: paymentRequired.resource.url };
 * ```
 */
export type OfferTerms = {
  readonly resourceUrl: string;
  readonly scheme: string;
  /** CAIP-2. */
  readonly network: string;
  readonly asset: string;
  readonly payTo: string;
  /** Atomic units, an integer string. */
  readonly amount: string;
};

/**
 * The host of a resource URL: the service name an artifact's domain carries unless the seller names another.
 * @example
 * ```ts
 * defaultServiceName('https://api.example.com:8443/data'); // 'api.example.com:8443'
 * ```
 */
export function defaultServiceName(resourceUrl: string): string {
  return new URL(resourceUrl).host;
}

/**
 * Signs an offer for `terms`, good until `validUntil` (Unix seconds).
 * @example
 * ```ts
 * const offer = await signOffer({ resourceUrl, scheme: 'exact', network: 'stacks:1', asset: 'STX', payTo,
 *   amount: '1000' }, { signer: process.env.SELLER_SIGNING_KEY!, validUntil: nowSeconds + 300 });
 * ```
 */
export async function signOffer(
  terms: OfferTerms,
  options: {
    readonly signer: OfferReceiptSigner | BoundSigner;
    readonly validUntil: number;
    readonly serviceName?: string;
    readonly acceptIndex?: number;
  },
): Promise<SignedOffer> {
  const payload: OfferPayload = {
    version: OFFER_RECEIPT_VERSION,
    resourceUrl: terms.resourceUrl,
    scheme: terms.scheme,
    network: terms.network,
    asset: terms.asset,
    payTo: terms.payTo,
    amount: terms.amount,
    validUntil: options.validUntil,
  };
  const domain = offerReceiptDomain(
    options.serviceName ?? defaultServiceName(terms.resourceUrl),
    terms.network,
  );
  const signer = bound(options.signer, terms.network);
  const signature = await signer.sign(structuredDomainOf(domain), offerTupleCV(payload));
  return {
    format: SIP018_FORMAT,
    ...(options.acceptIndex === undefined ? {} : { acceptIndex: options.acceptIndex }),
    payload,
    domain,
    signature,
  };
}

/**
 * What a receipt states: the settlement of one offer's terms.
 * @example
 * ```ts
 * const facts: ReceiptFacts = { ...terms, payer, transaction: txid, issuedAt: Math.floor(Date.now() / 1000) };
 * ```
 */
export type ReceiptFacts = Omit<OfferTerms, 'scheme'> & {
  readonly payer: string;
  /** The on-chain txid (hex, with or without `0x`). */
  readonly transaction: string;
  /** Unix seconds. */
  readonly issuedAt: number;
};

/**
 * Signs a receipt for a settled payment.
 * @example
 * ```ts
 * const receipt = await signReceipt({ resourceUrl, network: 'stacks:1', asset: 'STX', payTo, amount: '1000', payer,
 *   transaction: txid, issuedAt: nowSeconds }, { signer: process.env.SELLER_SIGNING_KEY! });
 * ```
 */
export async function signReceipt(
  facts: ReceiptFacts,
  options: { readonly signer: OfferReceiptSigner | BoundSigner; readonly serviceName?: string },
): Promise<SignedReceipt> {
  const payload: ReceiptPayload = {
    version: OFFER_RECEIPT_VERSION,
    network: facts.network,
    resourceUrl: facts.resourceUrl,
    payer: facts.payer,
    issuedAt: facts.issuedAt,
    transaction: facts.transaction,
    payTo: facts.payTo,
    asset: facts.asset,
    amount: facts.amount,
  };
  const domain = offerReceiptDomain(
    options.serviceName ?? defaultServiceName(facts.resourceUrl),
    facts.network,
  );
  const signer = bound(options.signer, facts.network);
  const signature = await signer.sign(structuredDomainOf(domain), receiptTupleCV(payload));
  return { format: SIP018_FORMAT, payload, domain, signature };
}

function bound(signer: OfferReceiptSigner | BoundSigner, network: string): BoundSigner {
  return isBoundSigner(signer) ? signer : bindSigner(signer, network);
}
