/**
 * The paying MCP client: a tool result that asks for payment is paid by the payer core, within the buyer's policy
 * and budget, and the call is sent once more with the payment in `_meta["x402/payment"]`. The same consent hook, the
 * same named errors and the same receipts as the HTTP wrappers.
 * @module
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolRequest, CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { readPaymentChallenge } from '../client/challenge.js';
import { InvalidPaymentRequiredError } from '../client/errors.js';
import { getPaymentReceipt, rememberPaymentReceipt } from '../client/paid-responses.js';
import { createPayer, type Payer, type PaymentOptions } from '../client/payer.js';
import { utf8ToBase64 } from '../protocol/base64.js';
import { decodePaymentSignatureHeader, PAYMENT_HEADERS } from '../protocol/headers.js';
import type { StacksAccount } from '../stacks/accounts.js';
import { MCP_META, type PaymentSignal, readPaymentSignal } from './meta.js';

/** The request options `Client.callTool` takes (timeouts, an abort signal, progress). */
type CallOptions = Parameters<Client['callTool']>[2];

/**
 * An MCP client that pays. `callTool` is the SDK's, with payment; `getPaymentReceipt(result)` gives the payment
 * behind a paid result.
 * @example
 * ```ts
 * const paying = wrapMcpClientWithPayment(client, account, { maxAmount: { STX: 10_000n } });
 * const result = await paying.callTool({ name: 'forecast', arguments: { city: 'Lisbon' } });
 * ```
 */
export type PayingMcpClient = {
  /** The SDK client underneath, for everything that is not a paid call. */
  readonly client: Client;
  /** The payer core: `spent(asset)`, the account, the chain client. */
  readonly payer: Payer;
  /**
   * Calls a tool; a payment-required result is paid once within policy and the call sent again with the payment.
   * When that call's result is lost (the transport throws) and the payment carries a `payment-identifier` id, the
   * same payment is sent again (`lostResponseRetries`, default once), as the HTTP wrappers do.
   * A call whose `_meta` already carries `x402/payment` is sent as is and never paid again.
   * @throws {PaymentPolicyError}, {NoAcceptableRequirementError}, {InsufficientBalanceError} nothing signed.
   * @throws {PaymentRejectedError}, {SettlementPendingError} refused or pending after the paid retry.
   * @throws {PaymentNetworkError} the paid retry got no answer.
   * @throws {InvalidPaymentRequiredError} the payment-required result cannot be read.
   */
  callTool(params: CallToolRequest['params'], options?: CallOptions): Promise<CallToolResult>;
};

/**
 * Wraps an SDK `Client` so that paid tools are paid from `account` (or a payer you built: pass a {@link Payer} to
 * share one budget and nonce queue with the HTTP wrappers). Options are the HTTP wrappers' {@link PaymentOptions}:
 * `maxAmount`, `budget`, `allowedPayTo`, `onPaymentRequired`, `onPaymentSettled`…
 *
 * @throws {PayerOptionsError} at once, for options that cannot be used.
 * @example
 * ```ts
 * import { Client } from '@modelcontextprotocol/sdk/client/index.js';
 * import { privateKeyToAccount } from 'x402-stacks';
 * import { getPaymentReceipt, wrapMcpClientWithPayment } from 'x402-stacks/mcp';
 *
 * const client = new Client({ name: 'agent', version: '1.0.0' });
 * await client.connect(transport);
 * const paying = wrapMcpClientWithPayment(client, privateKeyToAccount(key, 'testnet'), { budget: { STX: 100_000n } });
 * const result = await paying.callTool({ name: 'forecast', arguments: { city: 'Lisbon' } });
 * console.log(getPaymentReceipt(result)?.txid);
 * ```
 */
export function wrapMcpClientWithPayment(
  client: Client,
  account: StacksAccount | Payer,
  options: PaymentOptions = {},
): PayingMcpClient {
  const payer = 'preparePayment' in account ? account : createPayer(account, options);
  return {
    client,
    payer,
    async callTool(params, callOptions) {
      if (params._meta?.[MCP_META.payment] !== undefined) {
        return (await client.callTool(params, undefined, callOptions)) as CallToolResult;
      }
      const first = (await client.callTool(params, undefined, callOptions)) as CallToolResult;
      const signal = readPaymentSignal(first);
      if (signal?.status !== 402 || !signal.paymentRequired) return first;

      const challenge = readPaymentChallenge({ header: undefined, body: signal.paymentRequired });
      if (challenge.version !== 2) {
        throw new InvalidPaymentRequiredError('the MCP transport carries x402 v2 challenges only');
      }
      const url = challenge.paymentRequired.resource.url;
      const prepared = await payer.preparePayment(challenge, { url });
      const payment = decodePaymentSignatureHeader(prepared.header.value);
      const paidParams = { ...params, _meta: { ...params._meta, [MCP_META.payment]: payment } };
      let paid: CallToolResult | undefined;
      for (let attempt = 0; paid === undefined; attempt++) {
        try {
          paid = (await client.callTool(paidParams, undefined, callOptions)) as CallToolResult;
        } catch (cause) {
          // The result was lost: the same payment under the same id again (`lostResponseRetries`), which the
          // facilitator answers with the outcome it stored, unless the caller gave up (its signal).
          if (attempt < prepared.lostResponseRetries && !callOptions?.signal?.aborted) continue;
          // A transport error or timeout: the call may have reached the server, so the payment counts as sent.
          throw prepared.fail(cause);
        }
      }
      const answer = readPaymentSignal(paid);
      const receipt = await prepared.complete(answerOf(answer, paid), paid);
      if (receipt) rememberPaymentReceipt(paid, receipt);
      return paid;
    },
  };
}

/** A paid call's result in the shape the payer core reads an HTTP answer in. */
function answerOf(signal: PaymentSignal | undefined, result: CallToolResult) {
  const headers: Record<string, string> = {};
  if (signal?.settlement) {
    headers[PAYMENT_HEADERS.paymentResponse] = utf8ToBase64(JSON.stringify(signal.settlement));
  }
  // Without any payment word, a tool's own error after a paid call leaves the outcome unknown, as a 5xx does.
  const status = signal?.status ?? (result.isError === true ? 500 : 200);
  return {
    status,
    header: (name: string) => headers[name.toLowerCase()],
    body: signal?.paymentRequired ?? signal?.body,
  };
}

export { getPaymentReceipt };
