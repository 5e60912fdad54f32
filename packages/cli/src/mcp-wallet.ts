/**
 * The agent's wallet behind `x402-stacks mcp`: one payer for the whole session (one budget, one nonce queue, shared by
 * every tool call and every HTTP session), signing with a key or through a signer socket, and the command line's safe
 * pay path around it. Its budget store puts the session cap in front of the budget file, when one is configured, so
 * that both hold. `fetchPaid` goes through
 * `createPayFetch` as `x402-stacks pay` does: the unpaid request follows redirects within the origin asked for only,
 * and the paid request never follows a redirect. Each settled payment is kept (newest last, bounded) for
 * `payment_status`.
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { StacksAccount } from 'x402-stacks';
import {
  createMemoryBudgetStore,
  createPayer,
  type Payer,
  type PaymentOptions,
  type PaymentReceipt,
  type Signer,
  wrapFetchWithPayment,
} from 'x402-stacks/client';
import { assetKey, resolveAsset } from 'x402-stacks/stacks';
import { budgetPaymentOptions } from './budget-options.js';
import type { McpCommandOptions } from './mcp-config.js';
import { createPayFetch } from './pay-fetch.js';
import {
  type SessionCappedBudgetStore,
  sessionCappedBudgetStore,
} from './session-capped-budget-store.js';

/** Settled payments kept for `payment_status`; older ones are dropped. */
const MAX_KEPT_PAYMENTS = 100;

export type AgentWallet = {
  /** Who pays: an account whose key this process holds, or a signer in another process. */
  readonly account: StacksAccount | Signer;
  readonly payer: Payer;
  /** Where the payer counts: the session cap, then the budget file (or this process's memory). */
  readonly budgetStore: SessionCappedBudgetStore;
  /** Requests `url`, paying its 402 within the limits; the origin of `url` is the only one requests may go to. */
  fetchPaid(url: string, init: RequestInit): Promise<Response>;
  /** The session's settled payments, oldest first. */
  payments(): readonly PaymentReceipt[];
};

/**
 * Builds the session's wallet.
 * @throws {PayerOptionsError} for limits the payer cannot use.
 * @example
 * ```ts
 * const wallet = createAgentWallet(account, options);
 * const response = await wallet.fetchPaid('http://127.0.0.1:3003/api/weather', { method: 'GET' });
 * ```
 */
export function createAgentWallet(
  account: StacksAccount | Signer,
  options: McpCommandOptions,
  hooks: Pick<PaymentOptions, 'onPaymentRequired'> = {},
): AgentWallet {
  const settled: PaymentReceipt[] = [];
  // The caps, the window and the file as `pay` takes them; the session cap goes in front of their store.
  const shared = budgetPaymentOptions(options.budgetSettings);
  const sessionCaps = new Map(
    Object.entries(options.budget).map(([symbol, cap]) => [
      assetKey(resolveAsset(symbol, options.network)),
      cap,
    ]),
  );
  const budgetStore = sessionCappedBudgetStore(
    shared.budgetStore ?? createMemoryBudgetStore(),
    sessionCaps,
  );
  const payer = createPayer(account, {
    ...(options.apiUrl === undefined ? {} : { apiUrl: options.apiUrl }),
    ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
    ...(options.maxAmount
      ? { maxAmount: options.maxAmount, allowedAssets: Object.keys(options.maxAmount) }
      : {}),
    ...shared,
    budgetStore,
    ...hooks,
    onPaymentSettled: (receipt) => {
      settled.push(receipt);
      if (settled.length > MAX_KEPT_PAYMENTS) settled.shift();
    },
  });
  // Each call's origin, for the guarded fetch the one wrapper (and so the one payer) goes through.
  const origins = new AsyncLocalStorage<string>();
  const guarded: typeof fetch = (input, init) =>
    createPayFetch(fetch, origins.getStore()!, {
      redirect: () => undefined,
      // The wrapper reads the challenge from the original; this copy is not needed.
      challenged: (_url, response) => void response.body?.cancel().catch(() => undefined),
      paying: () => undefined,
    })(input, init);
  const paidFetch = wrapFetchWithPayment(guarded, payer);
  return {
    account,
    payer,
    budgetStore,
    fetchPaid: (url, init) => origins.run(new URL(url).origin, () => paidFetch(url, init)),
    payments: () => settled,
  };
}
