/**
 * Paid tools on an MCP server: a tool is priced the way `paymentMiddleware` prices a route, through the same
 * framework-free resource server, so prices, settle orders, the facilitator client, replay, `settlement_pending` and
 * facilitator faults behave and are named exactly as over HTTP. The payment arrives in the call's
 * `_meta["x402/payment"]` and is handed to the core as the `payment-signature` header it would be over HTTP.
 * @module
 */
import type {
  McpServer,
  RegisteredTool,
  ToolCallback,
} from '@modelcontextprotocol/sdk/server/mcp.js';
import type { AnySchema, ZodRawShapeCompat } from '@modelcontextprotocol/sdk/server/zod-compat.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { utf8ToBase64 } from '../protocol/base64.js';
import { PAYMENT_HEADERS } from '../protocol/headers.js';
import type { PaymentRequirements } from '../protocol/v2.js';
import { type PaymentMiddlewareOptions, resolveOptions } from '../server/options.js';
import { createResourceServer, type Payment } from '../server/resource-server.js';
import { formatPrice } from '../stacks/payment/terms.js';
import { type ErrorBody, MCP_META, toolResultOfReply, withSettlement } from './meta.js';

/** The second argument every tool callback receives (the SDK's `RequestHandlerExtra`). */
type ToolExtra = Parameters<ToolCallback<undefined>>[0];

/**
 * What a paid tool's pricing function receives: the tool's name, its validated arguments and the SDK's request
 * context.
 * @example
 * ```ts
 * const amount = (call: PaidToolCall) => ((call.arguments as { deep?: boolean }).deep ? '5000' : '1000');
 * ```
 */
export type PaidToolCall = {
  readonly name: string;
  readonly arguments: unknown;
  readonly extra: ToolExtra;
};

/**
 * The price and payment settings of one paid tool: `paymentMiddleware`'s options (fixed, dynamic or per-asset
 * `amount`, `settle`, `facilitatorUrl` or `facilitator`, `sponsored`, `paymentValidator`, `offerReceipt`…). The
 * resource URL defaults to `mcp://tool/<name>`, as the transport spec names it. Sign-in and the x402-stacks 1.x body
 * are HTTP-only and not offered.
 * @example
 * ```ts
 * const price: PaidToolOptions = { amount: '1000', payTo: SELLER, network: 'testnet', facilitatorUrl };
 * ```
 */
export type PaidToolOptions = Omit<
  PaymentMiddlewareOptions<PaidToolCall>,
  'signInWithX' | 'challengeBody'
>;

/**
 * A tool's registration, as `McpServer.registerTool` takes it. The price is not here but in `PaidToolOptions`; the
 * listing's description gets the price appended.
 * @example
 * ```ts
 * const config = { title: 'Forecast', inputSchema: { city: z.string() } }; // a PaidToolConfig
 * registerPaidTool(server, 'forecast', config, { amount: '1000', payTo, network: 'testnet', facilitatorUrl }, run);
 * ```
 */
export type PaidToolConfig<
  InputArgs extends undefined | ZodRawShapeCompat | AnySchema,
  OutputArgs extends ZodRawShapeCompat | AnySchema,
> = {
  title?: string;
  description?: string;
  inputSchema?: InputArgs;
  outputSchema?: OutputArgs;
  annotations?: Parameters<McpServer['registerTool']>[1]['annotations'];
  _meta?: Record<string, unknown>;
};

const payments = new WeakMap<object, Payment>();

/**
 * Registers a tool that is paid per call. Unpaid, a call gets the transport's payment-required result (`isError:
 * true`, the `PaymentRequired` in `structuredContent` and in `content[0].text`). Paid, the payment is settled
 * (`before-handler`, the default) or verified, run, then settled (`after-handler`), and the result carries the
 * settlement in `_meta["x402/payment-response"]`. A result is never released unless its payment settled: under
 * `after-handler`, a tool that throws or answers `isError: true` is not charged, and a failed settlement replaces the
 * tool's result. The listing shows the price: in the description, and a static price's entries in
 * `_meta["x402/accepts"]`. Options are checked once, here.
 *
 * @throws {ServerConfigError} listing every problem with the options.
 * @example
 * ```ts
 * import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
 * import { registerPaidTool } from 'x402-stacks/mcp';
 * import { z } from 'zod';
 *
 * const server = new McpServer({ name: 'weather', version: '1.0.0' });
 * registerPaidTool(server, 'forecast', { description: 'Tomorrow’s weather', inputSchema: { city: z.string() } },
 *   { amount: '1000', payTo: SELLER, network: 'testnet', facilitatorUrl },
 *   async ({ city }) => ({ content: [{ type: 'text', text: `Sunny in ${city}` }] }));
 * ```
 */
export function registerPaidTool<
  OutputArgs extends ZodRawShapeCompat | AnySchema,
  InputArgs extends undefined | ZodRawShapeCompat | AnySchema = undefined,
>(
  server: McpServer,
  name: string,
  config: PaidToolConfig<InputArgs, OutputArgs>,
  payment: PaidToolOptions,
  handler: ToolCallback<InputArgs>,
): RegisteredTool {
  const options: PaymentMiddlewareOptions<PaidToolCall> = {
    resource: `mcp://tool/${encodeURIComponent(name)}`,
    ...(config.description !== undefined ? { description: config.description } : {}),
    mimeType: 'application/json',
    ...payment,
  };
  const core = createResourceServer<PaidToolCall>(options);
  const { staticAccepts } = resolveOptions(options);
  const listed = {
    ...config,
    description: describe(config.description, staticAccepts),
    _meta: { ...config._meta, ...(staticAccepts ? { [MCP_META.accepts]: staticAccepts } : {}) },
  };
  // The SDK calls `(args, extra)` for a tool with an input schema and `(extra)` for one without.
  const run = (params: unknown[]) =>
    (handler as (...given: unknown[]) => CallToolResult | Promise<CallToolResult>)(...params);

  // A client checks any `structuredContent` against the tool's output schema, error results included (the SDK's
  // does): for such a tool the payment objects travel only in `content[0].text`, which the spec requires anyway.
  const shaped = (result: CallToolResult): CallToolResult => {
    if (config.outputSchema === undefined || result.isError !== true) return result;
    const { structuredContent: _dropped, ...rest } = result;
    return rest;
  };
  const paid = async (...params: unknown[]): Promise<CallToolResult> =>
    shaped(await charge(params));
  const charge = async (params: unknown[]): Promise<CallToolResult> => {
    const extra = params[params.length - 1] as ToolExtra;
    const sent = extra._meta?.[MCP_META.payment];
    const request = {
      url: options.resource!,
      // Encoded as it would travel over HTTP, so the same decoder, limits and reasons apply to it.
      header: (header: string) =>
        header === PAYMENT_HEADERS.paymentSignature && sent !== undefined
          ? utf8ToBase64(JSON.stringify(sent))
          : undefined,
      request: { name, arguments: params.length > 1 ? params[0] : undefined, extra },
    };
    const admission = await core.admit(request);
    if (admission.action === 'reply' && admission.reply.status === 400) {
      // The transport answers an invalid payment with the PaymentRequired and the reason, where HTTP says 400.
      const fresh = await core.admit({ ...request, header: () => undefined });
      const failure = JSON.parse(admission.reply.body) as ErrorBody;
      return fresh.action === 'reply'
        ? toolResultOfReply(fresh.reply, failure)
        : toolResultOfReply(admission.reply);
    }
    if (admission.action === 'reply') return toolResultOfReply(admission.reply);
    payments.set(extra, admission.payment);
    if (admission.action === 'serve') {
      // Settled before the tool ran: the buyer has paid, so even a failing tool's answer carries the settlement.
      return withSettlement(await runOrError(run, params), admission.headers);
    }
    try {
      const result = await run(params);
      // A failed tool, or a caller gone, is not charged: the reservation is released below.
      if (result.isError === true || extra.signal.aborted) return result;
      const settled = await admission.settle();
      if (settled.action === 'reply') return toolResultOfReply(settled.reply);
      payments.set(extra, settled.payment);
      return withSettlement(result, settled.headers);
    } finally {
      // A no-op after settle().
      admission.release();
    }
  };
  return server.registerTool(name, listed, paid as unknown as ToolCallback<InputArgs>);
}

/**
 * The payment of the call a paid tool is running for, from the `extra` its callback receives; `undefined` for a
 * free tool. Under `after-handler` it is verified, not yet settled (`settled: false`).
 * @example
 * ```ts
 * registerPaidTool(server, 'report', {}, price, async (extra) =>
 *   ({ content: [{ type: 'text', text: `paid by ${getToolPayment(extra)?.payer}` }] }));
 * ```
 */
export function getToolPayment(extra: object): Payment | undefined {
  return payments.get(extra);
}

async function runOrError(
  run: (params: unknown[]) => CallToolResult | Promise<CallToolResult>,
  params: unknown[],
): Promise<CallToolResult> {
  try {
    return await run(params);
  } catch (error) {
    // The SDK's own shape for a tool that throws, kept so the settlement can ride along.
    const text = error instanceof Error ? error.message : String(error);
    return { isError: true, content: [{ type: 'text', text }] };
  }
}

function describe(
  description: string | undefined,
  accepts: readonly PaymentRequirements[] | undefined,
): string {
  const price = accepts?.length
    ? `Paid tool (x402): ${accepts.map((entry) => formatPrice(entry)).join(' or ')} per call.`
    : 'Paid tool (x402): priced per call.';
  return description ? `${description}\n\n${price}` : price;
}
