/**
 * Sign-in-with-x at the seller: the options, the challenge each 402 carries, the check of a request's proof, and the
 * record of each settled payment that a later sign-in is judged by.
 * @module
 */
import { z } from 'zod';
import { declareSiwxStacks } from '../extensions/sign-in-with-x/declaration.js';
import {
  readSiwxHeader,
  type SiwxRefusal,
  verifySiwxStacksProof,
} from '../extensions/sign-in-with-x/proof.js';
import type { SiwxDeclaration } from '../extensions/sign-in-with-x/schema.js';
import type { PaymentRequirements } from '../protocol/v2.js';
import type { StacksNetwork } from '../stacks/networks.js';
import type { Payment } from './payment.js';
import { createSiwxChallenges, type SiwxChallengeWriter } from './siwx-challenges.js';
import { createMemorySiwxStore, type SiwxStore } from './siwx-store.js';

/**
 * The route's `signInWithX` option: offer sign-in in the 402, and serve a payer who paid within `accessMs` on a
 * signed proof instead of a new payment.
 * @example
 * ```ts
 * paymentMiddleware({ amount: '1000', payTo, network: 'mainnet', facilitatorUrl,
 *   signInWithX: { origin: 'https://api.example.com', accessMs: 24 * 3_600_000 } });
 * ```
 */
export type SignInWithXOptions = {
  /**
   * The seller's public origin (`https://api.example.com`): its host is the challenge's `domain`, and resource URLs
   * are on it. Never taken from the request's `Host` header, which the client writes: a seller that echoed it would
   * issue, to anyone, challenges naming any site, and a proof a buyer signed for that site would sign it in here.
   * Default: the origin of the route's `resource` option; one of the two is required.
   */
  origin?: string;
  /** How long after a payment its payer is served on a sign-in, in ms. */
  accessMs: number;
  /**
   * What a payment buys access to: payments and sign-ins with the same scope are one. Default: the resource URL (the
   * origin and the path, without the query), so each path is paid separately, and a sign-in is served only when the
   * payment on record covers the request's price now (same asset and payTo, no less), so a price per request cannot
   * be opened by a cheaper payment. Give one name to several routes to let one payment open them all, whatever each
   * costs.
   */
  scope?: string;
  /** A sentence the buyer's wallet shows when signing, in the challenge's `statement`. */
  statement?: string;
  /** How long a challenge may be signed and used, in ms. Default 300,000 (5 minutes), at most 1 hour. */
  challengeTtlMs?: number;
  /**
   * The key of the challenges' nonces (32 characters or more). Default: random per process. Several processes serving
   * one domain must share it (and a `store`), or a challenge issued by one is unknown to the others.
   */
  nonceSecret?: string;
  /** Who paid, and which nonces are used. Default: this process's memory (`createMemorySiwxStore`). */
  store?: SiwxStore;
  /** The clock, ms since the epoch. Default `Date.now`. */
  clock?: () => number;
};

/** The option's shape, for the middleware's options check. */
export const SignInWithXOptionsSchema = z.object({
  origin: z.url({ protocol: /^https?$/, error: 'expected an http or https origin' }).optional(),
  accessMs: z
    .int({ error: 'accessMs is required: how long a payment grants access, in ms' })
    .positive(),
  scope: z.string().min(1).max(2048).optional(),
  statement: z.string().max(1024).optional(),
  challengeTtlMs: z.int().min(1_000).max(3_600_000).optional(),
  nonceSecret: z.string().min(32, 'nonceSecret must be at least 32 characters').optional(),
  store: z
    .custom<SiwxStore>(
      (value) =>
        typeof value === 'object' &&
        value !== null &&
        ['recordPayment', 'lastPayment', 'useNonce'].every(
          (key) => typeof (value as Record<string, unknown>)[key] === 'function',
        ),
      { error: 'expected an object with recordPayment, lastPayment and useNonce' },
    )
    .optional(),
  clock: z.custom<() => number>((value) => typeof value === 'function').optional(),
});

/** What a proof earned: service on an earlier payment, a named refusal, or nothing (no payment in the period). */
export type SiwxAdmission =
  | { readonly granted: true; readonly payment: Payment }
  | { readonly granted: false; readonly refusal?: SiwxRefusal };

/** A route's sign-in, resolved from its options. */
export type SiwxGate = {
  /** The URL a challenge and a proof name for a request to `requestUrl`: the public origin and the path. */
  uriOf(requestUrl: string): string;
  /** A fresh `sign-in-with-x` entry for a 402 on `uri`. */
  declaration(uri: string): SiwxDeclaration;
  /**
   * A writer of fresh challenges alone: the values of the `info` of {@link SiwxGate.declaration} that change per 402
   * (its times and nonce), and where they go. Get it once per `uri` and call its `next` per 402: what never changes
   * for `uri` is serialized once, around them.
   */
  challengeWriter(uri: string): SiwxChallengeWriter;
  /**
   * Judges the `sign-in-with-x` header of a request on `uri`, priced now at `accepts`: without a `scope` option, the
   * earlier payment must cover one of them (a price per request must not let a cheap payment open a dear request).
   */
  admit(
    header: string,
    uri: string,
    accepts: readonly PaymentRequirements[],
  ): Promise<SiwxAdmission>;
  /** Remembers a settled payment for `uri`'s scope. */
  remember(uri: string, payment: Payment): Promise<void>;
};

/**
 * Resolves the option; `problems` lists what is wrong with it instead.
 */
export function createSiwxGate(
  options: SignInWithXOptions,
  network: StacksNetwork,
  resource: string | undefined,
): { gate: SiwxGate } | { problems: string[] } {
  const base = options.origin ?? resource;
  if (base === undefined) {
    return {
      problems: [
        'signInWithX.origin: give the public origin (https://api.example.com) or the route’s resource; the Host header is never trusted for it',
      ],
    };
  }
  const origin = new URL(base);
  if (options.origin !== undefined && (origin.pathname !== '/' || origin.search || origin.hash)) {
    return { problems: ['signInWithX.origin: an origin has no path, query or fragment'] };
  }
  if (resource !== undefined && new URL(resource).origin !== origin.origin) {
    return { problems: ['signInWithX.origin: the route’s resource is on another origin'] };
  }
  const clock = options.clock ?? Date.now;
  const challenges = createSiwxChallenges({
    secret:
      options.nonceSecret === undefined
        ? globalThis.crypto.getRandomValues(new Uint8Array(32))
        : new TextEncoder().encode(options.nonceSecret),
    domain: origin.host,
    ttlMs: options.challengeTtlMs ?? 300_000,
    statement: options.statement,
    clock,
  });
  const store = options.store ?? createMemorySiwxStore({ retainMs: options.accessMs, clock });
  const chainIds = [network.caip2];
  const scopeOf = (uri: string) => options.scope ?? uri;
  const uris = new Map<string, string>();

  const gate: SiwxGate = {
    uriOf(requestUrl) {
      if (resource !== undefined) return resource;
      // Parsing the URL cost a sign-in 402 about as much as writing its challenge: the URIs of recent request URLs
      // are kept, few and short ones only, so a client sending endless distinct or long URLs only empties the memo.
      let uri = uris.get(requestUrl);
      if (uri === undefined) {
        uri = `${origin.origin}${pathOf(requestUrl)}`;
        if (requestUrl.length <= MAX_REMEMBERED_URL_LENGTH) {
          if (uris.size >= MAX_REMEMBERED_URIS) uris.clear();
          uris.set(requestUrl, uri);
        }
      }
      return uri;
    },
    declaration(uri) {
      return declareSiwxStacks(challenges.issue(uri), chainIds);
    },
    challengeWriter(uri) {
      return challenges.writer(uri);
    },
    async admit(header, uri, accepts) {
      const read = readSiwxHeader(header);
      if (!read.ok) return { granted: false, refusal: read };
      const proof = read.payload;
      const now = clock();
      const verdict = verifySiwxStacksProof(proof, {
        domain: origin.host,
        uri,
        chainIds,
        now,
        issued: (payload) => challenges.issued(payload),
      });
      if (!verdict.ok) return { granted: false, refusal: verdict };
      const paid = await store.lastPayment(scopeOf(uri), verdict.address);
      // Never paid, or the access period is over: no refusal to name, the buyer just pays (a plain 402).
      if (!paid || paid.paidAt + options.accessMs <= now) return { granted: false };
      // Per URL (no `scope`), the price may vary with the query, the method or the body: the payment on record must
      // cover what this request costs, or it pays. A named `scope` is the seller's word that one payment opens it all.
      if (options.scope === undefined && !coversPrice(paid.payment.requirements, accepts)) {
        return { granted: false };
      }
      // Single use, decided last: a proof refused above leaves its nonce usable, which gains nothing (the same
      // checks refuse it again); a proof of a payer is spent here, atomically in the store.
      const use = await store.useNonce(proof.nonce, {
        address: verdict.address,
        expiresAt: Date.parse(proof.expirationTime!),
      });
      if (use === 'reused') {
        return {
          granted: false,
          refusal: {
            reason: 'invalid_siwx_nonce_reused',
            message: 'this challenge was already used to sign in; sign a fresh one',
          },
        };
      }
      if (use === 'full') {
        return {
          granted: false,
          refusal: {
            reason: 'siwx_capacity_exceeded',
            message: 'the seller holds as many sign-ins as it can for now; pay, or sign in later',
          },
        };
      }
      return {
        granted: true,
        payment: {
          ...paid.payment,
          signInWithX: { address: verdict.address, paidAt: paid.paidAt },
        },
      };
    },
    async remember(uri, payment) {
      if (payment.payer === '') return;
      await store.recordPayment({
        scope: scopeOf(uri),
        address: payment.payer,
        paidAt: clock(),
        payment,
      });
    },
  };
  return { gate };
}

/** Whether a paid entry pays at least one offered entry: same scheme, network, payTo and asset, no less. */
function coversPrice(
  paid: PaymentRequirements | undefined,
  accepts: readonly PaymentRequirements[],
): boolean {
  // A store that kept the payment without its terms cannot show it covers anything: the buyer pays.
  if (paid === undefined) return false;
  return accepts.some(
    (offered) =>
      paid.scheme === offered.scheme &&
      paid.network === offered.network &&
      paid.payTo === offered.payTo &&
      paid.asset === offered.asset &&
      /^\d+$/.test(paid.amount) &&
      /^\d+$/.test(offered.amount) &&
      BigInt(paid.amount) >= BigInt(offered.amount),
  );
}

// Request URL → challenge URI, per route: the hot URLs of a route, at most about half a megabyte of text.
const MAX_REMEMBERED_URIS = 256;
const MAX_REMEMBERED_URL_LENGTH = 1_024;

/** The path of a request URL, normalized as `URL` does; the raw path when the adapter's URL does not parse. */
function pathOf(requestUrl: string): string {
  try {
    return new URL(requestUrl).pathname;
  } catch {
    const path = requestUrl.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '').replace(/[?#].*$/s, '');
    return path.startsWith('/') ? path : `/${path}`;
  }
}
