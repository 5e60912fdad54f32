/**
 * Test doubles for the seller's resource server, shared by the library's server tests: a seller address, a resource URL,
 * a paywall request, a payment header, a plain STX offer, a scripted in-process facilitator, and a fake facilitator
 * service on 127.0.0.1.
 * @module
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PaymentRequirements } from 'x402-stacks';
import { encodePaymentSignatureHeader } from 'x402-stacks/protocol';
import type { FacilitatorClient, PaywallRequest } from 'x402-stacks/server';

/** The seller's payTo. */
export const SELLER = 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5';

/** The resource every paywall request asks for. */
export const URL_ = 'http://seller.test/api/data';

/** A paywall request for `url` carrying `headers`. */
export function request(headers: Record<string, string> = {}, url = URL_): PaywallRequest<null> {
  return { url, header: (name) => headers[name], request: null };
}

/** The headers of a paid request for `requirements` (the transaction is a placeholder the doubles never check). */
export function paid(requirements: PaymentRequirements): Record<string, string> {
  return {
    'payment-signature': encodePaymentSignatureHeader({
      x402Version: 2,
      accepted: requirements,
      payload: { transaction: '00' },
    }),
  };
}

/** One STX offer of 1000 µSTX on testnet. */
export const entry: PaymentRequirements = {
  scheme: 'exact',
  network: 'stacks:2147483648',
  amount: '1000',
  asset: 'STX',
  payTo: SELLER,
  maxTimeoutSeconds: 300,
};

/** An in-process facilitator whose answers a test scripts. */
export function scripted(overrides: Partial<FacilitatorClient>): FacilitatorClient {
  return {
    verify: async () => ({ isValid: true, payer: SELLER }),
    settle: async () => ({
      success: true,
      transaction: 'ab'.repeat(32),
      network: 'stacks:2147483648',
    }),
    status: async () => undefined,
    supported: () => ({ kinds: [], extensions: [], signers: {} }),
    ...overrides,
  };
}

/** A facilitator over HTTP that answers every request with `answer` (after `delayMs`). */
export async function fakeFacilitatorService(
  answer: (path: string) => { status: number; body: string },
  delayMs = 0,
): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    setTimeout(() => {
      const { status, body } = answer(req.url ?? '');
      res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    }, delayMs);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}
