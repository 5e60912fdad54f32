/**
 * The agent's wallet behind `x402-stacks mcp`: one payer for the whole session (one budget, one nonce queue, shared by
 * every tool call and every HTTP session), and the command line's safe pay path around it. `fetchPaid` goes through
 * `createPayFetch` as `x402-stacks pay` does: the unpaid request follows redirects within the origin asked for only,
 * and the paid request never follows a redirect. Each settled payment is kept (newest last, bounded) for
 * `payment_status`.
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { StacksAccount } from 'x402-stacks';
import {
  createPayer,
  type Payer,
  type PaymentOptions,
  type PaymentReceipt,
  wrapFetchWithPayment,
} from 'x402-stacks/client';
import type { McpCommandOptions } from './mcp-config.js';
import { createPayFetch } from './pay-fetch.js';

/** Settled payments kept for `payment_status`; older ones are dropped. */
const MAX_KEPT_PAYMENTS = 100;

export type AgentWallet = {
  readonly account: StacksAccount;
  readonly payer: Payer;
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
  account: StacksAccount,
  options: McpCommandOptions,
  hooks: Pick<PaymentOptions, 'onPaymentRequired'> = {},
): AgentWallet {
  const settled: PaymentReceipt[] = [];
  // A later integration point: the persisted budgets and remote signer of the buyer side replace this payer.
  const payer = createPayer(account, {
    ...(options.apiUrl === undefined ? {} : { apiUrl: options.apiUrl }),
    ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
    ...(options.maxAmount
      ? { maxAmount: options.maxAmount, allowedAssets: Object.keys(options.maxAmount) }
      : {}),
    budget: options.budget,
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
    fetchPaid: (url, init) => origins.run(new URL(url).origin, () => paidFetch(url, init)),
    payments: () => settled,
  };
}
