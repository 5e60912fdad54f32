/**
 * The payer core, free of any HTTP library: from a 402 challenge to the header of the paid retry, and from the
 * server's answer to a receipt or a named error. The axios and fetch wrappers are thin layers over it.
 * @module
 */

import type { ChainClient } from '../chain/client.js';
import { ChainRequestError } from '../chain/errors.js';
import {
  paymentIdOf as readPaymentId,
  withPaymentId,
} from '../extensions/payment-identifier/index.js';
import { readSiwxDeclaration, siwxStacksChain } from '../extensions/sign-in-with-x/declaration.js';
import {
  createSiwxStacksProof,
  encodeSiwxHeader,
  isSiwxChallengeFor,
  type StructuredDataSigner,
} from '../extensions/sign-in-with-x/proof.js';
import { SIGN_IN_WITH_X } from '../extensions/sign-in-with-x/schema.js';
import { encodePaymentSignatureHeader, encodeXPaymentHeader } from '../protocol/headers.js';
import type { PaymentRequiredV1 } from '../protocol/v1.js';
import type { PaymentRequired } from '../protocol/v2.js';
import type { StacksAccount } from '../stacks/accounts.js';
import { assetKey, type ResolveAssetOptions, resolveAsset, STX_ASSET } from '../stacks/assets.js';
import { resolveNetwork } from '../stacks/networks.js';
import { createPaymentTransaction, type PaymentTransaction } from '../stacks/payment/create.js';
import type { StacksPaymentRequirements } from '../stacks/payment/terms.js';
import type { Signer } from '../stacks/signer.js';
import { toSigner } from '../stacks/signer.js';
import { signStructuredData } from '../stacks/structured-data.js';
import { type BatchBuyer, createBatchBuyer } from './batch/batch-buyer.js';
import { type BatchPaymentOption, resolveBatchOption } from './batch/batch-option.js';
import { BatchClientError } from './batch/errors.js';
import { createPayAheadMemory } from './batch/pay-ahead.js';
import { createPreparedBatchPayment } from './batch/prepared-batch.js';
import { type BudgetStore, createBudgetTracker } from './budget.js';
import { type ChainSourceOptions, resolveChainClient } from './chain-source.js';
import type { PaymentChallenge } from './challenge.js';
import {
  InsufficientBalanceError,
  NoAcceptableRequirementError,
  PayerOptionsError,
  PaymentNetworkError,
  PaymentPolicyError,
  type RequirementRefusal,
  UntrustedOfferError,
} from './errors.js';
import { createFeePolicy, type FeeOptions } from './fees.js';
import { createNonceAllocator, type NonceLease } from './nonces.js';
import {
  checkOfferReceiptOptions,
  checkSignedOffer,
  type OfferReceiptPayerOptions,
  type OfferRefusal,
  offerExpectations,
} from './offer-receipt.js';
import { createSpendingPolicy, type PolicyRefusal, type SpendingPolicyOptions } from './policy.js';
import { createPreparedPayment, type PaymentReceipt, type PreparedPayment } from './prepared.js';
import { type OfferPolicyRefusal, type PayableOffer, sortOffers } from './select.js';

/**
 * What `onPaymentRequired` is shown before anything is signed.
 * @example
 * ```ts
 * const onPaymentRequired = ({ amount, asset, payTo }: PaymentRequiredContext) => amount <= 1_000n;
 * ```
 */
export type PaymentRequiredContext = {
  /** The URL of the request being paid for. */
  readonly url: string;
  /** The challenge as the server sent it (v2, or the v1 body). */
  readonly paymentRequired: PaymentRequired | PaymentRequiredV1;
  /** The offer about to be paid, in v2 field names (declining passes on to the next acceptable offer). */
  readonly requirements: StacksPaymentRequirements;
  /** The price, atomic units. */
  readonly amount: bigint;
  /** `'STX'` or `<contract id>::<asset name>`. */
  readonly asset: string;
  readonly payTo: string;
  /** The facilitator pays the fee. */
  readonly sponsored: boolean;
};

/**
 * Options of the payer and of both wrappers. Every field is optional.
 * @example
 * ```ts
 * const options: PaymentOptions = {
 *   maxAmount: { STX: 10_000n, sBTC: 100n },
 *   budget: { STX: 1_000_000n },
 *   allowedPayTo: ['ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG'],
 *   onPaymentSettled: ({ txid }) => console.log('paid', txid),
 * };
 * ```
 */
export type PaymentOptions = SpendingPolicyOptions &
  FeeOptions &
  ChainSourceOptions & {
    /** Token contract overrides, for a network whose sBTC or USDCx lives at another id. */
    tokens?: ResolveAssetOptions;
    /**
     * Where `budget` and `windowBudget` are counted. Default: this payer's own memory. Give every payer (in this
     * process or, with `createFileBudgetStore`, in others) the same store to share one budget among them.
     */
    budgetStore?: BudgetStore;
    /**
     * While other payments of the account wait, how often a payment in flight is looked up on the chain, so the next
     * can go once the mempool has it (a sponsored payment: once it is confirmed). Milliseconds, default 1,000.
     */
    nonceWatchMs?: number;
    /**
     * The longest one payment holds the account's turn while its server has not answered. Past it, the next payment
     * goes ahead with its nonce read from the chain again (reusing the nonce if it was not spent: at most one of two
     * transactions on one nonce lands). Milliseconds, default 30,000.
     */
    nonceLeaseMs?: number;
    /**
     * Parallel nonces: the most payments of the account in flight at once, on consecutive nonces, when the offer
     * says its facilitator accepts chained nonces (`extra.maxNonceAhead`, which our facilitator advertises in
     * `/supported` and our seller passes on); never more than `maxNonceAhead + 1`. Offers without it are paid one at
     * a time. `1` turns parallel nonces off. Default 8.
     */
    maxPaymentsInFlight?: number;
    /**
     * Name each payment with a fresh `payment-identifier` id when the 402 declares the extension, so that sending the
     * same payment again is recognised as a retry, not a second purchase. Default `true`.
     */
    paymentIdentifier?: boolean;
    /**
     * How many more times the paid request is sent, with the same signed payment and the same id, when its response
     * is lost (the connection dropped or timed out after the request may have reached the server; not when the
     * request's own signal aborted). The facilitator answers a retry under the same id with the outcome it stored,
     * so the buyer is served without paying twice. Only when the payment carries an id. 0 to 5, default 1.
     */
    lostResponseRetries?: number;
    /** Called before signing; resolving to `false` declines the payment (`payment_declined`). */
    onPaymentRequired?: (
      context: PaymentRequiredContext,
    ) => boolean | undefined | Promise<boolean | undefined>;
    /** Called once a payment is settled and the resource served. Its errors are ignored: a paid response is never lost. */
    onPaymentSettled?: (receipt: PaymentReceipt) => unknown;
    /**
     * Sign in before paying: when a 402 offers `sign-in-with-x` on the account's network (type `sip018`) for the URL
     * that sent it, the request is sent once more with a signed proof; a seller that has this address's earlier
     * payment on record serves it without a new one, otherwise its 402 is paid as usual. `true` signs with the
     * account's key; `{ signer }` with your own SIP-018 signer (a wallet, a remote key). Default `false`.
     */
    signInWithX?: boolean | { signer: StructuredDataSigner };
    /**
     * Signed offers and receipts (the `offer-receipt` extension): which seller key and service name they must verify
     * against, and whether to refuse offers that are not signed. Verified ones are on the {@link PaymentReceipt}.
     */
    offerReceipt?: OfferReceiptPayerOptions;
    /**
     * Pay `batch-settlement` offers from an escrow channel: one deposit, then a signed voucher per request, nothing on
     * chain. When a 402 offers both schemes within the policy, the channel is preferred; when the deposit it needs is
     * above `depositCap`, the payer falls back to `exact`. The budget (and `maxAmount`) count each request's price,
     * the most it can be charged, never the deposit. Needs an account with its private key. Default: off.
     */
    batch?: BatchPaymentOption;
  };

/**
 * The framework-free payer of one account.
 * @example
 * ```ts
 * const payer = createPayer(account, { budget: { STX: 100_000n } });
 * const prepared = await payer.preparePayment(readPaymentChallenge({ header, body }), { url });
 * const retry = await fetch(url, { headers: { [prepared.header.name]: prepared.header.value } });
 * await prepared.complete({ status: retry.status, header: (name) => retry.headers.get(name) });
 * ```
 */
export type Payer = {
  /** The account or signer the payer was created with. */
  readonly account: StacksAccount | Signer;
  /** What signs its payments (an account's own key, or the signer given). */
  readonly signer: Signer;
  readonly chain: ChainClient;
  /**
   * Chooses a requirement, applies the policy, checks the balance and signs.
   * @throws {NoAcceptableRequirementError}, {PaymentPolicyError}, {InsufficientBalanceError}, {PaymentNetworkError}
   */
  preparePayment(
    challenge: PaymentChallenge,
    context: { url: string; method?: string },
  ): Promise<PreparedPayment>;
  /**
   * A challenge this payer paid over a channel at this method and URL a moment ago (the `batch` option's `payAhead`):
   * the wrappers pay it with the first request instead of waiting for a 402. `undefined` when there is none.
   */
  challengeAhead(context: { url: string; method: string }): PaymentChallenge | undefined;
  /**
   * Spent or reserved so far by this payer, per asset (`'STX'`, `'sBTC'`, or a contract id), atomic units. A shared
   * budget store also counts other payers: read it with `budgetStore.usage()`.
   */
  spent(asset: string): bigint;
  /**
   * The `sign-in-with-x` header to send again with, when `signInWithX` is on and the challenge offers a Stacks sign-in
   * on the account's network for `url`'s origin; `undefined` otherwise (then pay).
   */
  signIn(
    challenge: PaymentChallenge,
    context: { url: string },
  ): Promise<{ readonly name: string; readonly value: string } | undefined>;
};

// The node's fee rate moves slowly; one reading serves the payments of the next half minute.
const FEE_RATE_TTL_MS = 30_000;

/**
 * Creates the payer of one account. The options are validated here, once.
 * @throws {PayerOptionsError} for options that cannot be used.
 * @example
 * ```ts
 * import { createPayer, privateKeyToAccount } from 'x402-stacks/client';
 * const payer = createPayer(privateKeyToAccount(process.env.CLIENT_PRIVATE_KEY!, 'testnet'));
 * ```
 */
export function createPayer(account: StacksAccount | Signer, options: PaymentOptions = {}): Payer {
  const payerSigner = account ? toSigner(account) : undefined;
  if (!payerSigner) {
    throw new PayerOptionsError(
      'account must come from privateKeyToAccount or mnemonicToAccount, or be a Signer',
    );
  }
  const { tokens } = options;
  checkOfferReceiptOptions(options.offerReceipt);
  const policy = createSpendingPolicy(options, resolveNetwork(payerSigner.network), tokens);
  const fees = createFeePolicy(options);
  const chain = resolveChainClient(options, payerSigner.network);
  const { nonceWatchMs = 1_000 } = options;
  if (!Number.isFinite(nonceWatchMs) || nonceWatchMs < 10) {
    throw new PayerOptionsError(`nonceWatchMs must be at least 10, got ${String(nonceWatchMs)}`);
  }
  const { nonceLeaseMs = 30_000 } = options;
  if (!Number.isFinite(nonceLeaseMs) || nonceLeaseMs < 10) {
    throw new PayerOptionsError(`nonceLeaseMs must be at least 10, got ${String(nonceLeaseMs)}`);
  }
  const { maxPaymentsInFlight = 8 } = options;
  if (
    !Number.isSafeInteger(maxPaymentsInFlight) ||
    maxPaymentsInFlight < 1 ||
    maxPaymentsInFlight > 26
  ) {
    throw new PayerOptionsError(
      `maxPaymentsInFlight must be a whole number from 1 to 26, got ${String(maxPaymentsInFlight)}`,
    );
  }
  const nonces = createNonceAllocator(chain, payerSigner.address, {
    watchMs: nonceWatchMs,
    leaseMs: nonceLeaseMs,
  });
  const { lostResponseRetries = 1 } = options;
  if (
    !Number.isInteger(lostResponseRetries) ||
    lostResponseRetries < 0 ||
    lostResponseRetries > 5
  ) {
    throw new PayerOptionsError(
      `lostResponseRetries must be an integer from 0 to 5, got ${String(lostResponseRetries)}`,
    );
  }
  const { budgetStore } = options;
  if (
    budgetStore !== undefined &&
    (typeof budgetStore?.reserve !== 'function' || typeof budgetStore.consume !== 'function')
  ) {
    throw new PayerOptionsError(
      'budgetStore must be a BudgetStore (createMemoryBudgetStore, createFileBudgetStore)',
    );
  }
  const budget = createBudgetTracker(policy.budget, budgetStore);
  const batchOption = resolveBatchOption(
    options.batch,
    resolveNetwork(payerSigner.network),
    tokens,
  );
  let batchBuyer: BatchBuyer | undefined;
  const payAhead = batchOption?.payAhead ? createPayAheadMemory() : undefined;
  if (batchOption) {
    const { privateKey } = account as Partial<StacksAccount>;
    if (typeof privateKey !== 'string') {
      throw new PayerOptionsError(
        'batch signs vouchers with the account key: pass an account from privateKeyToAccount or mnemonicToAccount',
      );
    }
    batchBuyer = createBatchBuyer({
      account: account as StacksAccount,
      chain,
      store: batchOption.store,
      depositCap: (asset) => batchOption.depositCap.get(assetKey(asset)),
      escrows: batchOption.escrows,
      acquireNonce: (turn) => nonces.acquire({ inFlight: 1, ...turn }),
      depositFee: async (bytes) => fees.feeFor(await currentFeeRate(), bytes),
    });
  }
  let feeRate: { value: bigint; at: number } | undefined;

  const fromChain = async <T>(read: () => Promise<T>): Promise<T> => {
    try {
      return await read();
    } catch (cause) {
      if (cause instanceof ChainRequestError) throw new PaymentNetworkError('chain', {}, { cause });
      throw cause;
    }
  };
  const currentFeeRate = async (): Promise<bigint> => {
    if (fees.feeRate !== undefined) return fees.feeRate;
    if (feeRate && Date.now() - feeRate.at < FEE_RATE_TTL_MS) return feeRate.value;
    feeRate = { value: await chain.getFeeRate(), at: Date.now() };
    return feeRate.value;
  };

  /** Signs at the leased nonce, with the fee from the rate and the transaction's own size. */
  const sign = async (offer: PayableOffer, nonce: bigint): Promise<PaymentTransaction> => {
    const build = (fee: bigint) =>
      createPaymentTransaction({
        account: payerSigner,
        requirements: offer.requirements,
        nonce,
        fee,
        tokens,
      });
    if (offer.terms.sponsor !== undefined) return build(0n);
    const rate = await currentFeeRate();
    const draft = await build(fees.minFee);
    const fee = fees.feeFor(rate, draft.transaction.length / 2);
    return fee === draft.fee ? draft : build(fee);
  };

  /** The shortfall, on the chain, against the price plus the fee; undefined when the account can pay. */
  const shortfallOf = async (
    offer: PayableOffer,
    payment: PaymentTransaction,
  ): Promise<InsufficientBalanceError | undefined> => {
    const { terms } = offer;
    const [stx, token] = await Promise.all([
      chain.getStxBalance(payerSigner.address),
      terms.asset.kind === 'stx'
        ? Promise.resolve(0n)
        : chain.getFtBalance(payerSigner.address, assetKey(terms.asset)),
    ]);
    const stxNeeded = payment.fee + (terms.asset.kind === 'stx' ? terms.amount : 0n);
    if (stx < stxNeeded) {
      return new InsufficientBalanceError({
        asset: STX_ASSET,
        required: stxNeeded,
        available: stx,
        address: payerSigner.address,
      });
    }
    if (terms.asset.kind !== 'stx' && token < terms.amount) {
      return new InsufficientBalanceError({
        asset: terms.asset,
        required: terms.amount,
        available: token,
        address: payerSigner.address,
      });
    }
    return undefined;
  };

  const paymentHeader = (
    challenge: PaymentChallenge,
    offer: PayableOffer,
    transaction: string,
    payload: Record<string, unknown> = { transaction },
  ): PreparedPayment['header'] & { paymentId?: string } => {
    // x402-stacks 1.x reads the signed transaction itself, as hex.
    if (challenge.version === 1 && challenge.format === 'x402-stacks-v1') {
      return { name: 'X-PAYMENT', value: transaction };
    }
    if (challenge.version === 1) {
      const value = encodeXPaymentHeader({
        x402Version: 1,
        scheme: offer.requirements.scheme,
        network: offer.requirements.network,
        payload: { transaction },
      });
      return { name: 'X-PAYMENT', value };
    }
    const { resource } = challenge.paymentRequired;
    const declared = challenge.paymentRequired.extensions ?? undefined;
    // The id is chosen here, once per signed payment: every send of this header is the same payment.
    const extensions = options.paymentIdentifier === false ? declared : withPaymentId(declared);
    const value = encodePaymentSignatureHeader({
      x402Version: 2,
      resource,
      accepted: challenge.paymentRequired.accepts[offer.index]!,
      payload,
      ...(extensions ? { extensions } : {}),
    });
    return { name: 'payment-signature', value, paymentId: paymentIdOf(extensions) };
  };

  const signer = signerOf(account, options.signInWithX);
  return {
    account,
    signer: payerSigner,
    chain,
    async signIn(challenge, { url }) {
      if (!signer || challenge.version !== 2) return undefined;
      const declared = readSiwxDeclaration(challenge.paymentRequired.extensions);
      if (!declared) return undefined;
      const chainId = resolveNetwork(payerSigner.network).caip2;
      // A challenge naming another origin than the one that sent it could sign us in elsewhere: never signed.
      if (!siwxStacksChain(declared, chainId) || !isSiwxChallengeFor(declared.info, url)) {
        return undefined;
      }
      const proof = await createSiwxStacksProof(
        declared.info,
        chainId,
        payerSigner.address,
        signer,
      );
      return { name: SIGN_IN_WITH_X, value: encodeSiwxHeader(proof) };
    },
    spent(asset) {
      return budget.spent(assetKey(resolveAsset(asset, payerSigner.network, tokens)));
    },

    challengeAhead({ url, method }) {
      return payAhead?.challengeFor(method, url);
    },

    async preparePayment(challenge, { url, method }) {
      // 1. The offers this account may pay, in the server's order.
      // Channels pay v2 challenges only: batch-settlement has no v1 wire format.
      const sorted = sortOffers(
        challenge.offers,
        payerSigner,
        policy,
        tokens,
        challenge.version === 2 ? batchOption : undefined,
      );
      const refusals: RequirementRefusal[] = [...sorted.refusals];
      // When nothing is paid, the most telling reason: a balance shortfall, then the first limit hit.
      let shortfall: InsufficientBalanceError | undefined;
      let limit: OfferPolicyRefusal | undefined;
      let untrusted: OfferRefusal | undefined;
      let aboveCap: BatchClientError | undefined;
      let lease: NonceLease | undefined;
      const expected = offerExpectations(options.offerReceipt, url);
      const refuse = (offer: PayableOffer, refusal: PolicyRefusal) => {
        refusals.push({ requirement: offer.requirements, ...refusal });
        limit ??= { requirements: offer.requirements, refusal };
      };
      try {
        for (const offer of sorted.payable) {
          const { terms } = offer;
          // 1b. The seller's signed offer for it, verified; required, a missing or bad one passes the offer over.
          const signed = checkSignedOffer(
            challenge,
            offer.index,
            offer.requirements,
            options.offerReceipt,
            expected,
          );
          if ('refusal' in signed) {
            refusals.push({ requirement: offer.requirements, ...signed.refusal });
            untrusted ??= signed.refusal;
            continue;
          }
          const asset = assetKey(terms.asset);
          // 2. The budget, reserved at once so that parallel payments cannot overspend it together.
          const reservation = await budget.reserve(terms.asset, terms.amount);
          if (!('release' in reservation)) {
            refuse(offer, reservation);
            continue;
          }
          try {
            // 3. Consent, before anything is signed.
            const consent = await options.onPaymentRequired?.({
              url,
              paymentRequired: challenge.paymentRequired,
              requirements: offer.requirements,
              amount: terms.amount,
              asset,
              payTo: terms.payTo.principal,
              sponsored: terms.sponsor !== undefined,
            });
            if (consent === false) {
              refuse(offer, {
                reason: 'payment_declined',
                message: 'onPaymentRequired declined it',
              });
              await reservation.release();
              continue;
            }
            // 4b. A channel: a voucher, or one deposit within the cap (else the next offer, usually `exact`).
            if (offer.batch && batchBuyer && challenge.version === 2) {
              const attempt = await fromChain(() => batchBuyer!.prepare(offer.batch!));
              if ('refusal' in attempt) {
                const { refusal } = attempt;
                refusals.push({
                  requirement: offer.requirements,
                  reason: refusal.reason,
                  message: refusal.message,
                });
                if (refusal.reason === 'insufficient_funds') {
                  shortfall ??= new InsufficientBalanceError({
                    asset: refusal.asset,
                    required: refusal.required,
                    available: refusal.available,
                    address: payerSigner.address,
                  });
                } else {
                  aboveCap ??= new BatchClientError(
                    refusal.reason,
                    `Payment refused: ${refusal.message}`,
                  );
                }
                await reservation.release();
                continue;
              }
              const { paymentId, ...header } = paymentHeader(challenge, offer, '', attempt.payload);
              return createPreparedBatchPayment({
                url,
                header,
                paymentId,
                lostResponseRetries: paymentId === undefined ? 0 : lostResponseRetries,
                requirements: offer.requirements,
                asset,
                network: terms.network.caip2,
                payer: payerSigner.address,
                attempt,
                reservation,
                onPaymentSettled: options.onPaymentSettled,
                ...(payAhead && method !== undefined
                  ? {
                      onServed: () => payAhead.served(method, url, challenge),
                      onRefused: () => payAhead.forget(method, url),
                    }
                  : {}),
              });
            }
            // 4. The account's turn and nonce, held until the server answers the paid request.
            lease ??= await fromChain(() =>
              nonces.acquire({
                inFlight: inFlightFor(offer, maxPaymentsInFlight),
                // Sponsored: the facilitator takes it only at the confirmed next nonce, so the next one waits here.
                confirmed: offer.terms.sponsor !== undefined,
              }),
            );
            // 5. Sign, with the fee from the rate and the size; 6. the balance, before anything is sent.
            const payment = await fromChain(() => sign(offer, lease!.nonce));
            const short = await fromChain(() => shortfallOf(offer, payment));
            if (short) {
              shortfall ??= short;
              refusals.push({
                requirement: offer.requirements,
                reason: short.reason,
                message: short.shortMessage,
              });
              await reservation.release();
              continue;
            }
            // 7. The header of the paid retry.
            const { paymentId, ...header } = paymentHeader(challenge, offer, payment.transaction);
            return createPreparedPayment({
              version: challenge.version,
              url,
              header,
              paymentId,
              lostResponseRetries: paymentId === undefined ? 0 : lostResponseRetries,
              requirements: offer.requirements,
              amount: terms.amount,
              asset,
              network: terms.network.caip2,
              payment,
              lease,
              reservation,
              onPaymentSettled: options.onPaymentSettled,
              offerReceipt: {
                offer: signed.offer,
                expected,
                resourceUrl:
                  challenge.version === 2 ? challenge.paymentRequired.resource?.url : undefined,
              },
            });
          } catch (error) {
            await reservation.release();
            throw error;
          }
        }
      } catch (error) {
        lease?.resync();
        throw error;
      }
      lease?.resync();
      if (shortfall) throw shortfall;
      if (aboveCap && !limit) throw aboveCap;
      if (untrusted && !limit) throw new UntrustedOfferError(untrusted, refusals);
      const hit = limit ?? sorted.policyRefusal;
      if (!hit) throw new NoAcceptableRequirementError(refusals);
      throw new PaymentPolicyError(hit.refusal.reason, hit.refusal.message, {
        requirement: hit.requirements,
        ...(hit.refusal.limit === undefined ? {} : { limit: hit.refusal.limit }),
        refusals,
      });
    },
  };
}

/** How many payments may be in flight for an offer: chained only when its facilitator says it accepts them. */
function inFlightFor(offer: PayableOffer, most: number): number {
  const ahead = offer.requirements.extra?.maxNonceAhead;
  if (typeof ahead !== 'number' || !Number.isSafeInteger(ahead) || ahead < 1) return 1;
  return Math.min(most, ahead + 1);
}

/** The id a payment's own extensions carry (they were built here, so a malformed one is none). */
function paymentIdOf(
  extensions: Readonly<Record<string, unknown>> | undefined,
): string | undefined {
  const of = readPaymentId(extensions);
  return of.ok ? of.id : undefined;
}

function signerOf(
  account: StacksAccount | Signer,
  option: PaymentOptions['signInWithX'],
): StructuredDataSigner | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) {
    const { privateKey } = account as Partial<StacksAccount>;
    if (typeof privateKey !== 'string') {
      throw new PayerOptionsError(
        'signInWithX: true signs with the account key; with a Signer, pass { signer } for SIP-018',
      );
    }
    return (domain, message) => signStructuredData(privateKey, domain, message);
  }
  if (typeof option?.signer !== 'function') {
    throw new PayerOptionsError('signInWithX must be true, false or { signer }');
  }
  return option.signer;
}

/**
 * The request headers that carry a payment. A request that already has one is never paid again: it is the retry,
 * or its caller pays by hand.
 * @example
 * ```ts
 * const alreadyPaid = PAYMENT_REQUEST_HEADERS.some((name) => request.headers.has(name));
 * ```
 */
export const PAYMENT_REQUEST_HEADERS = ['payment-signature', 'x-payment'] as const;
