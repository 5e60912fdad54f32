/**
 * The resource server: the framework-free core of the payment middleware. An adapter (Express, Hono, or your own)
 * hands it a request; it answers what to do: reply (402, 400, 502), serve now (the payment is settled), or serve and
 * settle before sending (`after-handler`).
 * @module
 */

import { BATCH_SETTLEMENT } from '../batch/wire.js';
import { BAZAAR } from '../extensions/bazaar/info.js';
import { type ExtensionEnvelope, withExtension } from '../extensions/envelope.js';
import { receiptExtension } from '../extensions/offer-receipt/envelopes.js';
import { OFFER_RECEIPT } from '../extensions/offer-receipt/schema.js';
import { paymentIdOf } from '../extensions/payment-identifier/index.js';
import { SIGN_IN_WITH_X } from '../extensions/sign-in-with-x/schema.js';
import { InvalidHeaderError } from '../protocol/errors.js';
import { PAYMENT_HEADERS } from '../protocol/headers.js';
import type { PaymentRequirements, SettleResponse } from '../protocol/v2.js';
import type { StacksNetworkId } from '../stacks/networks.js';
import { readTransactionOrigin } from '../stacks/payment/origin.js';
import { transactionIdOf } from '../stacks/signature.js';
import { createBatchAdmitter } from './batch/admission.js';
import { withBatchOffers } from './batch/offers.js';
import { isBoundTo } from './bound-status.js';
import { FacilitatorRequestError } from './errors.js';
import { type MatchedPayment, matchPayment, signedBytesOf } from './match.js';
import { createOfferReceiptIssuer } from './offer-receipt.js';
import {
  type PaymentMiddlewareOptions,
  type ResolvedOptions,
  resolveOptions,
  type SettleOrder,
} from './options.js';
import type { Payment } from './payment.js';
import { readPayment } from './payment-header.js';
import { priceRequirements } from './pricing.js';
import { SERVER_REASON_CODES } from './reasons.js';
import {
  challengeReply,
  challengeTemplate,
  EXPOSED_HEADERS,
  encodeJson,
  errorReply,
  type PaywallReply,
} from './replies.js';
import { paymentReservations, type Reservation, type ReserveOutcome } from './reservations.js';
import { settlePayment } from './settlement.js';
import { createSponsorLookup, type FacilitatorHints, type SponsorLookup } from './sponsor.js';
import { legacyChallengeBody } from './x402-stacks-1x-challenge.js';

// The type lives in payment.ts, which the options import without this module; it stays importable from here.
export type { Payment };

/**
 * What the core needs to know of a request.
 * @example
 * ```ts
 * const request: PaywallRequest<IncomingMessage> = {
 *   url: `http://${req.headers.host}${req.url}`,
 *   header: (name) => req.headers[name] as string | undefined,
 *   request: req,
 * };
 * ```
 */
export type PaywallRequest<Request> = {
  /** The absolute URL the client asked for. */
  readonly url: string;
  /** A request header by lower-case name, `undefined` when absent. */
  header(name: string): string | undefined;
  /** What a pricing function receives. */
  readonly request: Request;
};

/**
 * A reply the adapter sends as is.
 * @example
 * ```ts
 * const send = ({ reply }: ReplyAdmission) => res.status(reply.status).set(reply.headers).send(reply.body);
 * if (admission.action === 'reply') return send(admission);
 * ```
 */
export type ReplyAdmission = { readonly action: 'reply'; readonly reply: PaywallReply };
/**
 * The payment is settled: run the handler, with these headers on its response (the receipt, the exposed headers,
 * and `cache-control: private` unless the handler sets its own).
 * @example
 * ```ts
 * const serve = (admission: ServeAdmission) => { res.set(admission.headers); next(); };
 * if (admission.action === 'serve') return serve(admission); // admission.payment says who paid
 * ```
 */
export type ServeAdmission = {
  readonly action: 'serve';
  readonly payment: Payment;
  readonly headers: Readonly<Record<string, string>>;
};
/**
 * The payment is verified, not settled (`after-handler`), and reserved for this request: no other request in this
 * process runs a handler on it (or on another payment of the same payer nonce) until it is released. Run the handler
 * with its response held back, then call `settle()` only if it succeeded (status below 400), and send what
 * `settle()` answers; otherwise (an error status, a throw, the client gone) call `release()`. An adapter that does
 * neither holds the payment until the lease ends: the route's `maxTimeoutSeconds`.
 * @example
 * ```ts
 * const deferred: DeferredAdmission = admission; // admission.action === 'serve-then-settle'
 * const held = await runHandler(); // its response held back
 * if (held.status >= 400) deferred.release();
 * else respond(await deferred.settle()); // 'reply' when the settlement failed, else 'serve'
 * ```
 */
export type DeferredAdmission = {
  readonly action: 'serve-then-settle';
  readonly payment: Payment;
  /** Settles; the reservation ends when the facilitator has answered. */
  settle(): Promise<ReplyAdmission | ServeAdmission>;
  /** Ends the reservation without settling. Idempotent, and a no-op after `settle()`. */
  release(): void;
};
/**
 * The core's answer for one request.
 * @example
 * ```ts
 * const admission = await server.admit(request);
 * if (admission.action === 'reply') return send(admission.reply);
 * ```
 */
export type Admission = ReplyAdmission | ServeAdmission | DeferredAdmission;

/**
 * A resource server for one priced route.
 * @example
 * ```ts
 * const server = createResourceServer({ amount: '1000', payTo, network: 'testnet', facilitatorUrl });
 * const admission = await server.admit({ url, header, request });
 * ```
 */
export type ResourceServer<Request> = {
  readonly settleOrder: SettleOrder;
  admit(request: PaywallRequest<Request>): Promise<Admission>;
};

// Distinct resource URLs whose static challenge is kept; past this the cache starts over.
const MAX_CACHED_CHALLENGES = 1_000;

/**
 * Creates the core of a payment middleware. Options are checked here, once: the call throws
 * {@link ServerConfigError} listing every problem.
 *
 * 1. Price the request: the static entries, or the pricing function's, checked like a facilitator would.
 * 2. Offer the facilitator's sponsor, when it has one for the network and `sponsored` is not `false`.
 * 3. No payment header: 402 with the challenge (encoded once per resource URL for a static price). With
 *    `signInWithX`, each 402 carries a fresh sign-in challenge, and a `sign-in-with-x` proof of an address that paid
 *    within `accessMs` is served on that earlier payment, nothing settled; a refused proof is a 402 with its reason.
 * 4. A malformed header: 400. A payment that accepts none of the entries: 402 `accepted_requirements_mismatch`.
 * 5. With a `paymentValidator`: verify, and ask it; `false` is a 402 `payment_refused`, nothing settled.
 * 6. `before-handler`: settle (following `settlement_pending`), then serve; `after-handler`: verify, reserve the
 *    payment for this request (a concurrent one with the same payment or payer nonce gets 402 `payment_in_progress`),
 *    then serve and settle before sending. Any refusal is a 402 with the facilitator's reason; no usable answer is a
 *    502.
 *
 * @throws {ServerConfigError}
 * @example
 * ```ts
 * import { createResourceServer } from 'x402-stacks/server';
 * const server = createResourceServer({
 *   amount: STXtoMicroSTX('0.001'), payTo: SELLER, network: 'testnet', facilitatorUrl: FACILITATOR_URL,
 * });
 * ```
 */
export function createResourceServer<Request = unknown>(
  options: PaymentMiddlewareOptions<Request>,
): ResourceServer<Request> {
  const resolved = resolveOptions(options);
  const { base, facilitator } = resolved;
  const offersSponsor = resolved.sponsored && base.extra?.sponsor === undefined;
  // The facilitator's hints: the sponsor to offer, and the escrow of a route that offers batch-settlement.
  const sponsorOf: SponsorLookup =
    offersSponsor || resolved.batch
      ? createSponsorLookup(facilitator, base.network)
      : async () => undefined;
  const batch = resolved.batch
    ? createBatchAdmitter(facilitator, options.facilitatorUrl ?? facilitator)
    : undefined;
  const pending = { attempts: resolved.pendingAttempts, intervalMs: resolved.pendingIntervalMs };
  const challenges = new Map<
    string,
    { reply: PaywallReply; offers: ExtensionEnvelope | undefined }
  >();
  const signIn = resolved.signInWithX;
  let challengesSponsor: FacilitatorHints | undefined;
  const issuer = resolved.offerReceipt
    ? createOfferReceiptIssuer(resolved.offerReceipt)
    : undefined;
  // Every extension the route declares goes in one `extensions` object: bazaar's fixed declaration, the signed offers.
  const declared = resolved.bazaar === undefined ? undefined : { [BAZAAR]: resolved.bazaar };
  const extensionsOf = (offers: ExtensionEnvelope | undefined) =>
    offers === undefined ? declared : { ...declared, [OFFER_RECEIPT]: offers };
  // A 402 built per request: the signed offers, and a fresh sign-in challenge when the route offers sign-in.
  const challengeExtensions = (
    offers: ExtensionEnvelope | undefined,
    signInUri: string | undefined,
  ) => {
    if (!signIn || signInUri === undefined) return extensionsOf(offers);
    return { ...extensionsOf(offers), [SIGN_IN_WITH_X]: signIn.declaration(signInUri) };
  };

  // x402 v2 §6.1: any flow but `authorization` MUST be named. Settling before the handler is the `upfront` flow.
  const flow = resolved.settleOrder === 'before-handler' ? { paymentFlow: 'upfront' } : {};
  // `feePayer` beside `sponsor`: how the sponsoring Stacks peers and other chains' mechanisms name the same thing.
  const withSponsor = (
    accepts: readonly PaymentRequirements[],
    hints: FacilitatorHints | undefined,
  ) => {
    const sponsor = offersSponsor ? hints?.sponsor : undefined;
    const ahead = offersSponsor ? hints?.maxNonceAhead : undefined;
    const written = {
      ...flow,
      ...(sponsor === undefined ? {} : { sponsor, feePayer: sponsor }),
      ...(ahead === undefined ? {} : { maxNonceAhead: ahead }),
    };
    const exact =
      Object.keys(written).length === 0
        ? accepts
        : accepts.map((entry) => ({ ...entry, extra: { ...entry.extra, ...written } }));
    return resolved.batch ? withBatchOffers(exact, hints, resolved.batch) : exact;
  };

  // A static price's entries as offered, kept while the sponsor stays: one array, so caches keyed on it hit.
  let staticOffer:
    | { sponsor: FacilitatorHints | undefined; accepts: readonly PaymentRequirements[] }
    | undefined;
  async function offered(request: PaywallRequest<Request>, sponsor: FacilitatorHints | undefined) {
    if (resolved.staticAccepts) {
      if (staticOffer?.sponsor !== sponsor || !staticOffer) {
        staticOffer = { sponsor, accepts: withSponsor(resolved.staticAccepts, sponsor) };
      }
      return { accepts: staticOffer.accepts };
    }
    const priced = priceRequirements(await resolved.priceFunction!(request.request), base);
    if (!priced.ok) return { problems: priced.problems };
    return { accepts: withSponsor(priced.accepts, sponsor) };
  }

  function staticChallenge(
    resourceUrl: string,
    accepts: readonly PaymentRequirements[],
    sponsor: FacilitatorHints | undefined,
    offers: ExtensionEnvelope | undefined,
  ) {
    if (challengesSponsor !== sponsor || challenges.size >= MAX_CACHED_CHALLENGES) {
      challenges.clear();
      challengesSponsor = sponsor;
    }
    const cached = challenges.get(resourceUrl);
    // The issuer hands out the same offers object until it signs new ones: then the challenge is encoded again.
    if (cached && cached.offers === offers) return cached.reply;
    const reply = challengeReply(
      resolved as ResolvedOptions<unknown>,
      resourceUrl,
      accepts,
      undefined,
      undefined,
      extensionsOf(offers),
    );
    challenges.set(resourceUrl, { reply, offers });
    return reply;
  }

  // A static route with sign-in: the 402 is the same but for its fresh challenge's times and nonce, so all else is
  // serialized once, with slots for those.
  const signInTemplates = new Map<
    string,
    { offers: ExtensionEnvelope | undefined; reply: () => PaywallReply }
  >();
  let signInTemplatesSponsor: FacilitatorHints | undefined;
  // The last template handed out: a route's 402s nearly all go to one URL, whose key need not be joined and hashed.
  let lastSignIn:
    | {
        resourceUrl: string;
        signInUri: string;
        sponsor: FacilitatorHints | undefined;
        offers: ExtensionEnvelope | undefined;
        reply: () => PaywallReply;
      }
    | undefined;
  function signInTemplate(
    resourceUrl: string,
    signInUri: string,
    accepts: readonly PaymentRequirements[],
    sponsor: FacilitatorHints | undefined,
    offers: ExtensionEnvelope | undefined,
  ): () => PaywallReply {
    if (
      lastSignIn?.resourceUrl === resourceUrl &&
      lastSignIn.signInUri === signInUri &&
      lastSignIn.sponsor === sponsor &&
      lastSignIn.offers === offers
    ) {
      return lastSignIn.reply;
    }
    if (signInTemplatesSponsor !== sponsor || signInTemplates.size >= MAX_CACHED_CHALLENGES) {
      signInTemplates.clear();
      signInTemplatesSponsor = sponsor;
    }
    const key = `${resourceUrl}\u0000${signInUri}`;
    const cached = signInTemplates.get(key);
    // The issuer hands out the same offers object until it signs new ones: then the 402 is serialized again.
    let reply = cached && cached.offers === offers ? cached.reply : undefined;
    if (!reply) {
      reply = signInReply(resourceUrl, signInUri, accepts, offers);
      signInTemplates.set(key, { offers, reply });
    }
    lastSignIn = { resourceUrl, signInUri, sponsor, offers, reply };
    return reply;
  }

  function signInReply(
    resourceUrl: string,
    signInUri: string,
    accepts: readonly PaymentRequirements[],
    offers: ExtensionEnvelope | undefined,
  ): () => PaywallReply {
    const writer = signIn!.challengeWriter(signInUri);
    const declaration = { ...signIn!.declaration(signInUri), info: writer.template };
    const extensions = { ...extensionsOf(offers), [SIGN_IN_WITH_X]: declaration };
    const options = resolved as ResolvedOptions<unknown>;
    const fill = challengeTemplate(options, resourceUrl, accepts, extensions, writer.slots);
    // A time that does not fit its slot (a clock past the year 9999), or a text holding a slot's marker: the 402 is
    // built whole, as it is with a fresh challenge.
    const whole = (values: readonly string[]) =>
      challengeReply(options, resourceUrl, accepts, undefined, undefined, {
        ...extensions,
        [SIGN_IN_WITH_X]: { ...declaration, info: writer.infoOf(values) },
      });
    return () => {
      const values = writer.next();
      return fill?.(values) ?? whole(values);
    };
  }

  // x402-stacks 1.x clients read only the body: theirs replaces the v2 JSON, built per request (its nonce and expiry).
  function forLegacyClients(
    paywallReply: PaywallReply,
    resourceUrl: string,
    accepts: readonly PaymentRequirements[],
    failure?: { error: string; message?: string },
  ): PaywallReply {
    if (resolved.challengeBody !== 'x402-stacks-v1') return paywallReply;
    const body = legacyChallengeBody(resourceUrl, accepts, failure, base.tokens);
    return body === undefined ? paywallReply : { ...paywallReply, body };
  }

  async function admit(request: PaywallRequest<Request>): Promise<Admission> {
    try {
      return await decide(request);
    } catch (error) {
      if (error instanceof FacilitatorRequestError) {
        return reply(errorReply(502, error.reason, error.shortMessage));
      }
      throw error;
    }
  }

  async function decide(request: PaywallRequest<Request>): Promise<Admission> {
    // 1–2. The entries on offer.
    const sponsor = await sponsorOf();
    const priced = await offered(request, sponsor);
    if (!priced.accepts) {
      return reply(
        errorReply(
          500,
          'invalid_price',
          `${SERVER_REASON_CODES.invalid_price} ${priced.problems.join('; ')}`,
        ),
      );
    }
    const { accepts } = priced;
    const resourceUrl = resolved.resource ?? withoutQuery(request.url);
    // With sign-in, every 402 carries a fresh challenge, so none is cached.
    const signInUri = signIn?.uriOf(request.url);
    let offers = issuer?.offers(resourceUrl, accepts);
    // Cached offers come back as a value: no await, so the unpaid 402 stays synchronous here.
    if (offers instanceof Promise) offers = await offers;
    const challenge = (failure?: { error: string; message?: string }, receipt?: SettleResponse) =>
      reply(
        forLegacyClients(
          challengeReply(
            resolved as ResolvedOptions<unknown>,
            resourceUrl,
            accepts,
            failure,
            receipt,
            challengeExtensions(offers, signInUri),
          ),
          resourceUrl,
          accepts,
          failure,
        ),
      );

    // 3–4. The payment, if any, and the entry it pays.
    let payment: ReturnType<typeof readPayment>;
    try {
      payment = readPayment(request.header);
    } catch (error) {
      if (error instanceof InvalidHeaderError) {
        return reply(
          errorReply(400, error.reason, error.message.split('\n').filter(Boolean).join(' ')),
        );
      }
      throw error;
    }
    if (!payment) {
      if (signIn && signInUri !== undefined) {
        const proof = request.header(SIGN_IN_WITH_X);
        if (proof === undefined) {
          if (!resolved.staticAccepts) return challenge();
          const fresh = signInTemplate(resourceUrl, signInUri, accepts, sponsor, offers);
          return reply(forLegacyClients(fresh(), resourceUrl, accepts));
        }
        const outcome = await signIn.admit(proof, signInUri, accepts);
        if (outcome.granted) return signedIn(outcome.payment);
        return challenge(
          outcome.refusal && { error: outcome.refusal.reason, message: outcome.refusal.message },
        );
      }
      return resolved.staticAccepts
        ? reply(
            forLegacyClients(
              staticChallenge(resourceUrl, accepts, sponsor, offers),
              resourceUrl,
              accepts,
            ),
          )
        : challenge();
    }
    const found = matchPayment(payment, accepts, base.network, base.tokens);
    if (!found) {
      return challenge({
        error: 'accepted_requirements_mismatch',
        message: SERVER_REASON_CODES.accepted_requirements_mismatch,
      });
    }
    const matched = withOwnDeclaration(found, resourceUrl);
    if (batch && matched.requirements.scheme === BATCH_SETTLEMENT) {
      return batch.admit(
        matched,
        accepts,
        (entries, failure, receipt) =>
          forLegacyClients(
            challengeReply(
              resolved as ResolvedOptions<unknown>,
              resourceUrl,
              entries,
              failure,
              receipt,
              challengeExtensions(offers, signInUri),
            ),
            resourceUrl,
            entries,
            failure,
          ),
        resolved.paymentValidator,
      );
    }

    // 4b. The payment's id, when the route declares the extension: malformed, or missing where required, is a 400
    // before anything is verified or settled.
    const idProblem = paymentIdProblem(resolved.paymentIdentifier, matched);
    if (idProblem) return reply(errorReply(400, idProblem.reason, idProblem.message));

    // 5. Settle now, or verify now and settle after the handler. A validator sees the verified payment first.
    const { paymentValidator } = resolved;
    const remember =
      signIn && signInUri !== undefined
        ? (paid: Payment) => signIn.remember(signInUri, paid)
        : undefined;
    if (resolved.settleOrder === 'before-handler' && !paymentValidator) {
      return settleAndServe(matched, resourceUrl, challenge, undefined, remember);
    }
    const verdict = await facilitator.verify(matched.payload, matched.requirements);
    if (!verdict.isValid) {
      if (verdict.invalidReason === 'invalid_exact_stacks_payload_txid_reused') {
        const retried = await retryOfHeldPayment(matched, resourceUrl, challenge);
        if (retried) return retried;
      }
      return challenge({
        error: verdict.invalidReason ?? 'unexpected_verify_error',
        ...(verdict.invalidMessage ? { message: verdict.invalidMessage } : {}),
      });
    }
    const signed = signedBytesOf(matched);
    const signedTxid = signed === undefined ? '' : transactionIdOf(signed);
    const verified = paymentOf(
      matched,
      { transaction: signedTxid, payer: verdict.payer ?? '' },
      false,
    );
    // after-handler runs the handler before the facilitator claims the payment: without a reservation, every
    // concurrent request carrying it would run the handler. (before-handler serves only the request whose settle
    // claimed the payment, so it needs none.) Reserved before the validator, which then runs once per payment too.
    let reservation: Reservation | undefined;
    if (resolved.settleOrder === 'after-handler') {
      const outcome = reserve(matched, signed, signedTxid);
      if (outcome && !outcome.reserved) return challenge(refusalOf(outcome));
      reservation = outcome?.reservation;
    }
    try {
      if (paymentValidator && !(await paymentValidator(verified))) {
        reservation?.release();
        return challenge({
          error: 'payment_refused',
          message: SERVER_REASON_CODES.payment_refused,
        });
      }
    } catch (error) {
      reservation?.release();
      throw error;
    }
    if (resolved.settleOrder === 'before-handler') {
      return settleAndServe(matched, resourceUrl, challenge, undefined, remember);
    }
    return {
      action: 'serve-then-settle',
      payment: verified,
      settle: async () => {
        try {
          return await settleAndServe(
            matched,
            resourceUrl,
            challenge,
            (answer) => {
              // Claimed by the facilitator: kept as spent. Refused: free again, nothing was charged.
              if (isClaimed(answer)) reservation?.consume();
              else reservation?.release();
            },
            remember,
          );
        } catch (error) {
          if (error instanceof FacilitatorRequestError) {
            return reply(errorReply(502, error.reason, error.shortMessage));
          }
          throw error;
        } finally {
          reservation?.release();
        }
      },
      release: () => reservation?.release(),
    };
  }

  /**
   * The seller, not the buyer, speaks for its route: the payload the facilitator catalogs from carries the seller's
   * own bazaar declaration and resource, whatever the buyer echoed (none, or a forged one to poison the listing).
   */
  function withOwnDeclaration(found: MatchedPayment, resourceUrl: string): MatchedPayment {
    const { bazaar, description, mimeType } = resolved;
    if (bazaar === undefined) return found;
    const resource = {
      url: resourceUrl,
      ...(description !== undefined ? { description } : {}),
      ...(mimeType !== undefined ? { mimeType } : {}),
    };
    const extensions = withExtension(found.payload.extensions ?? undefined, BAZAAR, bazaar);
    return { ...found, payload: { ...found.payload, resource, extensions } };
  }

  /**
   * A payment the facilitator already holds fails `/verify` (its txid is reused). When its status is bound to this
   * request (this route's resource and terms), it is a retry of a payment this route accepted before (its validator,
   * if any, approved it then): it goes straight to settle, before any handler runs, and the facilitator's answer
   * decides whether this request is the one served. Anything else keeps the verify's refusal.
   */
  async function retryOfHeldPayment(
    matched: MatchedPayment,
    resourceUrl: string,
    challenge: (
      failure?: { error: string; message?: string },
      receipt?: SettleResponse,
    ) => ReplyAdmission,
  ): Promise<ReplyAdmission | ServeAdmission | undefined> {
    const signed = signedBytesOf(matched);
    if (signed === undefined) return undefined;
    const signedTxid = transactionIdOf(signed);
    const status = await facilitator.status(signedTxid).catch(() => undefined);
    if (!status || status.state === 'failed') return undefined;
    if (!isBoundTo(status, matched.requirements, resourceUrl)) return undefined;
    // The first claim may not have come through this route (a payer can settle at the facilitator itself, naming
    // this resource): the validator judges the payment here as on any first request.
    const { paymentValidator } = resolved;
    if (paymentValidator) {
      const payer = readTransactionOrigin(signed)?.payer ?? '';
      const verified = paymentOf(matched, { transaction: signedTxid, payer }, false);
      if (!(await paymentValidator(verified))) {
        return challenge({
          error: 'payment_refused',
          message: SERVER_REASON_CODES.payment_refused,
        });
      }
    }
    return settleAndServe(matched, resourceUrl, challenge);
  }

  async function settleAndServe(
    matched: MatchedPayment,
    resourceUrl: string,
    challenge: (
      failure?: { error: string; message?: string },
      receipt?: SettleResponse,
    ) => ReplyAdmission,
    onSettled?: (answer: SettleResponse) => void,
    remember?: (payment: Payment) => Promise<void>,
  ): Promise<ReplyAdmission | ServeAdmission> {
    const raw = signedBytesOf(matched);
    const settled = await settlePayment(
      facilitator,
      {
        payload: matched.payload,
        requirements: matched.requirements,
        resourceUrl,
        signedTxid: raw === undefined ? '' : transactionIdOf(raw),
      },
      pending,
    );
    onSettled?.(settled);
    if (!settled.success) {
      const error = settled.errorReason ?? 'unexpected_settle_error';
      const message =
        error === 'settlement_pending'
          ? `the payment ${settled.transaction} is broadcast but not confirmed yet; the resource is not served on a pending payment. Send the same payment again once it is confirmed: it is served once`
          : settled.errorMessage;
      return challenge({ error, ...(message ? { message } : {}) }, settled);
    }
    const facts = { transaction: settled.transaction, payer: settled.payer ?? '' };
    // Signed after settlement, for the settled txid: a receipt is never issued for a payment that did not go through.
    const signedReceipt = await issuer?.receipt(resourceUrl, matched.requirements, facts);
    const payment: Payment = {
      ...paymentOf(matched, facts, true),
      ...(signedReceipt ? { signedReceipt } : {}),
    };
    // For a later sign-in. A store that fails must not cost the buyer what it paid for: it is served regardless, and
    // at worst pays again next time.
    await remember?.(payment).catch(() => undefined);
    const headers: Record<string, string> = {
      // Paid content is for this buyer: no shared cache may serve it to the next, unpaid request.
      'cache-control': 'private',
      'access-control-expose-headers': EXPOSED_HEADERS,
      [PAYMENT_HEADERS.paymentResponse]: encodeJson({
        success: true,
        transaction: settled.transaction,
        network: settled.network,
        ...(settled.payer ? { payer: settled.payer } : {}),
        ...(signedReceipt
          ? { extensions: { [OFFER_RECEIPT]: receiptExtension(signedReceipt) } }
          : {}),
      }),
    };
    if (matched.version === 1) {
      headers[PAYMENT_HEADERS.xPaymentResponse] = encodeJson({
        success: true,
        txId: settled.transaction,
        amount: matched.requirements.amount,
        sender: settled.payer ?? '',
        network: settled.network,
        // What x402-stacks 1.x sellers sent, for buyers that read it.
        ...(matched.legacy ? { status: 'success' } : {}),
      });
    }
    return { action: 'serve', payment, headers };
  }

  return { settleOrder: resolved.settleOrder, admit };
}

/** Served on a sign-in: the earlier payment that grants it is the handler's `getPayment`; nothing settles now. */
function signedIn(payment: Payment): ServeAdmission {
  return {
    action: 'serve',
    payment,
    headers: {
      // Content for this buyer only, as on a paid response.
      'cache-control': 'private',
      'access-control-expose-headers': EXPOSED_HEADERS,
    },
  };
}

/**
 * Reserves a verified payment in the process-wide registry, for the route's `maxTimeoutSeconds` at most (the time the
 * seller told the buyer it answers within). `undefined` when the transaction cannot be read, which a payment that
 * passed `/verify` never is; the facilitator's claim would still let only one request settle.
 */
function reserve(
  matched: MatchedPayment,
  signed: Uint8Array | undefined,
  txid: string,
): ReserveOutcome | undefined {
  const origin = signed === undefined ? undefined : readTransactionOrigin(signed);
  if (!origin) return undefined;
  const { network, maxTimeoutSeconds } = matched.requirements;
  return paymentReservations.reserve(
    { txid, network, payer: origin.payer, nonce: origin.nonce },
    maxTimeoutSeconds * 1000,
  );
}

/** The 402 failure for a payment another request holds, or has spent. */
function refusalOf(outcome: Exclude<ReserveOutcome, { reserved: true }>): {
  error: string;
  message: string;
} {
  if (outcome.by === 'capacity') {
    return {
      error: 'payment_in_progress',
      message:
        'the seller holds as many payments in progress as it can; nothing was settled, retry shortly',
    };
  }
  if (outcome.state === 'spent') {
    return outcome.by === 'txid'
      ? {
          error: 'duplicate_settlement',
          message: 'this payment was already settled for another request',
        }
      : {
          error: 'invalid_exact_stacks_payload_nonce_reused',
          message: "another payment already spent this payer's nonce",
        };
  }
  return {
    error: 'payment_in_progress',
    message:
      outcome.by === 'txid'
        ? 'this payment is being served to another request; nothing was settled for this one'
        : 'another payment on the same payer nonce is being served; at most one of them can settle, and nothing was settled for this one',
  };
}

// The facilitator's answers after which the payment (or its nonce) is claimed in its ledger.
const CLAIMED = new Set([
  'settlement_pending',
  'duplicate_settlement',
  'invalid_exact_stacks_payload_nonce_reused',
]);

function isClaimed(answer: SettleResponse): boolean {
  return answer.success || CLAIMED.has(answer.errorReason ?? '');
}

/** Why the payment's `payment-identifier` entry cannot be taken on this route, if it cannot. */
function paymentIdProblem(
  declared: { readonly required: boolean } | undefined,
  matched: MatchedPayment,
): { reason: string; message: string } | undefined {
  if (!declared) return undefined;
  // A v1 payment has no extensions: it names no id.
  const of = paymentIdOf(matched.version === 2 ? matched.payload.extensions : undefined);
  if (!of.ok) return { reason: of.reason, message: of.message };
  if (declared.required && of.id === undefined) {
    return {
      reason: 'payment_identifier_required',
      message: SERVER_REASON_CODES.payment_identifier_required,
    };
  }
  return undefined;
}

function reply(paywallReply: PaywallReply): ReplyAdmission {
  return { action: 'reply', reply: paywallReply };
}

function paymentOf(
  matched: MatchedPayment,
  { transaction, payer }: { transaction: string; payer: string },
  settled: boolean,
): Payment {
  const { requirements } = matched;
  return {
    transaction,
    txId: transaction,
    payer,
    network: requirements.network as StacksNetworkId,
    amount: requirements.amount,
    asset: requirements.asset,
    settled,
    requirements,
    x402Version: matched.version,
  };
}

function withoutQuery(url: string): string {
  const end = url.search(/[?#]/);
  return end === -1 ? url : url.slice(0, end);
}
