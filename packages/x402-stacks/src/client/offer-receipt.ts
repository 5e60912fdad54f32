/**
 * The buyer's side of the `offer-receipt` extension: find the seller's signed offer for the requirement about to be
 * paid and verify it (refusing to pay when the buyer requires one and it is missing or bad), then verify the receipt
 * of the served answer against that offer. Only artifacts that verify are handed to the caller; a bad one is absent.
 * @module
 */
import {
  findSignedOffer,
  readSignedOffers,
  readSignedReceipt,
} from '../extensions/offer-receipt/envelopes.js';
import { defaultServiceName } from '../extensions/offer-receipt/issue.js';
import type { SignedOffer, SignedReceipt } from '../extensions/offer-receipt/schema.js';
import { verifyOffer, verifyReceipt } from '../extensions/offer-receipt/verify.js';
import type { StacksPaymentRequirements } from '../stacks/payment/terms.js';
import type { PaymentChallenge } from './challenge.js';
import { PayerOptionsError } from './errors.js';

/**
 * The `offerReceipt` option of the payer and the wrappers.
 * @example
 * ```ts
 * wrapFetchWithPayment(fetch, account, { offerReceipt: { require: true, signer: 'SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7' } });
 * ```
 */
export type OfferReceiptPayerOptions = {
  /**
   * Pay only offers the seller signed, with a signature that verifies: otherwise the requirement is refused with
   * `offer_unsigned` or `offer_signature_invalid` and nothing is signed. Default `false`: signed offers and receipts
   * are still verified and reported when present.
   */
  require?: boolean;
  /** The seller's address(es) the signatures must recover to. Default: the offer's `payTo`. */
  signer?: string | readonly string[];
  /** The service name the domain must carry. Default: the host of the URL being paid. */
  serviceName?: string;
};

/** Why a requirement's offer is not trusted. */
export type OfferRefusal = {
  readonly reason: 'offer_unsigned' | 'offer_signature_invalid';
  readonly message: string;
};

/** What the buyer expects of a seller's artifacts for one paid URL. */
export type OfferExpectations = {
  readonly signer: string | readonly string[] | undefined;
  readonly serviceName: string;
};

/**
 * Checks the option once.
 * @throws {PayerOptionsError}
 */
export function checkOfferReceiptOptions(option: OfferReceiptPayerOptions | undefined): void {
  if (option === undefined) return;
  if (typeof option !== 'object' || option === null) {
    throw new PayerOptionsError('offerReceipt must be an object');
  }
  const signers = option.signer === undefined ? [] : [option.signer].flat();
  if (signers.some((signer) => typeof signer !== 'string' || signer === '')) {
    throw new PayerOptionsError('offerReceipt.signer must be a Stacks address or a list of them');
  }
  if (option.serviceName !== undefined && !/^[\x20-\x7e]{1,128}$/.test(option.serviceName)) {
    throw new PayerOptionsError(
      'offerReceipt.serviceName must be 1 to 128 printable ASCII characters',
    );
  }
}

/** The expectations for a payment of `url`. */
export function offerExpectations(
  option: OfferReceiptPayerOptions | undefined,
  url: string,
): OfferExpectations {
  let serviceName = option?.serviceName;
  if (serviceName === undefined) {
    try {
      serviceName = defaultServiceName(url);
    } catch {
      serviceName = '';
    }
  }
  return { signer: option?.signer, serviceName };
}

/**
 * The verified signed offer of one requirement, `undefined` when there is none that verifies, or the refusal when
 * the buyer requires one.
 * @example
 * ```ts
 * const checked = checkSignedOffer(challenge, offer.index, offer.requirements, options.offerReceipt, expected);
 * ```
 */
export function checkSignedOffer(
  challenge: PaymentChallenge,
  index: number,
  requirements: StacksPaymentRequirements,
  option: OfferReceiptPayerOptions | undefined,
  expected: OfferExpectations,
): { readonly offer: SignedOffer | undefined } | { readonly refusal: OfferRefusal } {
  const required = option?.require === true;
  const candidates =
    challenge.version === 2 ? readSignedOffers(challenge.paymentRequired.extensions) : [];
  const candidate = findSignedOffer(candidates, requirements, index);
  if (!candidate) {
    return required
      ? {
          refusal: {
            reason: 'offer_unsigned',
            message: 'the server sent no signed offer for this requirement',
          },
        }
      : { offer: undefined };
  }
  const verdict = verifyOffer(candidate, {
    network: requirements.network,
    serviceName: expected.serviceName,
    ...(expected.signer === undefined ? {} : { signer: expected.signer }),
  });
  // The signature covers the resource: an offer for another path at the same terms proves nothing about this one.
  const resourceUrl = challenge.version === 2 ? challenge.paymentRequired.resource?.url : undefined;
  const forThisResource =
    !verdict.valid || resourceUrl === undefined || verdict.payload.resourceUrl === resourceUrl;
  if (verdict.valid && forThisResource) return { offer: candidate as unknown as SignedOffer };
  const problem = verdict.valid
    ? `it names the resource ${verdict.payload.resourceUrl}, this 402 is for ${resourceUrl}`
    : `${verdict.problem} (${verdict.message})`;
  return required
    ? {
        refusal: {
          reason: 'offer_signature_invalid',
          message: `the signed offer does not verify: ${problem}`,
        },
      }
    : { offer: undefined };
}

/**
 * The receipt in a settlement answer's `extensions`, when it verifies: signed by the expected seller for this payer,
 * naming this payment's transaction and the terms that were paid (network, asset, payTo, amount, and the resource of
 * the offer, else of the 402), and (given the offer) settling the offer's terms. A receipt of another payment is not
 * kept as this one's.
 * @example
 * ```ts
 * const receipt = verifiedReceipt(settlement?.extensions, { offer, payer: account.address, expected });
 * ```
 */
export function verifiedReceipt(
  extensions: Readonly<Record<string, unknown>> | null | undefined,
  context: {
    readonly offer: SignedOffer | undefined;
    readonly payer: string;
    readonly network: string;
    readonly expected: OfferExpectations;
    /** The txid the answer reports as settled, else the signed one. */
    readonly transaction: string;
    /** The requirement that was paid. */
    readonly requirements: Pick<StacksPaymentRequirements, 'asset' | 'payTo' | 'amount'>;
    /** The 402's `resource.url`, when it had one. */
    readonly resourceUrl?: string | undefined;
  },
): SignedReceipt | undefined {
  const receipt = readSignedReceipt(extensions);
  if (!receipt) return undefined;
  const verdict = verifyReceipt(receipt, {
    payer: context.payer,
    network: context.network,
    serviceName: context.expected.serviceName,
    ...(context.expected.signer === undefined ? {} : { signer: context.expected.signer }),
    ...(context.offer ? { offer: context.offer } : {}),
  });
  if (!verdict.valid) return undefined;
  const paid = verdict.payload;
  const { requirements } = context;
  const resourceUrl = context.offer?.payload.resourceUrl ?? context.resourceUrl;
  const matches =
    sameTxid(paid.transaction, context.transaction) &&
    paid.asset === requirements.asset &&
    paid.payTo === requirements.payTo &&
    paid.amount === requirements.amount &&
    (resourceUrl === undefined || paid.resourceUrl === resourceUrl);
  return matches ? (receipt as unknown as SignedReceipt) : undefined;
}

/** Two txids in hex, with or without `0x`, in any case. */
function sameTxid(a: string, b: string): boolean {
  const bare = (txid: string) => (txid.startsWith('0x') ? txid.slice(2) : txid).toLowerCase();
  return bare(a) === bare(b);
}
