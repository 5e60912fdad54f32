/**
 * The facilitator calls of x402-stacks 2.0's `paymentMiddlewareV1` (its "v1", the x402-stacks 1.x wire): snake_case
 * bodies on `/api/v1/settle` and `/api/v1/verify`, answered in the shape it reads (`{success, status: 'confirmed',
 * tx_id, sender_address, …}`). They share those paths with x402 v1; {@link v1BodySchema} tells the two apart.
 * @module
 */

import type { Facilitator } from 'x402-stacks/facilitator';
import {
  type LegacySettleRequest,
  LegacySettleRequestSchema,
  type LegacyVerifyRequest,
  LegacyVerifyRequestSchema,
} from 'x402-stacks/protocol';
import { resolveNetwork } from 'x402-stacks/stacks';
import { z } from 'zod';
import type { BodyProblem } from './body.js';

type V1Body<X402, Legacy> =
  | { readonly kind: 'x402'; readonly data: X402 }
  | { readonly kind: 'x402-stacks'; readonly data: Legacy };

const LEGACY = {
  settle: { key: 'signed_transaction', schema: LegacySettleRequestSchema },
  verify: { key: 'tx_id', schema: LegacyVerifyRequestSchema },
} as const;

const UNRECOGNIZED =
  'expected x402 v1 ({x402Version: 1, paymentPayload, paymentRequirements}) or x402-stacks 1.x';

/**
 * The schema of a body on `/api/v1/<route>`, whose protocol its shape names: x402 v1 carries `x402Version`;
 * x402-stacks 1.x carries `signed_transaction` (settle) or `tx_id` (verify). Only then is it checked against that
 * protocol's schema, so a 400 `invalid_request` lists the fields of the protocol the caller meant. A body of neither
 * shape is refused with one root issue, which {@link v1BodyProblem} answers as `unrecognized_request`.
 */
export function v1BodySchema<S extends z.ZodType>(
  route: 'settle',
  x402: S,
): z.ZodType<V1Body<z.output<S>, LegacySettleRequest>>;
export function v1BodySchema<S extends z.ZodType>(
  route: 'verify',
  x402: S,
): z.ZodType<V1Body<z.output<S>, LegacyVerifyRequest>>;
export function v1BodySchema(
  route: 'settle' | 'verify',
  x402: z.ZodType,
): z.ZodType<V1Body<unknown, unknown>> {
  const legacy = LEGACY[route];
  return z.unknown().transform((json, context) => {
    const record =
      typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : {};
    const kind =
      record.x402Version !== undefined
        ? ('x402' as const)
        : record[legacy.key] !== undefined
          ? ('x402-stacks' as const)
          : undefined;
    if (!kind) {
      context.addIssue({
        code: 'custom',
        path: [],
        message: `${UNRECOGNIZED} ({${legacy.key}, …})`,
      });
      return z.NEVER;
    }
    const parsed = (kind === 'x402' ? x402 : legacy.schema).safeParse(json);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        context.addIssue({ code: 'custom', path: issue.path, message: issue.message });
      }
      return z.NEVER;
    }
    return { kind, data: parsed.data };
  });
}

/** A refused body as answered: of neither protocol's shape, the stable `unrecognized_request`. */
export function v1BodyProblem(problem: BodyProblem): {
  error: BodyProblem['error'] | 'unrecognized_request';
  details: unknown;
} {
  const [first] = Array.isArray(problem.details)
    ? (problem.details as { message?: unknown }[])
    : [];
  const message = first?.message;
  const neither =
    problem.error === 'invalid_request' &&
    typeof message === 'string' &&
    message.startsWith(UNRECOGNIZED);
  return neither ? { error: 'unrecognized_request', details: message } : problem;
}

/**
 * Settles an x402-stacks 1.x payment: the signed transaction against `exact` terms built from the call. `min_amount`
 * is taken as the exact amount (its clients pay exactly that); with `expected_sender`, the payment is verified and
 * its origin compared before anything is broadcast. `signal` tells that the caller hung up, as for `/settle`.
 */
export async function settleLegacy(
  facilitator: Facilitator,
  body: LegacySettleRequest,
  signal?: AbortSignal,
) {
  const { paymentPayload, paymentRequirements } = legacyPayment(body);
  const failed = (transaction: string, reason: string, message?: string) => ({
    success: false,
    status: reason === 'settlement_pending' ? 'pending' : 'failed',
    tx_id: transaction,
    error: reason,
    validation_errors: [message ?? reason],
  });
  if (body.expected_sender) {
    const verdict = await facilitator.verify(paymentPayload, paymentRequirements);
    if (!verdict.isValid) {
      return failed('', verdict.invalidReason ?? 'unexpected_verify_error', verdict.invalidMessage);
    }
    if (verdict.payer !== body.expected_sender) {
      return failed(
        '',
        'invalid_exact_stacks_payload_payer_mismatch',
        'the transaction is not sent by expected_sender',
      );
    }
  }
  const settled = await facilitator.settle(
    paymentPayload,
    paymentRequirements,
    signal ? { signal } : {},
  );
  if (!settled.success) {
    return failed(
      settled.transaction,
      settled.errorReason ?? 'unexpected_settle_error',
      settled.errorMessage,
    );
  }
  const blockHeight = (await facilitator.status(settled.transaction))?.blockHeight;
  return {
    success: true,
    // Our settle answers success only once the transaction is in a block: what this status means to its reader.
    status: 'confirmed',
    tx_id: settled.transaction,
    sender_address: settled.payer ?? '',
    recipient_address: body.expected_recipient,
    amount: paymentRequirements.amount,
    network: settled.network,
    ...(blockHeight === undefined ? {} : { block_height: blockHeight }),
  };
}

/**
 * The txid path of x402-stacks 1.x (the buyer broadcast the transaction itself) is refused: nothing here can claim a
 * transaction it did not settle, so the same txid could pay for any number of requests.
 */
export function verifyLegacy(body: LegacyVerifyRequest) {
  return {
    valid: false,
    tx_id: body.tx_id,
    error: 'invalid_payload',
    validation_errors: [
      'a transaction id alone is not accepted: send the signed, unbroadcast transaction in X-PAYMENT (settled through /api/v1/settle)',
    ],
  };
}

function legacyPayment(body: LegacySettleRequest) {
  const paymentRequirements = {
    scheme: 'exact',
    network: caip2Of(body.network, body.expected_recipient),
    amount: body.min_amount,
    asset: body.token_type ?? 'STX',
    payTo: body.expected_recipient,
    maxTimeoutSeconds: 300,
  };
  return {
    paymentRequirements,
    paymentPayload: {
      x402Version: 2,
      ...(body.resource ? { resource: { url: body.resource } } : {}),
      accepted: paymentRequirements,
      payload: { transaction: body.signed_transaction },
    },
  };
}

/** A network name as CAIP-2; an unknown one passes through for the engine to refuse. */
export function caip2Of(network: string, payTo: string): string {
  try {
    return resolveNetwork(network, { payTo }).caip2;
  } catch {
    return network;
  }
}
