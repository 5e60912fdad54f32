/**
 * Shared setup of the tests against the incumbent x402-stacks@2 (the real npm package, installed under the alias
 * `x402-stacks-v2`): one devnet, the real facilitator service over HTTP on 127.0.0.1, Express servers on 127.0.0.1,
 * and funded buyers.
 *
 * Its client takes no chain URL: it signs with @stacks/transactions 6, which asks the public Hiro API
 * (`https://api.testnet.hiro.so`) for the fee (`POST /v2/fees/transaction`) and the nonce
 * (`GET /extended/v1/address/:a/nonces`) through the global `fetch`. {@link startIncumbentStack} therefore wraps
 * `globalThis.fetch` for the test process: the two Hiro hosts are rewritten to the devnet, which serves both routes,
 * and any other host that is not loopback is refused, so no request can leave the machine. `stop()` restores it.
 */
import { once } from 'node:events';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import { createFacilitatorApp } from '@x402-stacks/facilitator';
import axios, { type AxiosInstance } from 'axios';
import type express from 'express';
import {
  createFacilitator,
  type Facilitator,
  generateKeypair,
  type StacksAccount,
} from 'x402-stacks';

// Express 4 is installed under the npm alias `express4`: the incumbent's peer range is express ^4.18.
export const express4 = createRequire(import.meta.url)('express4') as typeof express;

/**
 * The testnet sBTC the incumbent hard-codes: Hiro's older stand-in, no longer our default (that is the sBTC signers'
 * `SN3VMHX…8F1.sbtc-token`). Every part of this stack is told to use it instead, the way a deployment still on it
 * would be: the devnet (`tokens.sbtcTestnetContract`), the facilitator, our sellers and our buyers (`tokens`).
 */
export const INCUMBENT_SBTC = 'ST1F7QA2MDF17S807EPA36TSS8AMEFY4KA9TVGWXT.sbtc-token';

/** The token override our facilitator, sellers and buyers take here. */
export const INCUMBENT_TOKENS = { contracts: { sBTC: INCUMBENT_SBTC } } as const;

/** sBTC on the devnet, as balances are keyed. */
export const SBTC_ID = `${INCUMBENT_SBTC}::sbtc-token`;

const HIRO_HOSTS = new Set(['api.testnet.hiro.so', 'api.mainnet.hiro.so']);
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

export type IncumbentStack = {
  readonly devnet: Devnet;
  readonly engine: Facilitator;
  readonly facilitatorUrl: string;
  /** Receives every payment. */
  readonly seller: string;
  /** Hiro requests the incumbent's client made, rerouted to the devnet (method and path). */
  readonly hiroCalls: string[];
  /** A fresh buyer with its own nonces and balances. */
  buyer(funds?: { stx?: bigint; sBTC?: bigint }): StacksAccount;
  stx(address: string): bigint;
  sbtc(address: string): bigint;
  nonce(address: string): bigint;
  /** Serves an Express app on 127.0.0.1 until `stop()`; resolves with its base URL. */
  listen(app: ReturnType<typeof express4>): Promise<string>;
  stop(): Promise<void>;
};

/** Starts the devnet (mining on every broadcast), the facilitator service (sponsoring) and the fetch reroute. */
export async function startIncumbentStack(): Promise<IncumbentStack> {
  const devnet = await startDevnet({
    port: 0,
    accounts: 3,
    tokens: { sbtcTestnetContract: INCUMBENT_SBTC },
  });
  const [seller, sponsor] = [devnet.accounts[1]!, devnet.accounts[2]!];
  const engine = createFacilitator({
    networks: { testnet: { url: devnet.url } },
    sponsor: { privateKeys: [sponsor.privateKey] },
    tokens: INCUMBENT_TOKENS,
    settleTimeoutMs: 2_000,
    pollIntervalMs: 10,
  });
  const facilitator = await listening(
    serve({
      fetch: createFacilitatorApp({ facilitator: engine }).fetch,
      port: 0,
      hostname: '127.0.0.1',
    }),
  );
  const servers = [facilitator];

  const hiroCalls: string[] = [];
  const realFetch = globalThis.fetch;
  globalThis.fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (HIRO_HOSTS.has(url.hostname)) {
      hiroCalls.push(`${init?.method ?? 'GET'} ${url.pathname}`);
      return realFetch(`${devnet.url}${url.pathname}${url.search}`, init);
    }
    if (!LOOPBACK.has(url.hostname)) {
      return Promise.reject(new Error(`test network: ${url.host} is not loopback`));
    }
    return realFetch(input, init);
  };

  return {
    devnet,
    engine,
    facilitatorUrl: urlOf(facilitator),
    seller: seller.address,
    hiroCalls,
    buyer(funds = { stx: 10_000_000n, sBTC: 1_000_000n }) {
      const account = generateKeypair('testnet');
      devnet.chain.fund(account.address, funds);
      return account;
    },
    stx: (address) => devnet.chain.state.stx(address),
    sbtc: (address) => devnet.chain.state.token(SBTC_ID, address),
    nonce: (address) => devnet.chain.state.nonce(address),
    async listen(app) {
      const server = await listening(app.listen(0, '127.0.0.1'));
      servers.push(server);
      return urlOf(server);
    },
    async stop() {
      globalThis.fetch = realFetch;
      for (const server of servers) {
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      await engine.idle();
      await devnet.stop();
    },
  };
}

type Listening = {
  address(): AddressInfo | string | null;
  close(callback: () => void): unknown;
  closeAllConnections?(): void;
  listening?: boolean;
};

async function listening<T extends Listening>(server: T): Promise<T> {
  if (!server.listening) await once(server as never, 'listening');
  return server;
}

function urlOf(server: Listening): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** An axios instance on `baseURL` whose sent payment headers are recorded, so a test can replay them. */
export function recordingAxios(baseURL: string): {
  api: AxiosInstance;
  sent: Record<string, string>[];
} {
  const api = axios.create({ baseURL });
  const sent: Record<string, string>[] = [];
  api.interceptors.request.use((config) => {
    const headers = config.headers.toJSON() as Record<string, string>;
    const payment = Object.entries(headers).filter(([name]) =>
      ['payment-signature', 'x-payment', 'x-payment-token-type'].includes(name.toLowerCase()),
    );
    if (payment.length > 0) sent.push(Object.fromEntries(payment));
    return config;
  });
  return { api, sent };
}

/** Sends recorded payment headers again, as a replaying client would. */
export async function replay(url: string, headers: Record<string, string>) {
  const response = await fetch(url, { headers });
  return { status: response.status, text: await response.text() };
}
