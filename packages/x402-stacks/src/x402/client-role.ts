/**
 * The buyer's side of the scheme under `@x402/core`'s `x402Client`. Each payload is built by the library's own payer
 * (`createPayer`): the same spending policy, nonce allocator, fee rule, balance check and transaction builder as
 * `wrapFetchWithPayment`. A payment holds the account's nonce turn until its outcome is known: `@x402/fetch` reports
 * it through the `onPaymentResponse` hook; a transport that does not (`@x402/axios` 2.11) frees the turn once the
 * transaction is in the mempool (a sponsored one: confirmed), or after `responseTimeoutMs` at the latest, when the chain
 * decides the next nonce.
 * A 402 that declares `payment-identifier` gets a fresh id in the payload's extensions, as the wrappers send it.
 *
 * The same role serves batch-settlement ({@link ClientRoleScheme}): only how a payload is told apart differs, and a
 * refusal the payer resynchronised from (a corrective 402) answers the hook with `{ recovered: true }`, so the
 * transport pays the same challenge once more.
 * @module
 */
import type { PaymentCreationFailureContext, PaymentResponseContext } from '@x402/core/client';
import type {
  PaymentPayloadContext,
  PaymentPayloadResult,
  PaymentRequirements,
  SchemeClientHooks,
} from '@x402/core/types';
import type { PaidAnswer } from '../client/outcome.js';
import { createPayer, type Payer, type PaymentOptions } from '../client/payer.js';
import type { PreparedPayment } from '../client/prepared.js';
import { PAYMENT_IDENTIFIER } from '../extensions/payment-identifier/index.js';
import {
  decodePaymentSignatureHeader,
  encodePaymentRequiredHeader,
  encodePaymentResponseHeader,
} from '../protocol/headers.js';
import type { PaymentRequired, SettleResponse } from '../protocol/v2.js';
import type { StacksAccount } from '../stacks/accounts.js';
import type { Signer } from '../stacks/signer.js';
import { ExactStacksSchemeError } from './errors.js';

/**
 * Options of the client role: every `PaymentOptions` of the library's payer, plus how long a payment may wait for
 * its outcome.
 * @example
 * ```ts
 * const options: ClientRoleOptions = { apiUrl: 'http://127.0.0.1:3999', maxAmount: { STX: 10_000n } };
 * ```
 */
export type ClientRoleOptions = PaymentOptions & {
  /**
   * How long a payment holds the account's nonce turn without hearing its outcome, ms. Then the next payment reads
   * its nonce from the chain. Default 60,000.
   */
  responseTimeoutMs?: number;
};

/** The client role's methods, as `SchemeNetworkClient` names them. */
export type ClientRole = {
  readonly payer: Payer;
  readonly schemeHooks: SchemeClientHooks;
  createPaymentPayload(
    x402Version: number,
    requirements: PaymentRequirements,
    context?: PaymentPayloadContext,
  ): Promise<PaymentPayloadResult>;
};

/**
 * What sets one scheme's client role apart: its name (for messages) and the string that tells its payloads apart
 * (what the response hook sees of a payment).
 * @example
 * ```ts
 * const exact: ClientRoleScheme = { name: 'exact', paymentKey: (payload) => String(payload.transaction) };
 * ```
 */
export type ClientRoleScheme = {
  readonly name: string;
  readonly paymentKey: (payload: Record<string, unknown>) => string | undefined;
};

/** `exact`: a payload is its signed transaction. */
const EXACT_CLIENT_SCHEME: ClientRoleScheme = {
  name: 'exact',
  paymentKey: (payload) =>
    typeof payload.transaction === 'string' ? payload.transaction : undefined,
};

type InFlight = {
  readonly prepared: PreparedPayment;
  readonly timer: ReturnType<typeof setTimeout>;
};

/**
 * Creates the client role of one account, for `exact` unless another scheme is named.
 * @throws {PayerOptionsError} for options the payer cannot use.
 * @example
 * ```ts
 * const role = createClientRole(privateKeyToAccount(key, 'testnet'), { apiUrl: 'http://127.0.0.1:3999' });
 * ```
 */
export function createClientRole(
  account: StacksAccount | Signer,
  options: ClientRoleOptions = {},
  scheme: ClientRoleScheme = EXACT_CLIENT_SCHEME,
): ClientRole {
  const { responseTimeoutMs = 60_000, ...paymentOptions } = options;
  if (!Number.isFinite(responseTimeoutMs) || responseTimeoutMs < 1) {
    throw new ExactStacksSchemeError(
      'invalid_payer_options',
      `responseTimeoutMs must be a positive number, got ${String(responseTimeoutMs)}`,
    );
  }
  const payer = createPayer(account, paymentOptions);
  // By the payment's key (what the response hook sees), and by the requirements object (what a failure hook sees).
  const inFlight = new Map<string, InFlight>();
  const byRequirements = new WeakMap<PaymentRequirements, string>();
  const urls = new WeakMap<PaymentRequirements, string>();

  /** Ends a payment's wait with its outcome; the prepared payment, or undefined when it was not waiting. */
  const settle = async (
    key: string,
    outcome: (prepared: PreparedPayment) => Promise<unknown>,
  ): Promise<PreparedPayment | undefined> => {
    const entry = inFlight.get(key);
    if (!entry) return undefined;
    inFlight.delete(key);
    clearTimeout(entry.timer);
    try {
      await outcome(entry.prepared);
    } catch {
      // complete() throws for refused and pending payments; the transport reports those to the caller itself.
    }
    return entry.prepared;
  };

  const schemeHooks: SchemeClientHooks = {
    async onBeforePaymentCreation({ paymentRequired, selectedRequirements }) {
      urls.set(selectedRequirements, paymentRequired.resource.url);
    },
    async onPaymentCreationFailure({ selectedRequirements }: PaymentCreationFailureContext) {
      // A later hook failed after this scheme signed: the payment never left, so its nonce goes back to the chain.
      const key = byRequirements.get(selectedRequirements);
      if (key)
        await settle(key, async (prepared) => prepared.fail(new Error('payment creation failed')));
    },
    async onPaymentResponse(context: PaymentResponseContext) {
      const key = scheme.paymentKey(context.paymentPayload.payload);
      if (!key) return;
      const prepared = await settle(key, (prepared) =>
        context.error
          ? Promise.resolve(prepared.fail(context.error))
          : prepared.complete(answerOf(context)),
      );
      // An `exact` payment never recovers: a retry would sign a second payment for the same request. A channel
      // payment recovers only when a corrective 402 proved the refused voucher superseded (the stock transports
      // retry once, so this is bounded).
      if (prepared?.resynchronised?.()) return { recovered: true };
    },
  };

  return {
    payer,
    schemeHooks,
    async createPaymentPayload(x402Version, requirements, context) {
      if (x402Version !== 2) {
        throw new ExactStacksSchemeError(
          'invalid_x402_version',
          `the Stacks ${scheme.name} scheme pays x402 v2 offers, got v${x402Version}`,
        );
      }
      const cap = context?.maxAmountPerPayment;
      if (
        cap !== undefined &&
        /^\d+$/.test(cap) &&
        /^\d+$/.test(requirements.amount) &&
        BigInt(requirements.amount) > BigInt(cap)
      ) {
        throw new ExactStacksSchemeError(
          'payment_over_max_amount',
          `the price ${requirements.amount} is above the spend control's cap ${cap}`,
        );
      }
      // Called outside x402Client (no hook saw the 402), the resource is unknown; the payload never carries it anyway.
      const url = urls.get(requirements) || 'about:blank';
      const paymentRequired = {
        x402Version: 2 as const,
        resource: { url },
        accepts: [requirements],
        // The 402's extensions, so the payer names the payment when `payment-identifier` is declared.
        ...(context?.extensions ? { extensions: context.extensions } : {}),
      };
      const prepared = await payer.preparePayment(
        {
          version: 2,
          paymentRequired: paymentRequired as PaymentRequired,
          offers: [{ index: 0, requirements }],
        },
        { url },
      );
      const { payload } = decodePaymentSignatureHeader(prepared.header.value);
      const { paymentId } = prepared;
      const key = scheme.paymentKey(payload)!;
      const timer = setTimeout(
        () => void settle(key, async (p) => p.fail(new Error('no outcome in time'))),
        responseTimeoutMs,
      );
      // The timer must never keep Node alive; browsers have no unref.
      (timer as { unref?: () => void }).unref?.();
      inFlight.set(key, { prepared, timer });
      byRequirements.set(requirements, key);
      // Only the id: x402Client merges it into the 402's own entry, keeping the seller's fields as declared.
      return {
        x402Version: 2,
        payload,
        ...(paymentId === undefined
          ? {}
          : { extensions: { [PAYMENT_IDENTIFIER]: { info: { id: paymentId } } } }),
      };
    },
  };
}

/**
 * The response hook's context as the payer reads an answer. It has no status: a receipt tells served (success) or
 * refused, a fresh challenge tells refused, and anything else is unknown, so the chain decides the next nonce.
 */
function answerOf(context: PaymentResponseContext): PaidAnswer {
  const { settleResponse, paymentRequired } = context;
  const encoded = (encode: () => string) => {
    try {
      return encode();
    } catch {
      return undefined;
    }
  };
  if (settleResponse) {
    const header = encoded(() => encodePaymentResponseHeader(settleResponse as SettleResponse));
    return {
      status: settleResponse.success ? 200 : 402,
      header: (name) => (name === 'payment-response' ? header : undefined),
    };
  }
  if (paymentRequired) {
    const header = encoded(() => encodePaymentRequiredHeader(paymentRequired as PaymentRequired));
    return { status: 402, header: (name) => (name === 'payment-required' ? header : undefined) };
  }
  return { status: 500, header: () => undefined };
}
