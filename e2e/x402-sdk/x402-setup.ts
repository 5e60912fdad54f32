/**
 * Shared setup of the `@x402/core` interoperability tests, all on 127.0.0.1: a devnet (mining on every broadcast),
 * our facilitator service serving a stock `x402Facilitator` that has our scheme registered (through
 * `facilitatorFromX402`), stock `@x402/express` / `@x402/hono` sellers with only our scheme, and fresh funded buyers.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { x402Facilitator } from '@x402/core/facilitator';
import type { FacilitatorClient, RoutesConfig } from '@x402/core/server';
import { HTTPFacilitatorClient, x402ResourceServer } from '@x402/core/server';
import { paymentMiddleware as expressPaymentMiddleware } from '@x402/express';
import { paymentMiddleware as honoPaymentMiddleware } from '@x402/hono';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import { createFacilitatorApp } from '@x402-stacks/facilitator';
import express from 'express';
import { Hono } from 'hono';
import {
  createFacilitator,
  type Facilitator,
  generateKeypair,
  type StacksAccount,
} from 'x402-stacks';
import { paymentMiddleware } from 'x402-stacks/express';
import { KNOWN_TOKENS } from 'x402-stacks/stacks';
import {
  facilitatorFromX402,
  registerExactStacksScheme,
  type ServerRoleOptions,
} from 'x402-stacks/x402';

export const TESTNET = 'stacks:2147483648' as const;
export const SBTC_CONTRACT = KNOWN_TOKENS.sBTC.contracts.testnet;
export const SBTC_ASSET_ID = `${SBTC_CONTRACT}::${KNOWN_TOKENS.sBTC.assetName}`;

export type Stack = {
  readonly devnet: Devnet;
  /** Our engine, under the `x402Facilitator`. */
  readonly engine: Facilitator;
  /** The stock `x402Facilitator` the service serves. */
  readonly core: x402Facilitator;
  readonly facilitatorUrl: string;
  /** Receives every payment. */
  readonly payTo: string;
  readonly sponsor: string;
  /** A fresh funded buyer: its own nonces and balances. */
  buyer(funds?: { stx?: bigint; sBTC?: bigint }): StacksAccount;
  stx(address: string): bigint;
  sbtc(address: string): bigint;
  stop(): Promise<void>;
};

/**
 * Starts the devnet and the facilitator service. Stock middleware exits the process on a route configuration error
 * (`missing_facilitator` and the like), so `process.exit` throws instead while the stack runs: a broken setup fails
 * its test, never the whole runner.
 */
export async function startStack(): Promise<Stack> {
  const exit = process.exit;
  process.exit = ((code?: number) => {
    throw new Error(`process.exit(${String(code)}) called by a stock middleware`);
  }) as typeof process.exit;
  const devnet = await startDevnet({ port: 0, accounts: 3 });
  const [seller, sponsorAccount] = [devnet.accounts[1]!, devnet.accounts[2]!];
  const engine = createFacilitator({
    networks: { testnet: { url: devnet.url } },
    sponsor: { privateKeys: sponsorAccount.privateKey },
    settleTimeoutMs: 2_000,
    pollIntervalMs: 10,
    trackForMs: 5_000,
  });
  const core = registerExactStacksScheme(new x402Facilitator(), { facilitator: engine });
  const server = serve({
    fetch: createFacilitatorApp({ facilitator: facilitatorFromX402(core, engine) }).fetch,
    port: 0,
    hostname: '127.0.0.1',
  });
  await once(server, 'listening');
  return {
    devnet,
    engine,
    core,
    facilitatorUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    payTo: seller.address,
    sponsor: sponsorAccount.address,
    buyer(funds = { stx: 10_000_000n, sBTC: 1_000_000n }) {
      const account = generateKeypair('testnet');
      devnet.chain.fund(account.address, funds);
      return account;
    },
    stx: (address) => devnet.chain.state.stx(address),
    sbtc: (address) => devnet.chain.state.token(SBTC_ASSET_ID, address),
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await engine.idle();
      await devnet.stop();
      process.exit = exit;
    },
  };
}

/**
 * The routes every stock seller serves: `/stx` (1000 µSTX, buyer pays the fee), `/sbtc` (250 sats, settled upfront),
 * `/sponsored` (700 µSTX, fee sponsored) and `/usd` (`$0.01` in STX at $0.50, so 20,000 µSTX). Each answers
 * `{ data: 'premium' }`.
 */
export function stockRoutes(payTo: string): RoutesConfig {
  const accepts = (price: unknown, extra: Record<string, unknown> = {}) => ({
    scheme: 'exact',
    network: TESTNET,
    payTo,
    price: price as never,
    maxTimeoutSeconds: 60,
    extra,
  });
  return {
    'GET /stx': {
      accepts: accepts({ asset: 'STX', amount: '1000' }, { sponsor: false }),
      description: 'STX',
    },
    'GET /sbtc': {
      accepts: accepts(
        { asset: 'sBTC', amount: '250' },
        { sponsor: false, paymentFlow: 'upfront' },
      ),
      description: 'sBTC',
    },
    'GET /sponsored': {
      accepts: accepts({ asset: 'STX', amount: '700' }),
      description: 'sponsored STX',
    },
    'GET /usd': { accepts: accepts('$0.01', { sponsor: false }), description: 'a dollar price' },
  };
}

/** The money options of {@link stockRoutes}' `/usd`: dollars charged in STX at a fixed $0.50. */
export const STOCK_MONEY: ServerRoleOptions['money'] = { asset: 'STX', rate: () => '0.5' };

/**
 * A stock `@x402/express` (Express 5) or `@x402/hono` seller with only our scheme registered, over the facilitator
 * service (or `facilitator`, a client of it). The resource server is initialized here, before the middleware, so the middleware's own start-up sync
 * (the one that may exit the process) is off.
 */
export async function startStockSeller(
  stack: Stack,
  framework: 'express' | 'hono' = 'express',
  facilitator: FacilitatorClient = new HTTPFacilitatorClient({ url: stack.facilitatorUrl }),
): Promise<{ url: string; stop(): Promise<void> }> {
  const resourceServer = registerExactStacksScheme(new x402ResourceServer(facilitator), {
    money: STOCK_MONEY,
  });
  await resourceServer.initialize();
  const routes = stockRoutes(stack.payTo);
  const paths = ['/stx', '/sbtc', '/sponsored', '/usd'];
  if (framework === 'hono') {
    const app = new Hono();
    app.use(honoPaymentMiddleware(routes, resourceServer, undefined, undefined, false));
    for (const path of paths) app.get(path, (c) => c.json({ data: 'premium', path }));
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    await once(server, 'listening');
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }
  const app = express();
  app.use(expressPaymentMiddleware(routes, resourceServer, undefined, undefined, false));
  for (const path of paths) app.get(path, (_req, res) => res.json({ data: 'premium', path }));
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      return closed;
    },
  };
}

/** One exchange a {@link recordingFetch} saw. */
export type Exchange = {
  readonly request: Headers;
  readonly status: number;
  readonly response: Headers;
};

/** A fetch that records the headers of every exchange, to read the wire bytes a client sent and got. */
export function recordingFetch(): { fetch: typeof fetch; exchanges: Exchange[] } {
  const exchanges: Exchange[] = [];
  return {
    exchanges,
    fetch: async (input, init) => {
      const request = new Request(input, init);
      const headers = new Headers(request.headers);
      const response = await fetch(request);
      exchanges.push({
        request: headers,
        status: response.status,
        response: new Headers(response.headers),
      });
      return response;
    },
  };
}

/**
 * Our own `paymentMiddleware` on Express, pricing `/stx` (1,000 µSTX, unsponsored) and `/sponsored` (700 µSTX), through
 * the stack's facilitator: the seller the stock clients pay.
 */
export async function startOurSeller(
  stack: Stack,
): Promise<{ url: string; close(): Promise<void> }> {
  const app = express();
  const common = { payTo: stack.payTo, network: 'testnet', facilitatorUrl: stack.facilitatorUrl };
  app.get('/stx', paymentMiddleware({ ...common, amount: '1000', sponsored: false }), (_q, s) =>
    s.json({ ok: 1 }),
  );
  app.get('/sponsored', paymentMiddleware({ ...common, amount: '700', sponsored: true }), (_q, s) =>
    s.json({ ok: 1 }),
  );
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
