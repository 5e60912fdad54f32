/**
 * The buyer tests' stack, all on 127.0.0.1: a devnet, the real facilitator service app over HTTP (sponsoring with
 * one devnet key), and a small seller built on the library's header codecs that settles through that facilitator.
 * The seller speaks v2 or, per route, v1; it counts every request and every paid attempt so tests can prove that
 * nothing was paid.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { type Devnet, type MiningMode, startDevnet } from '@x402-stacks/devnet';
import { createFacilitatorApp } from '@x402-stacks/facilitator';
import express from 'express';
import {
  createFacilitator,
  type Facilitator,
  generateKeypair,
  type PaymentRequirements,
  type StacksAccount,
  x402PaymentRequired,
} from 'x402-stacks';
import { getPayment, paymentMiddleware } from 'x402-stacks/express';
import {
  decodePaymentSignatureHeader,
  decodeXPaymentHeader,
  encodePaymentRequiredHeader,
  encodePaymentResponseHeader,
  encodeXPaymentResponseHeader,
} from 'x402-stacks/protocol';
import { KNOWN_TOKENS } from 'x402-stacks/stacks';

export const TESTNET = 'stacks:2147483648';
export const SBTC_ASSET_ID = `${KNOWN_TOKENS.sBTC.contracts.testnet}::${KNOWN_TOKENS.sBTC.assetName}`;

/** How a route asks to be paid, and how it misbehaves. */
export type Route = {
  accepts: PaymentRequirements[];
  /** 1: a v1 server (402 body, X-PAYMENT, X-PAYMENT-RESPONSE). Default 2. */
  version?: 1 | 2;
  /** `drop`: close the connection on a paid request without answering. */
  fault?: 'drop';
  /** Sent as the `payment-required` header instead of the encoded challenge: a broken or hostile server. */
  challengeHeader?: string;
  /** Sent as a v1 route's 402 body instead of the challenge. */
  challengeBody?: string;
};

export type Stack = {
  devnet: Devnet;
  facilitator: Facilitator;
  facilitatorUrl: string;
  sellerUrl: string;
  /**
   * An Express 5 app with the library's own `paymentMiddleware` over the same facilitator: `/stx` (1000 µSTX),
   * `/sbtc` (250 sats), `/sponsored` (700 µSTX, fee sponsored), `/after` (1000 µSTX, settled after the handler) and
   * `/v1-alias` (1000 µSTX, configured through `x402PaymentRequired`). Each answers `{ data, transaction }`.
   */
  middlewareUrl: string;
  /** The address that receives the payments. */
  payTo: string;
  /** The facilitator's sponsor address, for `extra.sponsor`. */
  sponsor: string;
  /** Adds or replaces a route of the seller. */
  route(path: string, route: Route): void;
  /** Requests the seller received, per path: all of them, and those carrying a payment header. */
  hits(path: string): { requests: number; paid: number };
  /** A fresh funded buyer (its own nonces and balances, so tests never disturb each other). */
  buyer(funds?: { stx?: bigint; sBTC?: bigint }): StacksAccount;
  stx(address: string): bigint;
  sbtc(address: string): bigint;
  stop(): Promise<void>;
};

export function requirement(overrides: Partial<PaymentRequirements> & { payTo: string }) {
  return {
    scheme: 'exact',
    network: TESTNET,
    amount: '1000',
    asset: 'STX',
    maxTimeoutSeconds: 60,
    ...overrides,
  } as PaymentRequirements;
}

/**
 * The facilitator service app on 127.0.0.1 over the devnet at `devnetUrl`, sponsoring with one key, as the client
 * and MCP suites run it.
 */
export async function startFacilitatorService(devnetUrl: string, sponsorKey: string) {
  const facilitator = createFacilitator({
    networks: { testnet: { url: devnetUrl } },
    settleTimeoutMs: 1_500,
    pollIntervalMs: 10,
    sponsor: { privateKeys: [sponsorKey] },
  });
  const facilitatorServer = serve({
    fetch: createFacilitatorApp({ facilitator }).fetch,
    port: 0,
    hostname: '127.0.0.1',
  });
  await once(facilitatorServer, 'listening');
  const facilitatorUrl = `http://127.0.0.1:${(facilitatorServer.address() as AddressInfo).port}`;
  return { facilitator, facilitatorServer, facilitatorUrl };
}

/** `mining`: the devnet's block mode (default a block on every broadcast); the buyer bench mines on an interval. */
export async function startStack(options: { mining?: MiningMode } = {}): Promise<Stack> {
  const devnet = await startDevnet({
    port: 0,
    accounts: 3,
    ...(options.mining ? { mining: options.mining } : {}),
  });
  const [seller, sponsorAccount] = [devnet.accounts[1]!, devnet.accounts[2]!];
  const { facilitator, facilitatorServer, facilitatorUrl } = await startFacilitatorService(
    devnet.url,
    sponsorAccount.privateKey,
  );

  const routes = new Map<string, Route>();
  const hits = new Map<string, { requests: number; paid: number }>();
  const sellerServer = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      response.writeHead(500, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: String(error) }));
    });
  });
  sellerServer.listen(0, '127.0.0.1');
  await once(sellerServer, 'listening');
  const sellerUrl = `http://127.0.0.1:${(sellerServer.address() as AddressInfo).port}`;

  const app = express();
  const common = { payTo: seller.address, network: 'testnet', facilitatorUrl, sponsored: false };
  const serveResource = (req: express.Request, res: express.Response) =>
    res.json({ data: 'premium', transaction: getPayment(req)?.transaction });
  app.get('/stx', paymentMiddleware({ ...common, amount: '1000' }), serveResource);
  app.get(
    '/sbtc',
    paymentMiddleware({ ...common, amount: { amount: '250', asset: 'sBTC' } }),
    serveResource,
  );
  app.get(
    '/sponsored',
    paymentMiddleware({ ...common, amount: '700', sponsored: true }),
    serveResource,
  );
  app.get(
    '/after',
    paymentMiddleware({ ...common, amount: '1000', settle: 'after-handler' }),
    serveResource,
  );
  const { payTo: address, ...v1Common } = common;
  app.get(
    '/v1-alias',
    x402PaymentRequired({ ...v1Common, address, amount: '1000' }),
    serveResource,
  );
  const middlewareServer = app.listen(0, '127.0.0.1');
  await once(middlewareServer, 'listening');
  const middlewareUrl = `http://127.0.0.1:${(middlewareServer.address() as AddressInfo).port}`;

  async function handle(request: IncomingMessage, response: ServerResponse) {
    const path = new URL(request.url ?? '/', sellerUrl).pathname;
    const route = routes.get(path);
    if (!route) {
      response.writeHead(404).end();
      return;
    }
    const count = hits.get(path) ?? { requests: 0, paid: 0 };
    hits.set(path, count);
    count.requests++;
    const v1 = route.version === 1;
    const header = request.headers[v1 ? 'x-payment' : 'payment-signature'];
    if (typeof header === 'string') count.paid++;
    if (typeof header === 'string' && route.fault === 'drop') {
      request.socket.destroy();
      return;
    }
    if (v1) return handleV1(route, header, response, `${sellerUrl}${path}`);
    const paymentRequired = {
      x402Version: 2 as const,
      resource: { url: `${sellerUrl}${path}`, description: 'a test resource' },
      accepts: route.accepts,
    };
    const challenge = (status: number, body: unknown, extra: Record<string, string> = {}) => {
      response.writeHead(status, {
        'content-type': 'application/json',
        'payment-required': route.challengeHeader ?? encodePaymentRequiredHeader(paymentRequired),
        ...extra,
      });
      response.end(JSON.stringify(body));
    };
    if (typeof header !== 'string') return challenge(402, paymentRequired);
    let payment: ReturnType<typeof decodePaymentSignatureHeader>;
    try {
      payment = decodePaymentSignatureHeader(header);
    } catch {
      response.writeHead(400, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: 'invalid_payload' }));
      return;
    }
    const accepted = route.accepts.find((offer) =>
      (['scheme', 'network', 'amount', 'asset', 'payTo'] as const).every(
        (field) => offer[field] === payment.accepted[field],
      ),
    );
    if (!accepted) return challenge(402, { error: 'invalid_payment_requirements' });
    const settled = await post(`${facilitatorUrl}/settle`, {
      x402Version: 2,
      paymentPayload: payment,
      paymentRequirements: accepted,
    });
    const receipt = { 'payment-response': encodePaymentResponseHeader(settled as never) };
    if (!(settled as { success: boolean }).success) {
      return challenge(402, { error: (settled as { errorReason?: string }).errorReason }, receipt);
    }
    response.writeHead(200, { 'content-type': 'application/json', ...receipt });
    response.end(JSON.stringify({ data: 'premium', path }));
  }

  async function handleV1(
    route: Route,
    header: string | string[] | undefined,
    response: ServerResponse,
    resource: string,
  ) {
    const accepts = route.accepts.map((offer) => ({
      scheme: offer.scheme,
      network: 'testnet',
      maxAmountRequired: offer.amount,
      resource,
      description: 'a v1 test resource',
      mimeType: 'application/json',
      payTo: offer.payTo,
      maxTimeoutSeconds: offer.maxTimeoutSeconds,
      asset: offer.asset,
    }));
    const refuse = (error: string) => {
      response.writeHead(402, { 'content-type': 'application/json' });
      response.end(route.challengeBody ?? JSON.stringify({ x402Version: 1, error, accepts }));
    };
    if (typeof header !== 'string') return refuse('X-PAYMENT header is required');
    const paymentPayload = decodeXPaymentHeader(header);
    const settled = (await post(`${facilitatorUrl}/api/v1/settle`, {
      x402Version: 1,
      paymentPayload,
      paymentRequirements: accepts[0],
    })) as { success: boolean; txId: string; amount: string; sender: string; error?: string };
    if (!settled.success) return refuse(settled.error ?? 'unexpected_settle_error');
    response.writeHead(200, {
      'content-type': 'application/json',
      'x-payment-response': encodeXPaymentResponseHeader({
        txId: settled.txId,
        amount: settled.amount,
        sender: settled.sender,
        success: true,
        network: 'testnet',
      }),
    });
    response.end(JSON.stringify({ data: 'premium v1' }));
  }

  return {
    devnet,
    facilitator,
    facilitatorUrl,
    sellerUrl,
    middlewareUrl,
    payTo: seller.address,
    sponsor: sponsorAccount.address,
    route: (path, route) => routes.set(path, route),
    hits: (path) => ({ requests: 0, paid: 0, ...hits.get(path) }),
    buyer(funds = { stx: 10_000_000n, sBTC: 1_000_000n }) {
      const account = generateKeypair('testnet');
      devnet.chain.fund(account.address, funds);
      return account;
    },
    stx: (address) => devnet.chain.state.stx(address),
    sbtc: (address) => devnet.chain.state.token(SBTC_ASSET_ID, address),
    async stop() {
      const middlewareClosed = new Promise<void>((resolve) =>
        middlewareServer.close(() => resolve()),
      );
      middlewareServer.closeAllConnections();
      await middlewareClosed;
      const closed = new Promise<void>((resolve) => sellerServer.close(() => resolve()));
      sellerServer.closeAllConnections();
      await closed;
      await new Promise<void>((resolve) => facilitatorServer.close(() => resolve()));
      await facilitator.idle();
      await devnet.stop();
    },
  };
}

async function post(url: string, body: unknown): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return response.json();
}

/** A server that is never there: a port that was just closed. */
export async function closedPortUrl(): Promise<string> {
  const server: Server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** A small server of a test's own on 127.0.0.1, for hostile or redirecting sellers; it records each request. */
export type TestServer = {
  url: string;
  /** The headers of every request received, in order. */
  requests: IncomingMessage['headers'][];
  close(): Promise<void>;
};

export async function startTestServer(
  handle: (request: IncomingMessage, response: ServerResponse) => void | Promise<void>,
): Promise<TestServer> {
  const requests: IncomingMessage['headers'][] = [];
  const server = createServer((request, response) => {
    requests.push(request.headers);
    Promise.resolve(handle(request, response)).catch((error: unknown) => {
      response.writeHead(500).end(String(error));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
