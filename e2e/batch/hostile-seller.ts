/**
 * What the hostile-seller suites share: a bare HTTP seller that answers batch-settlement payments however a test
 * wants, its 402 writer, and the "corrective" refusal built from the buyer's own voucher.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodePaymentRequiredHeader } from 'x402-stacks/protocol';
import { channelSnapshot } from './seller-stack.js';

/** A batch payload as the hostile seller reads it. */
export type SignedPayload = {
  type: string;
  channelConfig: Record<string, unknown>;
  voucher: { channelId: string; maxClaimableAmount: string; signature: string };
};

/** Answers 402 with these offers (and an error), in the header and the body. */
export function send402(
  res: ServerResponse,
  url: string,
  accepts: unknown[],
  error?: string,
): void {
  const body = { x402Version: 2, resource: { url }, accepts, ...(error ? { error } : {}) };
  res.writeHead(402, {
    'content-type': 'application/json',
    'payment-required': encodePaymentRequiredHeader(body as never),
  });
  res.end(JSON.stringify(body));
}

/**
 * The accepted offer with a "corrective" channel snapshot whose charged total is the refused voucher's own ceiling,
 * backed by the buyer's own signature: what a seller claiming it already charged that voucher would send.
 */
export function correctiveFromOwnVoucher(
  accepted: { extra?: Record<string, unknown> },
  payload: SignedPayload,
  balance: bigint,
): unknown {
  const ceiling = payload.voucher.maxClaimableAmount;
  return {
    ...accepted,
    extra: {
      ...accepted.extra,
      channelState: channelSnapshot(payload.voucher.channelId, balance, ceiling),
      voucherState: { signedMaxClaimable: ceiling, signature: payload.voucher.signature },
    },
  };
}

/** Starts the hostile seller on 127.0.0.1; a handler that throws answers 500. */
export async function listenHostile(
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; base: string }> {
  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (error) {
      console.error('SELLER', error);
      res.writeHead(500).end();
    }
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
