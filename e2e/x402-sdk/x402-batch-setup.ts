/**
 * Shared setup of the stock-SDK batch-settlement tests, all on 127.0.0.1: a devnet (mining on every broadcast, the
 * batch-escrow preloaded), our facilitator service serving a stock `x402Facilitator` that has both Stacks schemes
 * registered over one engine with the batch-settlement mechanism, and a stock `@x402/express` seller with both our
 * server schemes registered: `/batch` (1,000 µSTX a request) and `/dynamic` (priced 1,000 µSTX, charged 400 through
 * `setSettlementOverrides`).
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { x402Facilitator } from '@x402/core/facilitator';
import { HTTPFacilitatorClient, type RoutesConfig, x402ResourceServer } from '@x402/core/server';
import { paymentMiddleware, setSettlementOverrides } from '@x402/express';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import { createFacilitatorApp } from '@x402-stacks/facilitator';
import express from 'express';
import { createFacilitator, type Facilitator, type StacksAccount } from 'x402-stacks';
import { type BatchSettlementMechanism, batchSettlementFacilitator } from 'x402-stacks/batch';
import {
  facilitatorFromX402,
  registerBatchSettlementStacksScheme,
  registerExactStacksScheme,
} from 'x402-stacks/x402';

export const TESTNET = 'stacks:2147483648' as const;
export const ESCROW = 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow';
export const PRICE = 1000n;
export const DYNAMIC_CHARGE = 400n;
/** The seller's suggested deposit: 20 requests. */
export const MIN_DEPOSIT = 20n * PRICE;
export const WITHDRAW_DELAY = 6;

export type BatchStack = {
  readonly devnet: Devnet;
  readonly engine: Facilitator;
  readonly mechanism: BatchSettlementMechanism;
  readonly core: x402Facilitator;
  readonly facilitatorUrl: string;
  readonly sellerUrl: string;
  readonly payTo: string;
  readonly sponsor: string;
  readonly authorizer: string;
  /** A funded devnet account, its own nonces. */
  readonly buyers: readonly StacksAccount[];
  /** The account's STX balance as the devnet API reports it. */
  balance(address: string): Promise<bigint>;
  stop(): Promise<void>;
};

/**
 * Starts the devnet, the facilitator service and the stock seller. Stock middleware exits the process on a route
 * configuration error, so `process.exit` throws instead while the stack runs.
 */
export async function startBatchStack(): Promise<BatchStack> {
  const exit = process.exit;
  process.exit = ((code?: number) => {
    throw new Error(`process.exit(${String(code)}) called by a stock middleware`);
  }) as typeof process.exit;
  const devnet = await startDevnet({ port: 0, accounts: 8 });
  const seller = devnet.accounts[1]!.address;
  const authorizerKey = devnet.accounts[2]!.account.privateKey;
  const sponsorKey = devnet.accounts[3]!.account.privateKey;
  const mechanism = batchSettlementFacilitator({
    escrows: { testnet: ESCROW },
    authorizerKey,
    // Claims only when the test asks: the money check reads balances after one claim.
    claims: { maxAgeMs: 60 * 60_000 },
  });
  const engine = createFacilitator({
    networks: { testnet: { url: devnet.url } },
    sponsor: { privateKeys: sponsorKey },
    settleTimeoutMs: 5_000,
    pollIntervalMs: 10,
    trackForMs: 5_000,
    schemes: [mechanism],
  });
  const core = registerBatchSettlementStacksScheme(
    registerExactStacksScheme(new x402Facilitator(), { facilitator: engine }),
    { facilitator: engine },
  );
  const facilitatorServer = serve({
    fetch: createFacilitatorApp({ facilitator: facilitatorFromX402(core, engine) }).fetch,
    port: 0,
    hostname: '127.0.0.1',
  });
  await once(facilitatorServer, 'listening');
  const facilitatorUrl = `http://127.0.0.1:${(facilitatorServer.address() as AddressInfo).port}`;
  const kind = engine.supported().kinds.find((k) => k.scheme === 'batch-settlement')!;

  const resourceServer = registerBatchSettlementStacksScheme(
    registerExactStacksScheme(
      new x402ResourceServer(new HTTPFacilitatorClient({ url: facilitatorUrl })),
    ),
    { minDeposit: MIN_DEPOSIT },
  );
  await resourceServer.initialize();
  const app = express();
  app.use(paymentMiddleware(batchRoutes(seller), resourceServer, undefined, undefined, false));
  app.get('/batch', (_req, res) => res.json({ data: 'premium' }));
  app.get('/dynamic', (_req, res) => {
    // The stock seller charges less than the price it offered: the facilitator charges the voucher this much.
    setSettlementOverrides(res, { amount: DYNAMIC_CHARGE.toString() });
    res.json({ data: 'partial' });
  });
  const sellerServer = app.listen(0, '127.0.0.1');
  await once(sellerServer, 'listening');

  return {
    devnet,
    engine,
    mechanism,
    core,
    facilitatorUrl,
    sellerUrl: `http://127.0.0.1:${(sellerServer.address() as AddressInfo).port}`,
    payTo: seller,
    sponsor: String(kind.extra?.sponsor),
    authorizer: String(kind.extra?.receiverAuthorizer),
    buyers: devnet.accounts.slice(4).map((entry) => entry.account),
    async balance(address) {
      const response = await fetch(`${devnet.url}/v2/accounts/${address}?proof=0`);
      return BigInt(((await response.json()) as { balance: string }).balance);
    },
    async stop() {
      sellerServer.closeAllConnections();
      await new Promise<void>((resolve) => sellerServer.close(() => resolve()));
      await new Promise<void>((resolve) => facilitatorServer.close(() => resolve()));
      await engine.idle();
      await devnet.stop();
      process.exit = exit;
    },
  };
}

/** `/batch` and `/dynamic`: batch-settlement only, 1,000 µSTX, a withdraw delay of 6 burn blocks. */
function batchRoutes(payTo: string): RoutesConfig {
  const accepts = {
    scheme: 'batch-settlement',
    network: TESTNET,
    payTo,
    price: { asset: 'STX', amount: PRICE.toString() } as never,
    maxTimeoutSeconds: 300,
    extra: { withdrawDelay: WITHDRAW_DELAY },
  };
  return {
    'GET /batch': { accepts, description: 'batch-settlement' },
    'GET /dynamic': { accepts, description: 'a charge below the price' },
  };
}
