/**
 * The v1 facilitator routes: `POST /api/v1/verify` and `/api/v1/settle` take v1 payloads (`maxAmountRequired`, network
 * names such as `stacks` or `testnet`) and answer in the v1 shapes, `{isValid, invalidReason?, payer?}` and
 * `{success, txId, amount, sender, network, error?}`. Underneath they are the same engine calls as v2.
 * @module
 */
import type { Hono } from 'hono';
import { resolveNetwork } from 'x402-stacks';
import type { Facilitator } from 'x402-stacks/facilitator';
import {
  type PaymentRequirementsV1,
  SettleRequestV1Schema,
  VerifyRequestV1Schema,
} from 'x402-stacks/v1';
import { readBody, statusOf } from './body.js';
import { logSettle, type RequestLogVariables } from './http/request-log.js';

/** Adds the v1 routes to an app. */
export function addV1Routes(
  app: Hono<{ Variables: RequestLogVariables }>,
  facilitator: Facilitator,
  maxBodyBytes?: number,
): void {
  app.post('/api/v1/verify', async (c) => {
    const body = await readBody(c, VerifyRequestV1Schema, maxBodyBytes);
    if ('error' in body) return c.json(body, statusOf(body));
    const { paymentPayload, paymentRequirements } = toV2(body.data);
    const verdict = await facilitator.verify(paymentPayload, paymentRequirements);
    return c.json({
      isValid: verdict.isValid,
      ...(verdict.invalidReason ? { invalidReason: verdict.invalidReason } : {}),
      ...(verdict.payer ? { payer: verdict.payer } : {}),
    });
  });

  app.post('/api/v1/settle', async (c) => {
    const body = await readBody(c, SettleRequestV1Schema, maxBodyBytes);
    if ('error' in body) return c.json(body, statusOf(body));
    const { paymentPayload, paymentRequirements } = toV2(body.data);
    const settled = await facilitator.settle(paymentPayload, paymentRequirements);
    logSettle(c.var.log, settled);
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

/** v1 names (`stacks`, `testnet`, `mainnet`) as CAIP-2; an unknown name passes through for the engine to refuse. */
function caip2Of(network: string, payTo: string): string {
  try {
    return resolveNetwork(network, { payTo }).caip2;
  } catch {
    return network;
  }
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
