/**
 * The proof of a Stacks sign-in: reading the `sign-in-with-x` header, checking a proof against what the seller
 * expects (every refusal named), and making one from a challenge. Pure: the seller's nonce bookkeeping and payment
 * history stay on the seller's side, passed in as a callback.
 * @module
 */
import type { ClarityValue } from '@stacks/transactions';
import { base64ToUtf8, isStandardBase64, utf8ToBase64 } from '../../protocol/base64.js';
import { parseStacksAddress } from '../../stacks/address.js';
import type { StacksNetwork } from '../../stacks/networks.js';
import {
  type StructuredDataDomain,
  verifyStructuredDataSignature,
} from '../../stacks/structured-data.js';
import { siwxStacksDomain, siwxStacksMessage, siwxStacksNetwork } from './message.js';
import {
  SIWX_STACKS_SIGNATURE_TYPE,
  type SiwxInfo,
  type SiwxPayload,
  SiwxPayloadSchema,
} from './schema.js';

/**
 * Why a sign-in proof was refused. Upstream's names where it has one (`invalid_siwx_domain_mismatch`, …); the rest are
 * ours, in the same family.
 * @example
 * ```ts
 * const reason: SiwxRefusalReason = 'invalid_siwx_nonce_reused';
 * ```
 */
export type SiwxRefusalReason =
  | 'invalid_siwx_header'
  | 'invalid_siwx_domain_mismatch'
  | 'invalid_siwx_uri_mismatch'
  | 'invalid_siwx_unsupported_chain'
  | 'invalid_siwx_chain_id'
  | 'invalid_siwx_issued_at_in_future'
  | 'invalid_siwx_expired'
  | 'invalid_siwx_not_yet_valid'
  | 'invalid_siwx_nonce'
  | 'invalid_siwx_nonce_reused'
  | 'invalid_siwx_malformed_signature'
  | 'invalid_siwx_high_s_signature'
  | 'invalid_siwx_signature'
  | 'siwx_capacity_exceeded';

/**
 * A refused proof: the reason and a sentence for the buyer.
 * @example
 * ```ts
 * const read = readSiwxHeader(header);
 * if (!read.ok) return reply(402, { error: read.reason, message: read.message });
 * ```
 */
export type SiwxRefusal = { readonly reason: SiwxRefusalReason; readonly message: string };

/**
 * The verdict of {@link verifySiwxStacksProof}: the signer's address and network, or why not.
 * @example
 * ```ts
 * if (verdict.ok) grant(verdict.address);
 * ```
 */
export type SiwxVerdict =
  | { readonly ok: true; readonly address: string; readonly network: StacksNetwork }
  | ({ readonly ok: false } & SiwxRefusal);

/**
 * What the seller expects of a proof.
 * @example
 * ```ts
 * const expected: SiwxExpectations = { domain: 'api.example.com', uri, chainIds: ['stacks:1'], now: Date.now() };
 * ```
 */
export type SiwxExpectations = {
  /** The seller's configured domain (host[:port]); never the request's `Host` header. */
  readonly domain: string;
  /** The resource URL the proof must name. */
  readonly uri: string;
  /** The CAIP-2 chains the seller accepts a sign-in on. */
  readonly chainIds: readonly string[];
  /** The time to judge by, in ms since the epoch. */
  readonly now: number;
  /** How far ahead of `now` an `issuedAt` may be (clocks of several processes differ). Default 30,000 ms. */
  readonly clockSkewMs?: number;
  /** Whether the seller issued this challenge as echoed (its nonce and fields); omitted, any nonce passes. */
  readonly issued?: (payload: SiwxPayload) => boolean;
};

const refuse = (reason: SiwxRefusalReason, message: string): SiwxVerdict => ({
  ok: false,
  reason,
  message,
});

// A header is a few hundred bytes; past this it is not a proof, and it is not decoded.
const MAX_HEADER_LENGTH = 8_192;

/**
 * Reads the `sign-in-with-x` header: base64 of the proof's JSON. A malformed one is a refusal, never a throw.
 * @example
 * ```ts
 * const read = readSiwxHeader(request.header('sign-in-with-x')!);
 * if (read.ok) check(read.payload);
 * ```
 */
export function readSiwxHeader(
  value: string,
): { readonly ok: true; readonly payload: SiwxPayload } | ({ readonly ok: false } & SiwxRefusal) {
  const text = value.trim();
  if (text.length > MAX_HEADER_LENGTH || !isStandardBase64(text)) {
    return {
      ok: false,
      reason: 'invalid_siwx_header',
      message: 'the sign-in-with-x header is not base64',
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(base64ToUtf8(text));
  } catch {
    return {
      ok: false,
      reason: 'invalid_siwx_header',
      message: 'the sign-in-with-x header is not base64 of JSON',
    };
  }
  const parsed = SiwxPayloadSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    return {
      ok: false,
      reason: 'invalid_siwx_header',
      message: `the sign-in-with-x proof is malformed: ${where}${issue?.message ?? 'invalid'}`,
    };
  }
  return { ok: true, payload: parsed.data };
}

/**
 * The `sign-in-with-x` header value of a proof.
 * @example
 * ```ts
 * headers.set('sign-in-with-x', encodeSiwxHeader(proof));
 * ```
 */
export function encodeSiwxHeader(payload: SiwxPayload): string {
  return utf8ToBase64(JSON.stringify(payload));
}

/**
 * Checks a Stacks (`sip018`) proof against the seller's expectations, in this order: domain, uri, chain and type,
 * address on that chain, time (`issuedAt` not ahead, `notBefore` passed, `expirationTime` not reached), the nonce was
 * issued by the seller as echoed, then the SIP-018 signature by `address`. Whether the nonce was already used, and
 * whether the address paid, is the seller's to decide after.
 * @example
 * ```ts
 * const verdict = verifySiwxStacksProof(proof, { domain: 'api.example.com', uri, chainIds: ['stacks:1'], now: Date.now() });
 * if (!verdict.ok) console.log(verdict.reason); // e.g. 'invalid_siwx_expired'
 * ```
 */
export function verifySiwxStacksProof(
  payload: SiwxPayload,
  expected: SiwxExpectations,
): SiwxVerdict {
  if (payload.domain !== expected.domain) {
    return refuse(
      'invalid_siwx_domain_mismatch',
      `the proof is for ${JSON.stringify(payload.domain)}, this seller is ${JSON.stringify(expected.domain)}`,
    );
  }
  if (payload.uri !== expected.uri) {
    return refuse(
      'invalid_siwx_uri_mismatch',
      `the proof is for another resource than ${expected.uri}`,
    );
  }
  const network = siwxStacksNetwork(payload.chainId);
  if (
    !network ||
    payload.type !== SIWX_STACKS_SIGNATURE_TYPE ||
    !expected.chainIds.includes(payload.chainId)
  ) {
    return refuse(
      'invalid_siwx_unsupported_chain',
      `sign-in is accepted on ${expected.chainIds.join(', ')} with type ${SIWX_STACKS_SIGNATURE_TYPE}, not ${payload.chainId} with ${payload.type}`,
    );
  }
  let multiSig: boolean;
  try {
    multiSig = parseStacksAddress(payload.address, network).multiSig;
  } catch {
    return refuse(
      'invalid_siwx_chain_id',
      `the address is not a Stacks address of ${payload.chainId}`,
    );
  }
  if (multiSig) {
    return refuse('invalid_siwx_signature', 'a multi-signature address cannot sign in alone');
  }
  const skew = expected.clockSkewMs ?? 30_000;
  if (Date.parse(payload.issuedAt) > expected.now + skew) {
    return refuse('invalid_siwx_issued_at_in_future', 'the proof is issued in the future');
  }
  if (payload.notBefore !== undefined && Date.parse(payload.notBefore) > expected.now) {
    return refuse('invalid_siwx_not_yet_valid', `the proof is valid from ${payload.notBefore}`);
  }
  if (payload.expirationTime !== undefined && Date.parse(payload.expirationTime) <= expected.now) {
    return refuse('invalid_siwx_expired', `the proof expired at ${payload.expirationTime}`);
  }
  if (expected.issued && !expected.issued(payload)) {
    return refuse(
      'invalid_siwx_nonce',
      'this seller did not issue this challenge (unknown nonce, or a field of the challenge changed)',
    );
  }
  const verdict = verifyStructuredDataSignature(
    siwxStacksDomain(payload, network),
    siwxStacksMessage(payload),
    payload.signature,
    payload.address,
  );
  if (verdict.valid) return { ok: true, address: payload.address, network };
  if (verdict.problem === 'malformed_signature') {
    return refuse('invalid_siwx_malformed_signature', 'the signature is not 65 bytes of RSV hex');
  }
  if (verdict.problem === 'high_s_signature') {
    return refuse(
      'invalid_siwx_high_s_signature',
      'the signature is in its high-S form; only the low-S form is accepted',
    );
  }
  return refuse('invalid_siwx_signature', 'the signature is not the address’s over this proof');
}

/**
 * Signs SIP-018 structured data: a private key held here (`signStructuredData`), a wallet, or a remote signer. Returns
 * the 65-byte RSV signature as hex.
 * @example
 * ```ts
 * const signer: StructuredDataSigner = (domain, message) => signStructuredData(privateKey, domain, message);
 * ```
 */
export type StructuredDataSigner = (
  domain: StructuredDataDomain,
  message: ClarityValue,
) => string | Promise<string>;

/**
 * Makes the proof for a challenge: the challenge's fields echoed, the chain, `sip018`, the address and its signature.
 * @example
 * ```ts
 * const proof = await createSiwxStacksProof(declaration.info, 'stacks:2147483648', account.address, signer);
 * headers.set('sign-in-with-x', encodeSiwxHeader(proof));
 * ```
 */
export async function createSiwxStacksProof(
  info: SiwxInfo,
  chainId: string,
  address: string,
  sign: StructuredDataSigner,
): Promise<SiwxPayload> {
  const network = siwxStacksNetwork(chainId);
  if (!network) throw new TypeError(`${chainId} is not a Stacks chain`);
  const fields = {
    domain: info.domain,
    uri: info.uri,
    version: info.version,
    nonce: info.nonce,
    issuedAt: info.issuedAt,
    ...(info.statement === undefined ? {} : { statement: info.statement }),
    ...(info.expirationTime === undefined ? {} : { expirationTime: info.expirationTime }),
    ...(info.notBefore === undefined ? {} : { notBefore: info.notBefore }),
    ...(info.requestId === undefined ? {} : { requestId: info.requestId }),
    ...(info.resources === undefined ? {} : { resources: info.resources }),
    address,
    chainId,
  };
  const signature = await sign(siwxStacksDomain(fields, network), siwxStacksMessage(fields));
  return { ...fields, type: SIWX_STACKS_SIGNATURE_TYPE, signature };
}

/**
 * Whether a challenge names the origin that sent it: `domain` is the URL's host and `uri` on its origin. A buyer signs
 * only such a challenge, or a page could have it sign in to another site.
 * @example
 * ```ts
 * isSiwxChallengeFor(info, response.url); // false for a challenge naming another host
 * ```
 */
export function isSiwxChallengeFor(info: Pick<SiwxInfo, 'domain' | 'uri'>, url: string): boolean {
  try {
    const at = new URL(url);
    return info.domain === at.host && new URL(info.uri).origin === at.origin;
  } catch {
    return false;
  }
}
