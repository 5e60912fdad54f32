/**
 * The v1 facilitator routes, `POST /api/v1/verify` and `/api/v1/settle`, for two protocols that share the paths:
 * - x402 v1 (`x402Version: 1`, `maxAmountRequired`, network names such as `stacks` or `testnet`), answered in the v1
 *   shapes `{isValid, invalidReason?, payer?}` and `{success, txId, amount, sender, network, error?}`;
 * - x402-stacks 1.x, as x402-stacks 2.0's `paymentMiddlewareV1` calls it (snake_case; see `x402-stacks-1x.ts`).
 * The body's shape picks the protocol; a body of neither is 400 `unrecognized_request`. Underneath they are the same
 * engine calls as v2.
 * @module
 */
import type { Hono } from 'hono';
import type { Facilitator } from 'x402-stacks/facilitator';
import {
  type PaymentRequirementsV1,
  SettleRequestV1Schema,
  VerifyRequestV1Schema,
} from 'x402-stacks/v1';
import { readBody, statusOf } from './body.js';
import { hangUpSignal } from './http/hang-up.js';
import { logSettle, type RequestLogVariables } from './http/request-log.js';
import {
  caip2Of,
  settleLegacy,
  v1BodyProblem,
  v1BodySchema,
  verifyLegacy,
} from './x402-stacks-1x.js';

/** Adds the v1 routes to an app. */
export function addV1Routes(
  app: Hono<{ Variables: RequestLogVariables }>,
  facilitator: Facilitator,
  maxBodyBytes?: number,
): void {
  app.post('/api/v1/verify', async (c) => {
    const read = await readBody(c, v1BodySchema('verify', VerifyRequestV1Schema), maxBodyBytes);
    if ('error' in read) return c.json(v1BodyProblem(read), statusOf(read));
    const body = read.data;
    if (body.kind === 'x402-stacks') return c.json(verifyLegacy(body.data));
    const { paymentPayload, paymentRequirements } = toV2(body.data);
    const verdict = await facilitator.verify(paymentPayload, paymentRequirements);
    return c.json({
      isValid: verdict.isValid,
      ...(verdict.invalidReason ? { invalidReason: verdict.invalidReason } : {}),
      ...(verdict.payer ? { payer: verdict.payer } : {}),
    });
  });

  app.post('/api/v1/settle', async (c) => {
    const read = await readBody(c, v1BodySchema('settle', SettleRequestV1Schema), maxBodyBytes);
    if ('error' in read) return c.json(v1BodyProblem(read), statusOf(read));
    const body = read.data;
    if (body.kind === 'x402-stacks') {
      const answer = await settleLegacy(facilitator, body.data, hangUpSignal(c));
      logSettle(c.get('log'), {
        success: answer.success,
        transaction: answer.tx_id,
        ...('sender_address' in answer ? { payer: answer.sender_address } : {}),
        ...('error' in answer ? { errorReason: answer.error } : {}),
      });
      return c.json(answer);
    }
    const { paymentPayload, paymentRequirements } = toV2(body.data);
    const settled = await facilitator.settle(paymentPayload, paymentRequirements, {
      signal: hangUpSignal(c),
    });
    logSettle(c.get('log'), settled);
    return c.json({
      success: settled.success,
      txId: settled.transaction,
      // v1 peers read the amount as a number; atomic amounts of real payments are far below 2^53.
      amount: settled.success ? body.data.paymentRequirements.maxAmountRequired : '0',
      sender: settled.payer ?? '',
      network: settled.network,
      ...(settled.errorReason
        ? { error: settled.errorReason, errorReason: settled.errorReason }
        : {}),
    });
  });
}

function toV2(request: {
  paymentPayload: { payload: Record<string, unknown> };
  paymentRequirements: PaymentRequirementsV1;
}) {
  const v1 = request.paymentRequirements;
  const paymentRequirements = {
    scheme: v1.scheme,
    network: caip2Of(v1.network, v1.payTo),
    amount: v1.maxAmountRequired,
    asset: v1.asset,
    payTo: v1.payTo,
    maxTimeoutSeconds: v1.maxTimeoutSeconds,
    ...(v1.extra ? { extra: v1.extra } : {}),
  };
  return {
    paymentRequirements,
    paymentPayload: {
      x402Version: 2,
      resource: { url: v1.resource, description: v1.description, mimeType: v1.mimeType },
      accepted: paymentRequirements,
      payload: request.paymentPayload.payload,
    },
  };
}
