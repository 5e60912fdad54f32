/**
 * The tools `x402-stacks mcp` gives an agent: `fetch_paid`, `balance`, `budget`, `discover` and `payment_status`.
 * Each has an input schema and a description that says what it costs and what it answers. Every answer is JSON (in
 * `structuredContent` and as the text), amounts both exact (atomic digit strings) and readable; a refusal is an
 * `isError` result with a stable snake_case `error` and a message. The key never appears in any answer.
 * @module
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { getPaymentReceipt, readTextUpTo } from 'x402-stacks/client';
import {
  assetKey,
  formatAmount,
  KNOWN_TOKENS,
  type KnownTokenSymbol,
  resolveAsset,
  type StacksAsset,
} from 'x402-stacks/stacks';
import { z } from 'zod';
import { describeFailure } from './balance.js';
import { budgetReport } from './mcp-budget-report.js';
import type { McpCommandOptions } from './mcp-config.js';
import type { AgentWallet } from './mcp-wallet.js';
import { PayRefusal } from './pay-fetch.js';
import { redactText } from './redacting-io.js';

/** Request headers an agent may not set: the payment itself, and what fetch or the host decides. */
const FORBIDDEN_HEADERS = new Set([
  'payment-signature',
  'x-payment',
  'sign-in-with-x',
  'host',
  'content-length',
  'connection',
  'transfer-encoding',
]);
/** The most of a registry's answer read: its pages are small; anything larger is not a registry. */
const MAX_REGISTRY_BYTES = 1024 * 1024;
const TXID = /^(0x)?[0-9a-fA-F]{64}$/;

/**
 * Adds the agent's tools to a server.
 * @example
 * ```ts
 * registerAgentTools(server, createAgentWallet(account, options), options);
 * ```
 */
export function registerAgentTools(
  server: McpServer,
  wallet: AgentWallet,
  options: McpCommandOptions,
): void {
  const network = options.network;
  const assetOf = (symbol: string): StacksAsset => resolveAsset(symbol, network);
  const amountView = (atomic: bigint, asset: StacksAsset) => ({
    atomic: atomic.toString(),
    formatted: formatAmount(atomic, asset),
  });

  server.registerTool(
    'fetch_paid',
    {
      title: 'Fetch a URL, paying its x402 price',
      description:
        'Requests an http(s) URL. If it answers 402 Payment Required with an x402 offer on Stacks, pays it from this ' +
        "wallet within the per-payment maximum and the budget (see the 'budget' tool), then sends the " +
        'request again once with the payment and returns the answer. Redirects are followed within the same origin ' +
        'only; the paid request never follows one. Returns the status, content type, the body (text, cut at the ' +
        'size limit) and, when it paid, the payment (txid, amount, asset, payTo, fee). Refusals name a reason such ' +
        'as payment_over_budget, payment_over_max_amount, insufficient_funds or cross_origin_redirect; nothing is ' +
        'paid then.',
      inputSchema: {
        url: z.string().max(2048).describe('The absolute http(s) URL to request.'),
        method: z
          .enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'])
          .default('GET')
          .describe('The HTTP method; default GET.'),
        headers: z
          .record(z.string().max(100), z.string().max(4096))
          .optional()
          .describe('Request headers (not the payment headers, which the wallet sets).'),
        body: z
          .string()
          .max(1024 * 1024)
          .optional()
          .describe('The request body, as text.'),
      },
    },
    async ({ url, method, headers, body }) => {
      if (!/^https?:\/\//i.test(url) || !URL.canParse(url)) {
        return refusal('invalid_url', `'${url}' is not an absolute http(s) URL`);
      }
      const names = Object.keys(headers ?? {});
      if (names.length > 32) return refusal('too_many_headers', 'at most 32 request headers');
      const forbidden = names.find((name) => FORBIDDEN_HEADERS.has(name.toLowerCase()));
      if (forbidden)
        return refusal(
          'forbidden_header',
          `the header ${forbidden} is set by the wallet or the transport`,
        );
      let response: Response;
      try {
        response = await wallet.fetchPaid(url, {
          method,
          ...(headers ? { headers } : {}),
          ...(body === undefined || method === 'GET' || method === 'HEAD' ? {} : { body }),
        });
      } catch (error) {
        return failure(error);
      }
      // Read from the response itself: calls running side by side must not see each other's payments.
      const receipt = getPaymentReceipt(response);
      const text = await readTextUpTo(response.clone(), options.maxBodyBytes);
      const shown =
        text ??
        (await readPrefix(response, options.maxBodyBytes)) ??
        '(the body could not be read)';
      return answer({
        status: response.status,
        url: redactText(response.url || url),
        contentType: response.headers.get('content-type'),
        body: shown,
        truncated: text === undefined,
        payment: receipt
          ? {
              txid: receipt.txid,
              amount: receipt.amount.toString(),
              price: formatAmount(receipt.amount, resolveAsset(receipt.asset, network)),
              asset: receipt.asset,
              payTo: receipt.requirements.payTo,
              fee: receipt.fee.toString(),
              network: receipt.network,
            }
          : null,
      });
    },
  );

  server.registerTool(
    'balance',
    {
      title: 'Wallet balance',
      description:
        "The STX, sBTC and USDCx balances of this wallet's address (or of another Stacks address), read from the " +
        'chain API, in atomic units and formatted. Use it before paying, and after, to see what a payment cost.',
      inputSchema: {
        address: z
          .string()
          .regex(/^S[PMTN][0-9A-Z]{26,40}$/, 'expected a Stacks address')
          .optional()
          .describe("A Stacks address; default this wallet's."),
      },
    },
    async ({ address }) => {
      const who = address ?? wallet.account.address;
      try {
        const chain = wallet.payer.chain;
        const symbols = Object.keys(KNOWN_TOKENS) as KnownTokenSymbol[];
        const tokens = symbols.map((symbol) => assetOf(symbol));
        const [stx, ...amounts] = await Promise.all([
          chain.getStxBalance(who),
          ...tokens.map((token) => chain.getFtBalance(who, assetKey(token))),
        ]);
        return answer({
          address: who,
          network,
          balances: {
            STX: amountView(stx, assetOf('STX')),
            ...Object.fromEntries(
              symbols.map((symbol, index) => [symbol, amountView(amounts[index]!, tokens[index]!)]),
            ),
          },
        });
      } catch (error) {
        return failure(error);
      }
    },
  );

  server.registerTool(
    'budget',
    {
      title: 'Spending budget',
      description:
        'What may still be spent, per asset: `left` is what every total and window cap leaves at once, and one ' +
        'payment may be at most the smaller of `left` and `maxPerPayment`; an asset with `payable: false` is never paid. ' +
        "Also `session` (this session's cap, what it spent or holds for payments in flight, and what is left), " +
        '`file` when a budget file is configured (every payment counted in it by any process, earlier sessions ' +
        'included, against its total cap), `window` when a rolling window cap is set, and the maximum for one ' +
        'payment. A payment above what is left is refused with payment_over_budget or payment_over_window_budget ' +
        'before anything is signed.',
      inputSchema: {},
    },
    async () => {
      try {
        return answer({
          address: wallet.account.address,
          network,
          ...(await budgetReport(wallet, options)),
        });
      } catch (error) {
        return failure(error);
      }
    },
  );

  server.registerTool(
    'discover',
    {
      title: 'Find paid APIs',
      description:
        `Searches the x402scan registry (${options.registryUrl}) for paid HTTP APIs on Stacks, by keyword, asset ` +
        'and maximum price. Returns each listing: name, description, URL, method, status and its offers (price, ' +
        "asset, payTo, network). Pay one with 'fetch_paid'.",
      inputSchema: {
        query: z
          .string()
          .max(200)
          .optional()
          .describe('Keywords to match in names and descriptions.'),
        asset: z
          .string()
          .regex(/^(STX|sBTC|USDCx)$/i, 'expected STX, sBTC or USDCx')
          .optional()
          .describe('Only listings paid in this asset: STX, sBTC or USDCx.'),
        max_price: z
          .string()
          .regex(/^\d{1,30}(\.\d{1,18})?$/, 'expected a decimal price such as 0.01')
          .optional()
          .describe(
            'The highest price in whole units of `asset` (which it requires), such as 0.01.',
          ),
        limit: z.number().int().min(1).max(20).default(10).describe('At most this many listings.'),
      },
    },
    async ({ query, asset, max_price, limit }) => {
      if (max_price !== undefined && asset === undefined) {
        return refusal('asset_required', 'max_price is in whole units of an asset: give asset too');
      }
      const search = new URLSearchParams({ limit: String(limit) });
      if (query) search.set('q', query);
      if (asset) search.set('asset', asset);
      if (max_price) search.set('maxPrice', max_price);
      search.set('network', network);
      try {
        const response = await fetch(`${options.registryUrl}/api/v1/resources?${search}`, {
          redirect: 'error',
          signal: AbortSignal.timeout(10_000),
        });
        const text = await readTextUpTo(response, MAX_REGISTRY_BYTES);
        if (text === undefined)
          return refusal('registry_unreadable', 'the registry answer is too large');
        if (!response.ok) {
          return refusal(
            'registry_error',
            `the registry answered ${response.status}: ${text.slice(0, 300)}`,
          );
        }
        const page = RegistryPageSchema.safeParse(safeJson(text));
        if (!page.success)
          return refusal('registry_unreadable', 'the registry answer is not a listing page');
        return answer({
          registry: options.registryUrl,
          total: page.data.total,
          items: page.data.items.map((item) => ({
            name: item.name ?? null,
            description: item.description ?? null,
            url: item.url,
            method: item.method,
            status: item.status,
            accepts: item.accepts.map((offer) => ({
              price: offer.price ? `${offer.price.amount} ${offer.price.unit}` : null,
              amount: offer.amount,
              asset: offer.asset,
              payTo: offer.payTo,
              network: offer.network,
            })),
          })),
        });
      } catch (error) {
        return refusal(
          'registry_unreachable',
          `the registry could not be searched: ${describeFailure(error)}`,
        );
      }
    },
  );

  server.registerTool(
    'payment_status',
    {
      title: 'Payment status',
      description:
        'The status of a payment on the chain (pending, success, or why it failed) by its txid; without a txid, the ' +
        "payments this session made (newest last: URL, amount, txid). Use the txid that 'fetch_paid' returned.",
      inputSchema: {
        txid: z.string().regex(TXID, 'expected a 64-hex-character txid').optional(),
      },
    },
    async ({ txid }) => {
      const payments = wallet.payments().map((receipt) => ({
        url: redactText(receipt.url),
        txid: receipt.txid,
        amount: receipt.amount.toString(),
        price: formatAmount(receipt.amount, resolveAsset(receipt.asset, network)),
        payTo: receipt.requirements.payTo,
      }));
      if (txid === undefined) return answer({ payments });
      const normalized = txid.toLowerCase().replace(/^0x/, '');
      try {
        const found = await wallet.payer.chain.getTransaction(normalized);
        return answer({
          txid: normalized,
          status: found?.status ?? 'not_found',
          ...(found && 'blockHeight' in found ? { blockHeight: found.blockHeight } : {}),
          payment:
            payments.find((payment) => payment.txid.replace(/^0x/, '') === normalized) ?? null,
        });
      } catch (error) {
        return failure(error);
      }
    },
  );
}

const RegistryPageSchema = z.object({
  total: z.number().int().nonnegative(),
  items: z
    .array(
      z.object({
        url: z.string(),
        method: z.string(),
        name: z.string().nullish(),
        description: z.string().nullish(),
        status: z.string(),
        accepts: z.array(
          z.object({
            amount: z.string(),
            asset: z.string(),
            payTo: z.string(),
            network: z.string(),
            price: z.object({ amount: z.string(), unit: z.string() }).nullish(),
          }),
        ),
      }),
    )
    .max(100),
});

function answer(value: Record<string, unknown>): CallToolResult {
  return {
    content: [{ type: 'text', text: JSON.stringify(value) }],
    structuredContent: value,
  };
}

function refusal(error: string, message: string): CallToolResult {
  const value = { error, message: redactText(message) };
  return {
    isError: true,
    content: [{ type: 'text', text: JSON.stringify(value) }],
    structuredContent: value,
  };
}

/** A thrown error as a refusal: the library's and the pay path's stable reasons, else `request_failed`. */
function failure(error: unknown): CallToolResult {
  if (error instanceof PayRefusal) return refusal(error.reason, error.message);
  const reason =
    error && typeof error === 'object' && 'reason' in error && typeof error.reason === 'string'
      ? error.reason
      : 'request_failed';
  const cause =
    error instanceof TypeError ? (error.cause as NodeJS.ErrnoException | undefined) : undefined;
  return refusal(
    reason,
    `${describeFailure(error)}${cause ? ` (${cause.code ?? cause.message})` : ''}`,
  );
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The first `limit` bytes of a body too long to read whole, as text. */
async function readPrefix(response: Response, limit: number): Promise<string | undefined> {
  const reader = response.body?.getReader();
  if (!reader) return undefined;
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value.subarray(0, limit - size));
      size += Math.min(value.byteLength, limit - size);
    }
    await reader.cancel();
  } catch {
    return undefined;
  }
  return Buffer.concat(chunks).toString('utf8');
}
