/**
 * The Clarity values a seller signs with SIP-018 for an offer and a receipt, and the domain they are signed under.
 * This is our definition (upstream has no Stacks format); the README's "offer-receipt on Stacks" section documents
 * each field and its Clarity type. A `kind` field keeps an offer's signature from ever passing as a receipt's.
 * @module
 */
import {
  bufferCV,
  type ClarityValue,
  principalCV,
  stringAsciiCV,
  tupleCV,
  uintCV,
} from '@stacks/transactions';
import { parsePrincipal } from '../../stacks/address.js';
import { fromHex } from '../../stacks/bytes.js';
import { resolveNetwork } from '../../stacks/networks.js';
import type { StructuredDataDomain } from '../../stacks/structured-data.js';
import type { OfferPayload, ReceiptPayload, Sip018Domain } from './schema.js';

/** The SIP-018 domain version of both artifacts. */
export const OFFER_RECEIPT_DOMAIN_VERSION = '1';

/**
 * The domain of a seller's artifacts on a network: the service name (default: the resource URL's host), version
 * `"1"`, and the network's chain id.
 * @example
 * ```ts
 * offerReceiptDomain('api.example.com', 'stacks:1'); // { name: 'api.example.com', version: '1', chainId: 1 }
 * ```
 */
export function offerReceiptDomain(serviceName: string, network: string): Sip018Domain {
  return {
    name: serviceName,
    version: OFFER_RECEIPT_DOMAIN_VERSION,
    chainId: resolveNetwork(network).chainId,
  };
}

/** The domain as `signStructuredData` takes it. */
export function structuredDomainOf(domain: Sip018Domain): StructuredDataDomain {
  return { name: domain.name, version: domain.version, chainId: domain.chainId };
}

/**
 * The tuple an offer's signature covers:
 * `{ kind: "x402-offer", version: uint, resource-url, scheme, network, asset: string-ascii, pay-to: principal,
 * amount: uint, valid-until: uint }`.
 * @throws {InvalidAddressError} when `payTo` is not a principal.
 * @example
 * ```ts
 * const message = offerTupleCV(payload);
 * ```
 */
export function offerTupleCV(payload: OfferPayload): ClarityValue {
  return tupleCV({
    kind: stringAsciiCV('x402-offer'),
    version: uintCV(payload.version),
    'resource-url': stringAsciiCV(payload.resourceUrl),
    scheme: stringAsciiCV(payload.scheme),
    network: stringAsciiCV(payload.network),
    asset: stringAsciiCV(payload.asset),
    'pay-to': principalOf(payload.payTo),
    amount: uintCV(BigInt(payload.amount)),
    'valid-until': uintCV(payload.validUntil),
  });
}

/**
 * The tuple a receipt's signature covers:
 * `{ kind: "x402-receipt", version: uint, resource-url, network, asset: string-ascii, payer, pay-to: principal,
 * amount: uint, transaction: (buff 32), issued-at: uint }`.
 * @throws {InvalidAddressError} when `payer` or `payTo` is not a principal.
 * @example
 * ```ts
 * const message = receiptTupleCV(payload);
 * ```
 */
export function receiptTupleCV(payload: ReceiptPayload): ClarityValue {
  const txid = payload.transaction.startsWith('0x')
    ? payload.transaction.slice(2)
    : payload.transaction;
  return tupleCV({
    kind: stringAsciiCV('x402-receipt'),
    version: uintCV(payload.version),
    'resource-url': stringAsciiCV(payload.resourceUrl),
    network: stringAsciiCV(payload.network),
    asset: stringAsciiCV(payload.asset),
    payer: principalOf(payload.payer),
    'pay-to': principalOf(payload.payTo),
    amount: uintCV(BigInt(payload.amount)),
    transaction: bufferCV(fromHex(txid.toLowerCase())),
    'issued-at': uintCV(payload.issuedAt),
  });
}

// Checked by our parser first, so a bad address is our named error, never the serializer's.
function principalOf(principal: string): ClarityValue {
  parsePrincipal(principal);
  return principalCV(principal);
}
