/**
 * Checking a signed offer or receipt offline: the SIP-018 signature against the seller's address, the domain (service
 * name and chain), an offer's expiry, and that a receipt answers the offer it claims to. Nothing here touches the
 * network, so a buyer (or anyone they show the artifacts to) can check them years later.
 * @module
 */
import type { ClarityValue } from '@stacks/transactions';
import type { z } from 'zod';
import {
  resolveNetwork,
  type StacksNetwork,
  type StacksNetworkInput,
} from '../../stacks/networks.js';
import { verifyStructuredDataSignature } from '../../stacks/structured-data.js';
import { defaultServiceName } from './issue.js';
import {
  type OfferPayload,
  OfferPayloadSchema,
  type ReceiptPayload,
  ReceiptPayloadSchema,
  SIP018_FORMAT,
  SignedArtifactSchema,
  type Sip018Domain,
  Sip018DomainSchema,
} from './schema.js';
import {
  OFFER_RECEIPT_DOMAIN_VERSION,
  offerTupleCV,
  receiptTupleCV,
  structuredDomainOf,
} from './tuples.js';

/**
 * Why a signed offer or receipt was not accepted.
 * - `unsupported_format`: not `sip018` (a JWS or EIP-712 artifact is not a Stacks signature).
 * - `malformed_artifact`: the envelope, payload or domain fails its schema (a non-integer amount, a bad address…).
 * - `unsupported_network`: the payload's network is not a Stacks network.
 * - `wrong_chain`: the domain's chain id is not the payload network's, or the network is not the one expected.
 * - `wrong_domain`: signed for another service name (or domain version) than the one expected.
 * - `malformed_signature`, `high_s_signature`: the signature's bytes (see `verifyStructuredDataSignature`).
 * - `wrong_signer`: the signature does not recover to the expected seller over this payload: another key signed it,
 *   or a field (the amount, the payTo…) was changed after signing. ECDSA cannot tell these two apart.
 * - `offer_expired`: the offer's `validUntil` has passed.
 * - `wrong_payer`: the receipt names another payer than the one expected.
 * - `receipt_offer_mismatch`: the receipt's resource, network, asset, payTo or amount differs from the offer's.
 * @example
 * ```ts
 * const problem: OfferReceiptProblem = 'offer_expired';
 * ```
 */
export type OfferReceiptProblem =
  | 'unsupported_format'
  | 'malformed_artifact'
  | 'unsupported_network'
  | 'wrong_chain'
  | 'wrong_domain'
  | 'malformed_signature'
  | 'high_s_signature'
  | 'wrong_signer'
  | 'offer_expired'
  | 'wrong_payer'
  | 'receipt_offer_mismatch';

/**
 * The verdict of {@link verifyOffer} or {@link verifyReceipt}: the checked payload and who signed it, or the problem.
 * @example
 * ```ts
 * const verdict = verifyOffer(offer, { signer: SELLER });
 * if (!verdict.valid) console.log(verdict.problem, verdict.message);
 * ```
 */
export type OfferReceiptVerdict<Payload> =
  | { readonly valid: true; readonly payload: Payload; readonly signer: string }
  | { readonly valid: false; readonly problem: OfferReceiptProblem; readonly message: string };

/**
 * What {@link verifyOffer} and {@link verifyReceipt} check an artifact against.
 * @example
 * ```ts
 * const expected: VerifyArtifactOptions = { signer: SELLER, serviceName: 'api.example.com', network: 'mainnet' };
 * ```
 */
export type VerifyArtifactOptions = {
  /**
   * The seller's Stacks address, or several it may sign with. Default: the payload's `payTo` (upstream's simplest
   * binding: the seller signs with the key it is paid to).
   */
  readonly signer?: string | readonly string[];
  /** The service name the domain must carry. Default: the host of the payload's `resourceUrl`. */
  readonly serviceName?: string;
  /** When given, the payload's network must be this one. */
  readonly network?: StacksNetworkInput;
};

/**
 * Verifies a signed offer offline.
 * @param options.now Unix seconds to check the expiry at; default now.
 * @example
 * ```ts
 * import { verifyOffer } from 'x402-stacks/extensions';
 * const verdict = verifyOffer(offer, { signer: 'SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7', network: 'mainnet' });
 * if (verdict.valid) console.log('offered', verdict.payload.amount, verdict.payload.asset);
 * ```
 */
export function verifyOffer(
  offer: unknown,
  options: VerifyArtifactOptions & { readonly now?: number } = {},
): OfferReceiptVerdict<OfferPayload> {
  const checked = checkArtifact(offer, OfferPayloadSchema, offerTupleCV, options);
  if (!checked.valid) return checked;
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (now > checked.payload.validUntil) {
    return refuse(
      'offer_expired',
      `the offer was valid until ${checked.payload.validUntil}, it is ${now}`,
    );
  }
  return checked;
}

/**
 * Verifies a signed receipt offline and, given the offer it answers, that it settles those terms.
 * @param options.offer The signed offer (or its payload) the receipt should answer: same resource, network, asset,
 *   payTo and amount.
 * @param options.payer When given, the receipt must name this payer.
 * @example
 * ```ts
 * import { verifyReceipt } from 'x402-stacks/extensions';
 * const verdict = verifyReceipt(receipt, { signer: SELLER, offer, payer: account.address });
 * if (verdict.valid) console.log('paid in', verdict.payload.transaction);
 * ```
 */
export function verifyReceipt(
  receipt: unknown,
  options: VerifyArtifactOptions & {
    readonly offer?: unknown;
    readonly payer?: string;
  } = {},
): OfferReceiptVerdict<ReceiptPayload> {
  const checked = checkArtifact(receipt, ReceiptPayloadSchema, receiptTupleCV, options);
  if (!checked.valid) return checked;
  const { payload } = checked;
  if (options.payer !== undefined && options.payer !== payload.payer) {
    return refuse('wrong_payer', `the receipt names the payer ${payload.payer}`);
  }
  if (options.offer !== undefined) {
    const offered = offerPayloadOf(options.offer);
    if (!offered) return refuse('malformed_artifact', 'the offer to match is not an offer');
    for (const field of ['resourceUrl', 'network', 'asset', 'payTo', 'amount'] as const) {
      if (offered[field] !== payload[field]) {
        return refuse(
          'receipt_offer_mismatch',
          `the receipt's ${field} (${payload[field]}) is not the offer's (${offered[field]})`,
        );
      }
    }
  }
  return checked;
}

function offerPayloadOf(offer: unknown): OfferPayload | undefined {
  const candidate =
    typeof offer === 'object' && offer !== null && 'payload' in offer
      ? (offer as { payload: unknown }).payload
      : offer;
  const parsed = OfferPayloadSchema.safeParse(candidate);
  return parsed.success ? (parsed.data as OfferPayload) : undefined;
}

function checkArtifact<Payload extends OfferPayload | ReceiptPayload>(
  artifact: unknown,
  payloadSchema: z.ZodType,
  tupleOf: (payload: Payload) => ClarityValue,
  options: VerifyArtifactOptions,
): OfferReceiptVerdict<Payload> {
  const envelope = SignedArtifactSchema.safeParse(artifact);
  if (!envelope.success) return refuse('malformed_artifact', 'not { format, payload, signature }');
  if (envelope.data.format !== SIP018_FORMAT) {
    return refuse(
      'unsupported_format',
      `format ${JSON.stringify(envelope.data.format)} is not ${SIP018_FORMAT}`,
    );
  }
  const payload = payloadSchema.safeParse(envelope.data.payload);
  if (!payload.success) return refuse('malformed_artifact', describe('payload', payload.error));
  const domain = Sip018DomainSchema.safeParse(envelope.data.domain);
  if (!domain.success) return refuse('malformed_artifact', describe('domain', domain.error));
  const body = payload.data as Payload;

  let network: StacksNetwork;
  try {
    network = resolveNetwork(body.network);
  } catch {
    return refuse('unsupported_network', `${body.network} is not a Stacks network`);
  }
  if (options.network !== undefined && resolveNetwork(options.network).caip2 !== network.caip2) {
    return refuse(
      'wrong_chain',
      `signed for ${network.caip2}, expected ${String(options.network)}`,
    );
  }
  const problem = domainProblem(domain.data, network, options.serviceName ?? hostOf(body));
  if (problem) return problem;

  let message: ClarityValue;
  try {
    message = tupleOf(body);
  } catch {
    return refuse('malformed_artifact', 'the payload names an invalid principal');
  }
  const signers = [options.signer ?? body.payTo].flat();
  let verdict: OfferReceiptVerdict<Payload> = refuse('wrong_signer', 'no signer to check against');
  for (const signer of signers) {
    let checked: ReturnType<typeof verifyStructuredDataSignature>;
    try {
      checked = verifyStructuredDataSignature(
        structuredDomainOf(domain.data),
        message,
        envelope.data.signature,
        signer,
      );
    } catch {
      // A contract principal (or a bad address) cannot sign: it is not this artifact's signer.
      continue;
    }
    if (checked.valid) return { valid: true, payload: body, signer };
    verdict =
      checked.problem === 'wrong_signer'
        ? refuse('wrong_signer', `not signed by ${signers.join(' or ')} over this payload`)
        : refuse(checked.problem, `the signature is unusable (${checked.problem})`);
  }
  return verdict;
}

function domainProblem(
  domain: Sip018Domain,
  network: StacksNetwork,
  serviceName: string | undefined,
): OfferReceiptVerdict<never> | undefined {
  if (domain.chainId !== network.chainId) {
    return refuse(
      'wrong_chain',
      `the domain's chain id ${domain.chainId} is not ${network.caip2}'s (${network.chainId})`,
    );
  }
  if (domain.version !== OFFER_RECEIPT_DOMAIN_VERSION) {
    return refuse('wrong_domain', `domain version ${JSON.stringify(domain.version)} is not "1"`);
  }
  if (serviceName === undefined || domain.name !== serviceName) {
    return refuse(
      'wrong_domain',
      `signed for the service ${JSON.stringify(domain.name)}, expected ${JSON.stringify(serviceName)}`,
    );
  }
  return undefined;
}

function hostOf(payload: OfferPayload | ReceiptPayload): string | undefined {
  try {
    return defaultServiceName(payload.resourceUrl);
  } catch {
    return undefined;
  }
}

function describe(what: string, error: z.ZodError): string {
  const issue = error.issues[0];
  const where = issue?.path.length ? `.${issue.path.join('.')}` : '';
  return `${what}${where}: ${issue?.message ?? 'invalid'}`;
}

function refuse(problem: OfferReceiptProblem, message: string): OfferReceiptVerdict<never> {
  return { valid: false, problem, message };
}
