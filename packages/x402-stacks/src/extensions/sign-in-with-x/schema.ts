/**
 * The `sign-in-with-x` envelope as the x402 extension defines it (a CAIP-122 challenge in the 402, a signed proof in
 * the `sign-in-with-x` request header), with the Stacks signature type this library adds: `sip018`, a SIP-018
 * structured-data signature. Upstream defines only `eip191` (EVM) and `ed25519` (Solana); `sip018` is our definition,
 * written out in the package README so another implementation can produce it.
 * @module
 */
import { z } from 'zod';

/**
 * The extension's key in `extensions`, and (case-insensitively) the name of the request header carrying the proof.
 * @example
 * ```ts
 * paymentRequired.extensions?.[SIGN_IN_WITH_X];
 * ```
 */
export const SIGN_IN_WITH_X = 'sign-in-with-x';

/**
 * The signature type of a Stacks proof: a SIP-018 structured-data signature over the tuple the README describes.
 * @example
 * ```ts
 * supportedChains.find((chain) => chain.type === SIWX_STACKS_SIGNATURE_TYPE);
 * ```
 */
export const SIWX_STACKS_SIGNATURE_TYPE = 'sip018';

// What a Clarity `string-ascii` can hold; the SIP-018 tuple carries these fields as such.
const ASCII = /^[\x20-\x7e]*$/;
const ascii = (max: number) =>
  z.string().max(max).regex(ASCII, 'expected printable ASCII (a Clarity string-ascii)');
const timestamp = ascii(64).refine(
  (text) => !Number.isNaN(Date.parse(text)),
  'expected an ISO 8601 timestamp',
);

/**
 * The challenge a seller puts in `extensions['sign-in-with-x'].info`: the CAIP-122 fields the buyer signs.
 * @example
 * ```ts
 * SiwxInfoSchema.parse({ domain: 'api.example.com', uri: 'https://api.example.com/data', version: '1',
 *   nonce: '9f2c…', issuedAt: '2026-01-01T00:00:00.000Z' });
 * ```
 */
export const SiwxInfoSchema = z.looseObject({
  /** The host (and port, if any) the seller is reached at, as the buyer's URL names it. */
  domain: ascii(255).min(1),
  /** The resource URL. */
  uri: ascii(2048).min(1),
  /** CAIP-122 version: `'1'`. */
  version: ascii(16).min(1),
  /** Chosen by the seller; single use. */
  nonce: ascii(128).min(8),
  issuedAt: timestamp,
  statement: z.string().max(1024).optional(),
  expirationTime: timestamp.optional(),
  notBefore: timestamp.optional(),
  requestId: ascii(256).optional(),
  resources: z.array(ascii(2048)).max(32).optional(),
});

/**
 * The challenge fields, as {@link SiwxInfoSchema} reads them.
 * @example
 * ```ts
 * const info: SiwxInfo = { domain: 'api.example.com', uri: 'https://api.example.com/data', version: '1',
 *   nonce: 'a8f3c2d1e0b94f6a', issuedAt: new Date().toISOString() };
 * ```
 */
export type SiwxInfo = z.infer<typeof SiwxInfoSchema>;

/**
 * One way to sign in the seller accepts: a CAIP-2 chain and a signature type (`sip018` for Stacks).
 * @example
 * ```ts
 * const chain: SiwxSupportedChain = { chainId: 'stacks:2147483648', type: 'sip018' };
 * ```
 */
export const SiwxSupportedChainSchema = z.looseObject({
  chainId: z.string().min(1),
  type: z.string().min(1),
  signatureScheme: z.string().optional(),
});

/**
 * One entry of `supportedChains`.
 * @example
 * ```ts
 * const chain: SiwxSupportedChain | undefined = siwxStacksChain(declared, 'stacks:1');
 * ```
 */
export type SiwxSupportedChain = z.infer<typeof SiwxSupportedChainSchema>;

/**
 * The whole `extensions['sign-in-with-x']` entry of a 402: `info`, `supportedChains` (beside `info`, as upstream puts
 * it) and the JSON Schema of the proof.
 * @example
 * ```ts
 * const declared = SiwxDeclarationSchema.safeParse(paymentRequired.extensions?.['sign-in-with-x']);
 * ```
 */
export const SiwxDeclarationSchema = z.looseObject({
  info: SiwxInfoSchema,
  supportedChains: z.array(SiwxSupportedChainSchema).max(32),
  schema: z.record(z.string(), z.unknown()).optional(),
});

/**
 * A 402's sign-in-with-x entry, as {@link SiwxDeclarationSchema} reads it.
 * @example
 * ```ts
 * const declared: SiwxDeclaration | undefined = readSiwxDeclaration(paymentRequired.extensions);
 * if (declared) console.log(declared.info.nonce, declared.supportedChains.length);
 * ```
 */
export type SiwxDeclaration = z.infer<typeof SiwxDeclarationSchema>;

/**
 * The proof a buyer sends in the `sign-in-with-x` header (base64 of this JSON): the challenge's fields echoed, the
 * chain and type it chose, its address and the signature.
 * @example
 * ```ts
 * const proof = SiwxPayloadSchema.parse(JSON.parse(base64ToUtf8(header)));
 * ```
 */
export const SiwxPayloadSchema = SiwxInfoSchema.extend({
  address: ascii(128).min(1),
  chainId: ascii(64).min(1),
  type: ascii(32).min(1),
  signatureScheme: ascii(32).optional(),
  /** For `sip018`: the 65-byte RSV signature as 130 hex characters, with or without `0x`. */
  signature: ascii(1024).min(1),
});

/**
 * A sign-in proof, as {@link SiwxPayloadSchema} reads it.
 * @example
 * ```ts
 * const proof: SiwxPayload = await createSiwxStacksProof(declared.info, 'stacks:1', account.address, signer);
 * headers.set('sign-in-with-x', encodeSiwxHeader(proof));
 * ```
 */
export type SiwxPayload = z.infer<typeof SiwxPayloadSchema>;

/**
 * The JSON Schema of the proof, for the `schema` field of the declaration: the fields upstream lists, `type` open to
 * `sip018`.
 * @example
 * ```ts
 * const entry = { info, supportedChains, schema: siwxProofJsonSchema() };
 * ```
 */
export function siwxProofJsonSchema(): Record<string, unknown> {
  return PROOF_JSON_SCHEMA;
}

// Built once, frozen (it is shared): every 402 of a route with sign-in carries it.
const PROOF_JSON_SCHEMA: Record<string, unknown> = deepFreeze(buildProofJsonSchema());

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

function buildProofJsonSchema(): Record<string, unknown> {
  const text = { type: 'string' };
  const time = { type: 'string', format: 'date-time' };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    properties: {
      domain: text,
      address: text,
      statement: text,
      uri: { type: 'string', format: 'uri' },
      version: text,
      chainId: text,
      type: text,
      nonce: text,
      issuedAt: time,
      expirationTime: time,
      notBefore: time,
      requestId: text,
      resources: { type: 'array', items: { type: 'string', format: 'uri' } },
      signature: text,
    },
    required: [
      'domain',
      'address',
      'uri',
      'version',
      'chainId',
      'type',
      'nonce',
      'issuedAt',
      'signature',
    ],
  };
}
