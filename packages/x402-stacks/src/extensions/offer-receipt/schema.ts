/**
 * The wire shapes of the `offer-receipt` extension on Stacks: a signed offer per `accepts[]` entry in the 402, and a
 * signed receipt in the `payment-response`. The envelope follows upstream (`{ format, payload, signature }`, offers in
 * `extensions["offer-receipt"].info.offers`, the receipt in `.info.receipt`); the format `sip018` and its `domain`
 * field are our definition, since upstream signs only with JWS or EIP-712.
 * @module
 */
import { z } from 'zod';

/**
 * The extension's key in an `extensions` object.
 * @example
 * ```ts
 * paymentRequired.extensions?.[OFFER_RECEIPT]; // { info: { version: 1, offers: [...] }, schema }
 * ```
 */
export const OFFER_RECEIPT = 'offer-receipt';

/**
 * The version of the signed payloads and of the extension's `info` (upstream's `1`).
 * @example
 * ```ts
 * offer.payload.version === OFFER_RECEIPT_VERSION;
 * ```
 */
export const OFFER_RECEIPT_VERSION = 1;

/**
 * Our signature format: a SIP-018 structured-data signature by the seller's Stacks key.
 * @example
 * ```ts
 * if (offer.format === SIP018_FORMAT) verifyOffer(offer, { signer: SELLER });
 * ```
 */
export const SIP018_FORMAT = 'sip018';

// What a Clarity uint holds: an unsigned 128-bit integer, written as a decimal string on the wire.
const MAX_UINT128 = (1n << 128n) - 1n;
const UintString = z
  .string()
  .regex(/^(0|[1-9][0-9]*)$/, 'expected an integer string')
  // zod runs every check, so the digits are tested again before BigInt sees the value.
  .refine(
    (value) => !/^[0-9]+$/.test(value) || BigInt(value) <= MAX_UINT128,
    'above the largest Clarity uint',
  );
// Clarity `string-ascii` takes printable ASCII; the tuple is what is signed, so the JSON must fit it.
const Ascii = z.string().regex(/^[\x20-\x7e]*$/, 'expected printable ASCII');
const Seconds = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/**
 * The terms a signed offer commits to (upstream's offer payload; `amount` exact, `validUntil` in Unix seconds).
 * @example
 * ```ts
 * OfferPayloadSchema.parse({ version: 1, resourceUrl: 'https://api.example.com/data', scheme: 'exact',
 *   network: 'stacks:1', asset: 'STX', payTo: 'SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7', amount: '1000',
 *   validUntil: 1767225600 });
 * ```
 */
export const OfferPayloadSchema = z.looseObject({
  version: z.number().int().positive(),
  resourceUrl: Ascii.min(1),
  scheme: Ascii.min(1),
  network: Ascii.min(1),
  asset: Ascii.min(1),
  payTo: z.string().min(1),
  amount: UintString,
  validUntil: Seconds,
});

/**
 * An offer's payload, as {@link OfferPayloadSchema} reads it.
 * @example
 * ```ts
 * const terms: OfferPayload = signedOffer.payload; // terms.amount: '1000', terms.validUntil: 1767225600
 * ```
 */
export type OfferPayload = {
  readonly version: number;
  readonly resourceUrl: string;
  readonly scheme: string;
  readonly network: string;
  readonly asset: string;
  readonly payTo: string;
  readonly amount: string;
  readonly validUntil: number;
};

/**
 * What a signed receipt states about a settlement (upstream's receipt payload, plus what the buyer paid: `payTo`,
 * `asset` and `amount`, so a receipt can be matched to the offer it answers).
 * @example
 * ```ts
 * ReceiptPayloadSchema.parse({ version: 1, network: 'stacks:1', resourceUrl, payer, issuedAt: 1767225600,
 *   transaction: '0x…', payTo, asset: 'STX', amount: '1000' });
 * ```
 */
export const ReceiptPayloadSchema = z.looseObject({
  version: z.number().int().positive(),
  network: Ascii.min(1),
  resourceUrl: Ascii.min(1),
  payer: z.string().min(1),
  issuedAt: Seconds,
  transaction: z.string().regex(/^(0x)?[0-9a-fA-F]{64}$/, 'expected a 32-byte txid in hex'),
  payTo: z.string().min(1),
  asset: Ascii.min(1),
  amount: UintString,
});

/**
 * A receipt's payload, as {@link ReceiptPayloadSchema} reads it.
 * @example
 * ```ts
 * const paid: ReceiptPayload = signedReceipt.payload; // paid.transaction: the settled txid
 * ```
 */
export type ReceiptPayload = {
  readonly version: number;
  readonly network: string;
  readonly resourceUrl: string;
  readonly payer: string;
  readonly issuedAt: number;
  readonly transaction: string;
  readonly payTo: string;
  readonly asset: string;
  readonly amount: string;
};

/**
 * The SIP-018 domain an artifact was signed under, sent beside it so a verifier can tell a wrong domain from a wrong
 * key: `name` is the seller's service name (by default the resource URL's host), `chainId` the network's.
 */
export const Sip018DomainSchema = z.object({
  name: Ascii.min(1),
  version: Ascii.min(1),
  chainId: Seconds,
});

/**
 * An artifact's SIP-018 domain, as {@link Sip018DomainSchema} reads it.
 * @example
 * ```ts
 * const domain: Sip018Domain = { name: 'api.example.com', version: '1', chainId: 1 };
 * ```
 */
export type Sip018Domain = z.infer<typeof Sip018DomainSchema>;

/**
 * Any signed offer or receipt, whatever its format: what upstream's envelope shares. Foreign formats (`jws`,
 * `eip712`) parse here, so they can be listed, but only `sip018` is verified.
 */
export const SignedArtifactSchema = z.looseObject({
  format: z.string().min(1),
  payload: z.record(z.string(), z.unknown()).optional(),
  signature: z.string().min(1),
});

/**
 * A signed offer in our format.
 * @example
 * ```ts
 * const offer: SignedOffer = { format: 'sip018', acceptIndex: 0, payload, domain, signature };
 * ```
 */
export type SignedOffer = {
  readonly format: typeof SIP018_FORMAT;
  /** The `accepts[]` entry it signs (a hint, unsigned: matching is by the payload's fields). */
  readonly acceptIndex?: number;
  readonly payload: OfferPayload;
  readonly domain: Sip018Domain;
  /** 65 bytes, RSV, in hex: the seller's SIP-018 signature of the offer tuple under `domain`. */
  readonly signature: string;
};

/**
 * A signed receipt in our format.
 * @example
 * ```ts
 * const receipt: SignedReceipt = { format: 'sip018', payload, domain, signature };
 * ```
 */
export type SignedReceipt = {
  readonly format: typeof SIP018_FORMAT;
  readonly payload: ReceiptPayload;
  readonly domain: Sip018Domain;
  /** 65 bytes, RSV, in hex: the seller's SIP-018 signature of the receipt tuple under `domain`. */
  readonly signature: string;
};

/** The 402's `info`: upstream's `offers`, with the `version` the spec adds. */
export const OffersInfoSchema = z.looseObject({
  version: z.number().int().positive().optional(),
  offers: z.array(SignedArtifactSchema),
});

/** The `payment-response`'s `info`: the receipt, with the `version` the spec adds. */
export const ReceiptInfoSchema = z.looseObject({
  version: z.number().int().positive().optional(),
  receipt: SignedArtifactSchema,
});

const SIP018_ARTIFACT = {
  format: { type: 'string', const: SIP018_FORMAT },
  domain: {
    type: 'object',
    properties: {
      name: { type: 'string' },
      version: { type: 'string' },
      chainId: { type: 'integer' },
    },
    required: ['name', 'version', 'chainId'],
  },
  signature: { type: 'string' },
};

/** The JSON Schema sent beside the offers, as upstream sends one beside its own. */
export const OFFERS_JSON_SCHEMA: Readonly<Record<string, unknown>> = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  properties: {
    version: { type: 'integer' },
    offers: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          ...SIP018_ARTIFACT,
          acceptIndex: { type: 'integer' },
          payload: {
            type: 'object',
            properties: {
              version: { type: 'integer' },
              resourceUrl: { type: 'string' },
              scheme: { type: 'string' },
              network: { type: 'string' },
              asset: { type: 'string' },
              payTo: { type: 'string' },
              amount: { type: 'string' },
              validUntil: { type: 'integer' },
            },
            required: [
              'version',
              'resourceUrl',
              'scheme',
              'network',
              'asset',
              'payTo',
              'amount',
              'validUntil',
            ],
          },
        },
        required: ['format', 'payload', 'domain', 'signature'],
      },
    },
  },
  required: ['offers'],
};

/** The JSON Schema sent beside the receipt. */
export const RECEIPT_JSON_SCHEMA: Readonly<Record<string, unknown>> = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  properties: {
    version: { type: 'integer' },
    receipt: {
      type: 'object',
      properties: {
        ...SIP018_ARTIFACT,
        payload: {
          type: 'object',
          properties: {
            version: { type: 'integer' },
            network: { type: 'string' },
            resourceUrl: { type: 'string' },
            payer: { type: 'string' },
            issuedAt: { type: 'integer' },
            transaction: { type: 'string' },
            payTo: { type: 'string' },
            asset: { type: 'string' },
            amount: { type: 'string' },
          },
          required: [
            'version',
            'network',
            'resourceUrl',
            'payer',
            'issuedAt',
            'transaction',
            'payTo',
            'asset',
            'amount',
          ],
        },
      },
      required: ['format', 'payload', 'domain', 'signature'],
    },
  },
  required: ['receipt'],
};
