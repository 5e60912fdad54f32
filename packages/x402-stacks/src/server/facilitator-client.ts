/**
 * The seller's view of a facilitator: one interface, with two implementations. `createFacilitatorClient` speaks the
 * x402 HTTP API to a facilitator service; the in-process engine (`createFacilitator`) already has this shape and is
 * passed as is.
 * @module
 */
import { z } from 'zod';
import type { Exchange } from '../chain/exchange.js';
import { createFetchExchange } from '../chain/fetch-exchange.js';
import { createNodeExchange } from '../chain/node-exchange.js';
import { querySecrets, redactQueryPairs, redactSecrets, redactUrl } from '../chain/redact.js';
import { utf8ToBase64 } from '../protocol/base64.js';
import {
  type PaymentPayload,
  type PaymentRequirements,
  type SettleResponse,
  SettleResponseSchema,
  type SupportedResponse,
  SupportedResponseSchema,
  type VerifyResponse,
  VerifyResponseSchema,
} from '../protocol/v2.js';
import { FacilitatorRequestError, ServerConfigError } from './errors.js';

/**
 * What the facilitator knows of one settlement, as `GET /settlements/:txid` answers: `claimed` and `broadcast` are
 * still open, `success` is final, and so is `failed` but for a drop from one node's mempool that a read then found
 * mined (it becomes `success`, and the buyer's retry under its payment id is served once). `amount`, `asset`,
 * `payTo` and `resource` bind it to one request; facilitators written before them answer without, and a status
 * without them binds nothing.
 *
 * @example
 * ```ts
 * const status = await facilitator.status(txid);
 * if (status?.state === 'success') console.log('confirmed at', status.blockHeight);
 * ```
 */
export type FacilitatorSettlementStatus = {
  readonly transaction: string;
  readonly state: 'claimed' | 'broadcast' | 'success' | 'failed';
  readonly payer: string;
  readonly network: string;
  /** The amount settled, in the asset's smallest unit (an integer string). */
  readonly amount?: string;
  /** `'STX'` or `'<contract id>::<asset name>'`. */
  readonly asset?: string;
  readonly payTo?: string;
  /** The resource URL it was settled for. */
  readonly resource?: string;
  readonly errorReason?: string;
  readonly blockHeight?: number;
};

/**
 * A facilitator as the resource server uses it. `createFacilitatorClient(…)` (over HTTP) and `createFacilitator(…)`
 * (the in-process engine) both satisfy it.
 *
 * - `verify` and `settle` answer refusals as values (`isValid: false`, `success: false`) and throw only when there is
 *   no usable answer ({@link FacilitatorRequestError} over HTTP).
 * - `status` answers `undefined` for a transaction the facilitator never settled.
 *
 * @example
 * ```ts
 * const facilitator: FacilitatorClient = createFacilitatorClient({ url: 'http://127.0.0.1:8085' });
 * const verdict = await facilitator.verify(paymentPayload, paymentRequirements);
 * ```
 */
export type FacilitatorClient = {
  verify(
    paymentPayload: PaymentPayload,
    paymentRequirements: PaymentRequirements,
  ): Promise<VerifyResponse>;
  settle(
    paymentPayload: PaymentPayload,
    paymentRequirements: PaymentRequirements,
  ): Promise<SettleResponse>;
  status(txid: string): Promise<FacilitatorSettlementStatus | undefined>;
  supported(): SupportedResponse | Promise<SupportedResponse>;
};

/**
 * Options of {@link createFacilitatorClient}.
 * @example
 * ```ts
 * const options: FacilitatorClientOptions = { url: 'https://facilitator.example', apiKey: process.env.KEY };
 * ```
 */
export type FacilitatorClientOptions = {
  /**
   * The facilitator's base URL, such as `https://facilitator.stacksx402.com`. Credentials in it are never shown: its
   * user and password, and its own query parameters, hidden by name in URLs and in `name=value` pairs of any text,
   * and elsewhere by value from 8 characters.
   */
  url: string;
  /** Sent as `Authorization: Bearer <apiKey>`. Never shown in errors. */
  apiKey?: string;
  /** Timeout of `verify`, `status` and `supported`, in ms. Default 10,000. */
  timeoutMs?: number;
  /**
   * Timeout of `settle`, in ms. Default 75,000: a facilitator waits up to a minute for confirmation before it
   * answers `settlement_pending`, and that answer is worth waiting for.
   */
  settleTimeoutMs?: number;
  /**
   * Sends every request through this `fetch` instead. Default: node's `http`/`https` on a keep-alive agent where the
   * runtime has them (Node, Bun, Deno), else the global `fetch`. Redirects are not followed either way: an API key
   * or credentials must not travel to another host.
   */
  fetch?: typeof globalThis.fetch;
};

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_SETTLE_TIMEOUT_MS = 75_000;
const BODY_SNIPPET_LENGTH = 200;

const SettlementStatusSchema = z.looseObject({
  transaction: z.string().min(1),
  state: z.enum(['claimed', 'broadcast', 'success', 'failed']),
  payer: z.string(),
  network: z.string(),
  // Absent from facilitators written before statuses could be bound: still a status, bound to nothing.
  amount: z
    .string()
    .regex(/^(0|[1-9][0-9]*)$/, 'expected an integer string')
    .optional(),
  asset: z.string().min(1).optional(),
  payTo: z.string().min(1).optional(),
  resource: z.string().min(1).optional(),
  errorReason: z.string().optional(),
  blockHeight: z.number().int().nonnegative().optional(),
});

const OptionsSchema = z.object({
  url: z.url({ protocol: /^https?$/, error: 'expected an http or https URL' }),
  apiKey: z.string().min(1).optional(),
  timeoutMs: z.int().positive().optional(),
  settleTimeoutMs: z.int().positive().optional(),
  fetch: z.custom<typeof globalThis.fetch>((v) => typeof v === 'function').optional(),
});

/**
 * A facilitator over HTTP: `POST /verify`, `POST /settle`, `GET /settlements/:txid`, `GET /supported`. Every answer
 * is checked against the x402 schemas. A refusal of `verify` or `settle` is a value, whether it comes with a 2xx or a
 * 4xx (a 4xx body that is the schema with `isValid: false` / `success: false`); a 5xx, any other 4xx, a timeout or a
 * body that is not the schema throws {@link FacilitatorRequestError}, with the URL redacted (user, password, the
 * base URL's own query parameters, key-like ones, and the API key).
 *
 * @throws {ServerConfigError} at creation, when the options are invalid.
 * @example
 * ```ts
 * import { createFacilitatorClient } from 'x402-stacks/server';
 * const facilitator = createFacilitatorClient({ url: process.env.FACILITATOR_URL!, apiKey: process.env.FACILITATOR_KEY });
 * const { kinds } = await facilitator.supported();
 * ```
 */
export function createFacilitatorClient(options: FacilitatorClientOptions): FacilitatorClient {
  const parsed = OptionsSchema.safeParse(options);
  if (!parsed.success) {
    throw new ServerConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`),
    );
  }
  const { apiKey } = parsed.data;
  // fetch refuses a URL with credentials: user and password travel as Basic auth (unless an API key is given), and
  // the request URLs are built without them.
  const base = new URL(parsed.data.url);
  const user = decodeURIComponent(base.username);
  const password = decodeURIComponent(base.password);
  base.username = '';
  base.password = '';
  const basePath = base.pathname.replace(/\/+$/, '');
  // The base's own query may authenticate under any name: its parameters are hidden by name in every URL shown, and
  // their values elsewhere when long enough to be credentials, as the chain client hides its own (`querySecrets`).
  const baseParams: ReadonlySet<string> = new Set(base.searchParams.keys());
  const secrets = [
    ...(apiKey ? [apiKey, encodeURIComponent(apiKey)] : []),
    ...(password ? [password, encodeURIComponent(password)] : []),
    ...querySecrets(base),
  ];
  const redact = (text: string) => redactSecrets(redactQueryPairs(text, baseParams), secrets);
  const timeoutMs = parsed.data.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const settleTimeoutMs = parsed.data.settleTimeoutMs ?? DEFAULT_SETTLE_TIMEOUT_MS;
  // Node's own http on a keep-alive agent where the runtime has it, as the chain client does; an injected fetch
  // (tests, proxies) always wins, and the global fetch serves runtimes without node's http. The first undici fetch
  // in a process loads its HTTP parser (WebAssembly) and costs a seller about 19 MiB of resident memory for good.
  const exchangeWithin = (timeout: number): Exchange =>
    parsed.data.fetch
      ? createFetchExchange(parsed.data.fetch, base.origin, timeout)
      : (createNodeExchange(base, timeout) ??
        createFetchExchange(globalThis.fetch, base.origin, timeout));
  const exchanges = new Map([
    [timeoutMs, exchangeWithin(timeoutMs)],
    [settleTimeoutMs, exchangeWithin(settleTimeoutMs)],
  ]);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;
  else if (user || password) headers.authorization = `Basic ${utf8ToBase64(`${user}:${password}`)}`;
  // The base's query (a gateway may authenticate by it) stays on every request, as configured.
  const targetOf = (path: string) => `${basePath}${path}${base.search}`;

  async function call<T extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    schema: T,
    body: unknown,
    timeout: number,
    {
      allowNotFound = false,
      isRefusal,
    }: {
      allowNotFound?: boolean;
      /** A 4xx whose body is the schema and passes this is the facilitator's refusal, answered as a value. */
      isRefusal?: (value: z.output<T>) => boolean;
    } = {},
  ): Promise<z.output<T> | undefined> {
    const target = targetOf(path);
    // Only a failure shows the URL, so only a failure pays for redacting it. Joined as text, not resolved against
    // the base: a base path of `//x402` would read as a host.
    const where = () => `${method} ${redactUrl(base.origin + target, secrets, baseParams)}`;
    const attempt = await exchanges.get(timeout)!({
      method,
      target,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: new TextEncoder().encode(JSON.stringify(body)) }),
    });
    if (attempt.kind === 'failure') {
      throw new FacilitatorRequestError(
        'facilitator_unreachable',
        attempt.timedOut
          ? `${where()} timed out after ${timeout} ms`
          : `${where()} failed: no connection`,
        { details: redact(messageOf(attempt.error)), timedOut: attempt.timedOut },
      );
    }
    const response = { status: attempt.status, ok: attempt.status >= 200 && attempt.status < 300 };
    const { text } = attempt;
    if (allowNotFound && response.status === 404) return undefined;
    // A facilitator may answer a refusal (`isValid: false`, `success: false`) with a 4xx, as @x402/core's client
    // reads it: a body that is the schema and a refusal is that refusal. A 5xx, or a 4xx with any other body, stays
    // no usable answer.
    if (isRefusal && response.status >= 400 && response.status < 500) {
      const refusal = schema.safeParse(parseJson(text));
      if (refusal.success && isRefusal(refusal.data)) return refusal.data;
    }
    if (!response.ok) {
      throw new FacilitatorRequestError(
        'facilitator_bad_response',
        `${where()} answered ${response.status}`,
        { status: response.status, details: redact(snippet(text)) },
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new FacilitatorRequestError(
        'facilitator_bad_response',
        `${where()} answered non-JSON`,
        {
          status: response.status,
          details: redact(snippet(text)),
        },
      );
    }
    const result = schema.safeParse(json);
    if (!result.success) {
      throw new FacilitatorRequestError(
        'facilitator_bad_response',
        `${where()} answered a body that is not the x402 schema`,
        {
          status: response.status,
          metaMessages: result.error.issues
            .slice(0, 5)
            .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`),
        },
      );
    }
    return result.data;
  }

  const request = (paymentPayload: PaymentPayload, paymentRequirements: PaymentRequirements) => ({
    x402Version: 2,
    paymentPayload,
    paymentRequirements,
  });

  return {
    async verify(paymentPayload, paymentRequirements) {
      const body = request(paymentPayload, paymentRequirements);
      return (await call('POST', '/verify', VerifyResponseSchema, body, timeoutMs, {
        isRefusal: (verdict) => !verdict.isValid,
      }))!;
    },
    async settle(paymentPayload, paymentRequirements) {
      const body = request(paymentPayload, paymentRequirements);
      return (await call('POST', '/settle', SettleResponseSchema, body, settleTimeoutMs, {
        isRefusal: (settled) => !settled.success,
      }))!;
    },
    async status(txid) {
      // A txid is hex; anything else could walk the path, so it is refused before any request.
      if (!/^(0x)?[0-9a-fA-F]{64}$/.test(txid)) return undefined;
      const path = `/settlements/${txid.replace(/^0x/, '')}`;
      return call('GET', path, SettlementStatusSchema, undefined, timeoutMs, {
        allowNotFound: true,
      });
    },
    async supported() {
      return (await call('GET', '/supported', SupportedResponseSchema, undefined, timeoutMs))!;
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function messageOf(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } })?.cause;
  const code = typeof cause?.code === 'string' ? ` (${cause.code})` : '';
  return `${error instanceof Error ? error.message : String(error)}${code}`;
}

function snippet(text: string): string {
  return text.length > BODY_SNIPPET_LENGTH ? `${text.slice(0, BODY_SNIPPET_LENGTH)}…` : text;
}

/**
 * A facilitator object given by the app (the in-process engine), with its failures made the HTTP client's: anything
 * it throws (an unreachable node, a bug) becomes a {@link FacilitatorRequestError}, so the middleware answers 502
 * for it as for a service that is down.
 */
export function guardFacilitator(facilitator: FacilitatorClient): FacilitatorClient {
  const guard =
    <Args extends unknown[], Result>(
      name: string,
      call: (...args: Args) => Result | Promise<Result>,
    ) =>
    async (...args: Args): Promise<Result> => {
      try {
        return await call(...args);
      } catch (error) {
        if (error instanceof FacilitatorRequestError) throw error;
        const reason = (error as { reason?: unknown })?.reason;
        throw new FacilitatorRequestError(
          'facilitator_unreachable',
          `the facilitator's ${name} failed${typeof reason === 'string' ? ` (${reason})` : ''}`,
          { cause: error },
        );
      }
    };
  return {
    verify: guard('verify', facilitator.verify.bind(facilitator)),
    settle: guard('settle', facilitator.settle.bind(facilitator)),
    status: guard('status', facilitator.status.bind(facilitator)),
    supported: guard('supported', facilitator.supported.bind(facilitator)),
  };
}
