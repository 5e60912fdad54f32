/**
 * Reading a 402: the v2 `payment-required` header, or the JSON body of a v1 server (x402 v1, or the flat request of
 * x402-stacks 1.x). All become one shape, so the rest of the payer never asks which version it is talking to.
 * @module
 */
import { InvalidHeaderError } from '../protocol/errors.js';
import { decodePaymentRequiredHeader, type HeaderValue } from '../protocol/headers.js';
import { type PaymentRequiredV1, PaymentRequiredV1Schema } from '../protocol/v1.js';
import { type PaymentRequired, PaymentRequiredSchema } from '../protocol/v2.js';
import {
  type LegacyPaymentRequest,
  LegacyPaymentRequestSchema,
} from '../protocol/x402-stacks-1x.js';
import type { StacksPaymentRequirements } from '../stacks/payment/terms.js';
import { InvalidPaymentRequiredError } from './errors.js';

/**
 * One offered way to pay, in the v2 field names. `index` points into the challenge's `accepts`, whose entry a v2
 * payment echoes verbatim.
 * @example
 * ```ts
 * const cheapest = challenge.offers.find((offer) => offer.requirements.asset === 'STX');
 * ```
 */
export type PaymentOffer = {
  readonly index: number;
  readonly requirements: StacksPaymentRequirements;
};

/**
 * A 402 challenge from either protocol version, its offers in the server's order of preference.
 * @example
 * ```ts
 * const challenge = readPaymentChallenge({ header: response.headers.get('payment-required'), body: null });
 * challenge.version; // 2
 * challenge.offers[0]?.requirements.amount; // '1000'
 * ```
 */
export type PaymentChallenge =
  | {
      readonly version: 2;
      readonly paymentRequired: PaymentRequired;
      readonly offers: readonly PaymentOffer[];
    }
  | {
      readonly version: 1;
      /** For the flat x402-stacks 1.x request, its one payment as an x402 v1 challenge. */
      readonly paymentRequired: PaymentRequiredV1;
      readonly offers: readonly PaymentOffer[];
      /** `'x402-stacks-v1'`: the server reads the raw transaction hex in `X-PAYMENT`. Default x402 v1. */
      readonly format?: 'x402-stacks-v1';
    };

/**
 * Reads the challenge of a 402 response.
 *
 * 1. A `payment-required` header is the v2 challenge. When it is present but malformed, the body is not consulted:
 *    a broken or tampered header is an error, never a reason to trust a body instead.
 * 2. Without the header, a JSON body with `x402Version: 1` is a v1 challenge (v1 servers send it only there).
 * 3. A v2-shaped body without the header is accepted too, as older v2 servers sent both.
 * 4. The flat body of x402-stacks 1.x (2.0's `paymentMiddlewareV1`) is its one payment, paid with raw hex.
 *
 * @param input.body the parsed JSON body, its text, or `undefined` when it was not read.
 * @throws {InvalidPaymentRequiredError} when neither holds a valid challenge; `cause` has the decoder's error.
 * @example
 * ```ts
 * const challenge = readPaymentChallenge({ header: res.headers['payment-required'], body: res.data });
 * ```
 */
export function readPaymentChallenge(input: {
  header: HeaderValue;
  body: unknown;
}): PaymentChallenge {
  const header = Array.isArray(input.header) ? input.header[0] : input.header;
  if (typeof header === 'string' && header !== '') {
    let paymentRequired: PaymentRequired;
    try {
      paymentRequired = decodePaymentRequiredHeader(header);
    } catch (error) {
      if (!(error instanceof InvalidHeaderError)) throw error;
      throw new InvalidPaymentRequiredError(
        `the payment-required header is invalid (${error.reason})`,
        {
          cause: error,
          metaMessages: error.metaMessages,
        },
      );
    }
    return v2Challenge(paymentRequired);
  }
  const body = parseBody(input.body);
  const v1 = PaymentRequiredV1Schema.safeParse(body);
  if (v1.success) return v1Challenge(v1.data);
  const v2 = PaymentRequiredSchema.safeParse(body);
  if (v2.success) return v2Challenge(v2.data);
  const legacy = LegacyPaymentRequestSchema.safeParse(body);
  if (legacy.success) return legacyChallenge(legacy.data);
  throw new InvalidPaymentRequiredError(
    'no payment-required header, and the body is not an x402 challenge',
  );
}

function v2Challenge(paymentRequired: PaymentRequired): PaymentChallenge {
  return {
    version: 2,
    paymentRequired,
    offers: paymentRequired.accepts.map((requirements, index) => ({ index, requirements })),
  };
}

function v1Challenge(paymentRequired: PaymentRequiredV1): PaymentChallenge {
  return {
    version: 1,
    paymentRequired,
    offers: paymentRequired.accepts.map((accepted, index) => ({
      index,
      requirements: {
        scheme: accepted.scheme,
        // A v1 name ('testnet', legacy 'stacks'); resolvePaymentTerms resolves it with the payTo prefix.
        network: accepted.network,
        amount: accepted.maxAmountRequired,
        asset: accepted.asset,
        payTo: accepted.payTo,
        maxTimeoutSeconds: accepted.maxTimeoutSeconds,
        ...(accepted.extra ? { extra: accepted.extra } : {}),
      },
    })),
  };
}

function legacyChallenge(request: LegacyPaymentRequest): PaymentChallenge {
  const { tokenType, tokenContract } = request;
  // Its contract when it names one, else the token's default on the network; no token type is STX.
  const asset = tokenContract
    ? `${tokenContract.address}.${tokenContract.name}`
    : (tokenType ?? 'STX');
  // The time left before its expiresAt, as the deadline a v1 requirement states.
  const seconds = Math.max(1, Math.ceil((Date.parse(request.expiresAt) - Date.now()) / 1000));
  const paymentRequired: PaymentRequiredV1 = {
    x402Version: 1,
    accepts: [
      {
        scheme: 'exact',
        network: request.network,
        maxAmountRequired: request.maxAmountRequired,
        resource: request.resource,
        description: '',
        mimeType: '',
        payTo: request.payTo,
        maxTimeoutSeconds: seconds,
        asset,
      },
    ],
  };
  return { ...v1Challenge(paymentRequired), version: 1, paymentRequired, format: 'x402-stacks-v1' };
}

function parseBody(body: unknown): unknown {
  if (body instanceof Uint8Array) return parseBody(new TextDecoder().decode(body));
  if (typeof body !== 'string') return body;
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}
