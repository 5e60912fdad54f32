/**
 * The seller's side of the `offer-receipt` extension: a signed offer for each `accepts[]` entry of the 402, and a
 * signed receipt for each settled payment. Offers are signed once per route's terms and reused while at least half
 * their validity remains, so the unpaid 402 costs a map lookup, not a signature (nor a call to a remote signer).
 * @module
 */
import type { ExtensionEnvelope } from '../extensions/envelope.js';
import { offersExtension } from '../extensions/offer-receipt/envelopes.js';
import { signOffer, signReceipt } from '../extensions/offer-receipt/issue.js';
import type { SignedReceipt } from '../extensions/offer-receipt/schema.js';
import type { BoundSigner } from '../extensions/offer-receipt/signer.js';
import type { PaymentRequirements } from '../protocol/v2.js';

/** The checked `offerReceipt` option: the signer bound to the route's network. */
export type ResolvedOfferReceipt = {
  readonly signer: BoundSigner;
  readonly serviceName: string | undefined;
  /** Default: each entry's `maxTimeoutSeconds`, as upstream does. */
  readonly offerValiditySeconds: number | undefined;
  /** The most offer signatures per second, all URLs together: past it, 402s go out unsigned. */
  readonly maxOfferSignaturesPerSecond: number;
  /** How long a signature is waited for; past it the 402 goes unsigned, the paid answer without a receipt. */
  readonly signerTimeoutMs: number;
};

/** Signs a route's offers (cached) and its receipts. A signer that fails yields none, never a failed request. */
export type OfferReceiptIssuer = {
  /**
   * The 402's `extensions["offer-receipt"]` for these entries; the same object while the cached offers last, given
   * as a value once signed (a promise only while signing).
   */
  offers(
    resourceUrl: string,
    accepts: readonly PaymentRequirements[],
  ): ExtensionEnvelope | undefined | Promise<ExtensionEnvelope | undefined>;
  /** The receipt of a settled payment of `requirements`. */
  receipt(
    resourceUrl: string,
    requirements: PaymentRequirements,
    settled: { readonly transaction: string; readonly payer: string },
  ): Promise<SignedReceipt | undefined>;
};

// Distinct (resource, terms) whose signed offers are kept; past this the cache starts over.
const MAX_CACHED_OFFERS = 1_000;

type CachedOffers = {
  readonly envelope: Promise<ExtensionEnvelope | undefined>;
  /** The envelope once signed, handed out without a promise. */
  signed?: ExtensionEnvelope;
  /** Date.now() after which the offers are signed again: half their validity left. */
  readonly refreshAt: number;
};

/**
 * Creates the issuer of one route.
 * @example
 * ```ts
 * const issuer = createOfferReceiptIssuer({ signer: bindSigner(key, 'stacks:1'), serviceName: undefined,
 *   offerValiditySeconds: undefined, maxOfferSignaturesPerSecond: 100, signerTimeoutMs: 5_000 });
 * ```
 */
export function createOfferReceiptIssuer(config: ResolvedOfferReceipt): OfferReceiptIssuer {
  const cache = new Map<string, CachedOffers>();
  // A static price's entries are one array per sponsor: found by identity, without serializing them per request.
  const byArray = new WeakMap<readonly PaymentRequirements[], Map<string, CachedOffers>>();
  const { signer, serviceName } = config;
  // Every distinct resource URL (a route with path parameters has as many as an attacker likes) is a new signature,
  // and with a remote signer a paid call: a token bucket bounds them in total, whatever unpaid requests arrive.
  const bucket = { tokens: config.maxOfferSignaturesPerSecond, at: Date.now() };
  const take = (count: number, now: number): boolean => {
    const rate = config.maxOfferSignaturesPerSecond;
    bucket.tokens = Math.min(rate, bucket.tokens + ((now - bucket.at) / 1000) * rate);
    bucket.at = now;
    if (bucket.tokens < count) return false;
    bucket.tokens -= count;
    return true;
  };

  const sign = async (
    resourceUrl: string,
    accepts: readonly PaymentRequirements[],
    nowSeconds: number,
  ): Promise<ExtensionEnvelope | undefined> => {
    try {
      const offers = await withinDeadline(config.signerTimeoutMs, () =>
        Promise.all(
          accepts.map((entry, acceptIndex) =>
            signOffer(
              { ...entry, resourceUrl },
              {
                signer,
                validUntil: nowSeconds + (config.offerValiditySeconds ?? entry.maxTimeoutSeconds),
                acceptIndex,
                ...(serviceName === undefined ? {} : { serviceName }),
              },
            ),
          ),
        ),
      );
      return offersExtension(offers);
    } catch {
      // A signer that is down must not stop the sale: the 402 goes out unsigned, and the next one tries again.
      return undefined;
    }
  };

  const remember = (
    accepts: readonly PaymentRequirements[],
    resourceUrl: string,
    entry: CachedOffers,
  ) => {
    let perUrl = byArray.get(accepts);
    if (!perUrl) {
      perUrl = new Map();
      byArray.set(accepts, perUrl);
    }
    // Bounded like the main cache: a static route with unbounded distinct URLs must not grow memory.
    if (perUrl.size >= MAX_CACHED_OFFERS) perUrl.clear();
    perUrl.set(resourceUrl, entry);
  };

  return {
    offers(resourceUrl, accepts) {
      if (accepts.length === 0) return undefined;
      const now = Date.now();
      const fresh = (entry: CachedOffers | undefined) =>
        entry && now < entry.refreshAt ? (entry.signed ?? entry.envelope) : undefined;
      const known = fresh(byArray.get(accepts)?.get(resourceUrl));
      if (known) return known;
      const key = `${resourceUrl}\n${JSON.stringify(accepts)}`;
      const cached = cache.get(key);
      const reused = fresh(cached);
      if (reused && cached) {
        remember(accepts, resourceUrl, cached);
        return reused;
      }
      if (!take(accepts.length, now)) return undefined;
      if (cache.size >= MAX_CACHED_OFFERS) cache.clear();
      const shortest = Math.min(
        ...accepts.map((entry) => config.offerValiditySeconds ?? entry.maxTimeoutSeconds),
      );
      const envelope = sign(resourceUrl, accepts, Math.floor(now / 1000));
      const entry: CachedOffers = { envelope, refreshAt: now + (shortest * 1000) / 2 };
      cache.set(key, entry);
      remember(accepts, resourceUrl, entry);
      envelope.then((signed) => {
        if (signed !== undefined) entry.signed = signed;
        else if (cache.get(key) === entry) {
          cache.delete(key);
          byArray.get(accepts)?.delete(resourceUrl);
        }
      });
      return envelope;
    },

    async receipt(resourceUrl, requirements, settled) {
      if (settled.payer === '' || settled.transaction === '') return undefined;
      try {
        return await withinDeadline(config.signerTimeoutMs, () =>
          signReceipt(
            {
              resourceUrl,
              network: requirements.network,
              asset: requirements.asset,
              payTo: requirements.payTo,
              amount: requirements.amount,
              payer: settled.payer,
              transaction: settled.transaction,
              issuedAt: Math.floor(Date.now() / 1000),
            },
            { signer, ...(serviceName === undefined ? {} : { serviceName }) },
          ),
        );
      } catch {
        // The payment is settled: the resource is served with or without a receipt.
        return undefined;
      }
    },
  };
}

/**
 * The signing's result, or a rejection once `ms` have passed: a remote signer that never answers (a dead connection
 * to a KMS) must not hold the 402, or the answer to a payment already settled, with it.
 */
function withinDeadline<T>(ms: number, work: () => Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the signer did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([work(), deadline]).finally(() => clearTimeout(timer));
}
