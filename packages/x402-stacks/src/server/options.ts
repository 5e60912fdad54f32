/**
 * The payment middleware's options, checked once when a middleware is created: shapes with zod, then the meaning
 * (network, payTo, asset, prices) with the same functions a facilitator uses. Every problem is listed at once.
 * @module
 */
import { z } from 'zod';
import { checkBazaarDeclaration } from '../extensions/bazaar/check.js';
import { type BazaarRouteConfig, declareBazaar } from '../extensions/bazaar/declare.js';
import type { BazaarDeclaration } from '../extensions/bazaar/info.js';
import { bindSigner, type OfferReceiptSigner } from '../extensions/offer-receipt/signer.js';
import type { PaymentRequirements } from '../protocol/v2.js';
import { addressFromHash160, parseStacksAddress } from '../stacks/address.js';
import { KNOWN_TOKENS, type ResolveAssetOptions, resolveAsset } from '../stacks/assets.js';
import { resolveNetwork, type StacksNetwork, type StacksNetworkInput } from '../stacks/networks.js';
import { ServerConfigError } from './errors.js';
import {
  createFacilitatorClient,
  type FacilitatorClient,
  guardFacilitator,
} from './facilitator-client.js';
import type { ResolvedOfferReceipt } from './offer-receipt.js';
import type { Payment } from './payment.js';
import {
  type PriceFunction,
  type Prices,
  priceRequirements,
  type RequirementBase,
} from './pricing.js';
import {
  createSiwxGate,
  type SignInWithXOptions,
  SignInWithXOptionsSchema,
  type SiwxGate,
} from './siwx-gate.js';

/**
 * When the payment is settled relative to the route's handler.
 * @example
 * ```ts
 * const settle: SettleOrder = 'after-handler'; // verify, run the handler, settle, then send
 * ```
 */
export type SettleOrder = 'before-handler' | 'after-handler';

/**
 * What a 402 carries in its body: the v2 challenge, or the flat x402-stacks 1.x request.
 * @example
 * ```ts
 * paymentMiddleware({ amount: '1000', payTo, network: 'testnet', facilitatorUrl, challengeBody: 'x402-stacks-v1' });
 * ```
 */
export type ChallengeBody = 'x402' | 'x402-stacks-v1';

/**
 * Options of `paymentMiddleware`, for Express, Hono or the framework-free core. `Request` is what a pricing function
 * receives: Express's `req`, Hono's `c`.
 *
 * @example
 * ```ts
 * const options: PaymentMiddlewareOptions<Request> = {
 *   amount: STXtoMicroSTX('0.001'),
 *   payTo: 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5',
 *   network: 'testnet',
 *   facilitatorUrl: 'http://127.0.0.1:8085',
 * };
 * ```
 */
export type PaymentMiddlewareOptions<Request = unknown> = {
  /**
   * The price in atomic units: a digit string, a bigint or a safe integer; `{ amount, asset }`; a list of these (one
   * `accepts[]` entry each); or a function of the request returning any of them, sync or async.
   */
  amount: Prices | PriceFunction<Request>;
  /** The seller's Stacks address (or contract principal), on `network`. */
  payTo: string;
  /** `'mainnet'`, `'testnet'`, or CAIP-2 (`'stacks:1'`, `'stacks:2147483648'`). */
  network: StacksNetworkInput;
  /** The facilitator service's base URL. Give this or `facilitator`. */
  facilitatorUrl?: string;
  /** Sent to `facilitatorUrl` as `Authorization: Bearer <key>`. */
  facilitatorApiKey?: string;
  /** A facilitator object instead of a URL: the in-process engine (`createFacilitator`) or a `createFacilitatorClient`. */
  facilitator?: FacilitatorClient;
  /** The asset of prices that name none: `'STX'` (default), `'sBTC'`, `'USDCx'` or a SIP-010 contract id. */
  asset?: string;
  /** Human-readable description, in `resource.description`. */
  description?: string;
  /** The MIME type of the paid response, in `resource.mimeType`. */
  mimeType?: string;
  /** The resource URL announced in the 402. Default: the request's origin and path, without the query. */
  resource?: string;
  /** A name for the API, top-level in the 402 (and `resource.serviceName` when it fits 32 characters), for x402scan. */
  name?: string;
  /** The route's input/output description (`{ input: { type: 'http', method }, output }`), top-level in the 402. */
  outputSchema?: Record<string, unknown>;
  /**
   * The bazaar extension: how to call this route and what it answers, sent in the 402 as `extensions.bazaar` and
   * handed to the facilitator with each payment, so facilitators and directories can list the route. Either the
   * route's description (`{ method, bodyType, input: { example, schema }, output: { example, schema } }`, built with
   * `declareBazaar`) or a ready `{ info, schema }` entry, such as `declareDiscoveryExtension(…).bazaar` of
   * `@x402/extensions`. Checked at startup (shape, at most 16 KiB, no external `$ref`).
   */
  discovery?:
    | BazaarRouteConfig
    | { info: Record<string, unknown>; schema: Record<string, unknown> };
  /** How long a payment may take, in seconds. Default 300. */
  maxTimeoutSeconds?: number;
  /** Extra scheme parameters copied into every `accepts[].extra`. An explicit `sponsor` here wins over `sponsored`. */
  extra?: Record<string, unknown>;
  /**
   * Offer fee sponsorship when the facilitator's `/supported` names a sponsor for this network (copied into
   * `accepts[].extra.sponsor`, so buyers sign with fee 0). Default `true`; `false` never asks `/supported`.
   */
  sponsored?: boolean;
  /** Default `'before-handler'`: settle, then run the handler. `'after-handler'`: verify, run, settle, then send. */
  settle?: SettleOrder;
  /** Polling of `GET /settlements/:txid` after `settlement_pending`: default 5 attempts, 1,000 ms apart. */
  settlementPending?: { attempts?: number; intervalMs?: number };
  /** Timeout of facilitator calls over HTTP, in ms (`settle` gets `max(this, 75,000)`). Default 10,000. */
  facilitatorTimeoutMs?: number;
  /**
   * Decides, per payment, whether to take it: called with the verified payment (payer, amount, asset) before anything
   * is settled; `false` answers 402 `payment_refused` and charges nothing. For allow-lists, per-payer limits, or a
   * conditional price. With a validator, `before-handler` verifies before it settles.
   */
  paymentValidator?: (payment: Payment) => boolean | Promise<boolean>;
  /**
   * The 402 body. `'x402'` (default): the same v2 JSON as the `payment-required` header. `'x402-stacks-v1'`: the flat
   * body x402-stacks 1.x clients read (`withPaymentInterceptor` of x402-stacks 2.0), for the first STX, sBTC or USDCx
   * entry; the header stays the v2 challenge, so v2 clients are served alike.
   */
  challengeBody?: ChallengeBody;
  /**
   * The `payment-identifier` extension, declared in the 402's `extensions`: buyers name each payment with an id of
   * their own and send the same id when they retry it, so a retry after a lost response is served on the one payment
   * (the facilitator answers it with the stored outcome). Default `true` (declared, `required: false`).
   * `{ required: true }` refuses a payment without an id (400 `payment_identifier_required`); `false` leaves it out.
   */
  paymentIdentifier?: boolean | { required?: boolean };
  /**
   * Offer `sign-in-with-x` in the 402 and serve, without a new payment, a buyer whose signed proof names an address
   * that paid this route (or its `scope`) within `accessMs`. Each settled payment is recorded for it. See
   * {@link SignInWithXOptions}.
   */
  signInWithX?: SignInWithXOptions;
  /**
   * Sign each offer of the 402 and the receipt of each settled payment with SIP-018 (the `offer-receipt` extension),
   * so a buyer can prove what it was offered and what it paid. See {@link OfferReceiptOptions}.
   */
  offerReceipt?: OfferReceiptOptions;
  /**
   * Offer batch-settlement beside `exact` when the facilitator's `/supported` serves it on this network: buyers
   * deposit into an escrow channel once, then pay each request with a signed voucher, charged off chain after the
   * handler succeeded (whatever `settle` says), at most the price; `getPayment(req).charge(amount)` charges less.
   * `withdrawDelay` (burn blocks, 6 to 4,320; default 144, about a day) is how long a payer who leaves without the
   * seller waits, so how long the facilitator has to claim; `minDeposit` (atomic, default 100 × the price) is the
   * deposit suggested to buyers. `true` takes the defaults. Default: not offered.
   */
  batch?: boolean | BatchRouteOptions;
  /** `'exact'` (default) is always offered; accepted for compatibility with x402-stacks 2.0 options. */
  scheme?: 'exact';
  /** The x402-stacks 2.0 spelling of `asset`: `'STX'`, `'sBTC'` or `'USDCx'`. */
  tokenType?: string;
  /** The x402-stacks 2.0 spelling of a token `asset`: `{ address, name }` or `'<address>.<name>'`. */
  tokenContract?: { address: string; name: string } | string;
  /**
   * Token contract overrides: `{ contracts: { sBTC: '<id>' } }` makes `'sBTC'` mean that contract on this route and
   * reads it as sBTC in payments (another testnet sBTC, such as Hiro's older `ST1F7QA2…GWXT.sbtc-token`).
   */
  tokens?: ResolveAssetOptions;
};

/**
 * The `batch` option.
 * @example
 * ```ts
 * paymentMiddleware({ amount: '1000', payTo, network: 'testnet', facilitatorUrl, batch: { minDeposit: '500000' } });
 * ```
 */
export type BatchRouteOptions = {
  /** Burn blocks, 6 to 4,320. Default 144. */
  withdrawDelay?: number;
  /** The deposit suggested to buyers, atomic units of the price's asset. Default 100 × the price. */
  minDeposit?: bigint | string | number;
};

/**
 * The `offerReceipt` option: who signs, and under which service name.
 * @example
 * ```ts
 * paymentMiddleware({ amount: '1000', payTo, network: 'mainnet', facilitatorUrl,
 *   offerReceipt: { signer: process.env.SELLER_SIGNING_KEY! } });
 * ```
 */
export type OfferReceiptOptions = {
  /**
   * A private key (hex), an account, or `{ address, sign }` to sign elsewhere (a KMS, a wallet). Buyers check the
   * signature against `payTo` unless told another address, so sign with the payTo key when you can.
   */
  signer: OfferReceiptSigner;
  /** The SIP-018 domain name: printable ASCII, at most 128 characters. Default: the resource URL's host. */
  serviceName?: string;
  /** How long a signed offer is good for, in seconds. Default: the route's `maxTimeoutSeconds`. */
  offerValiditySeconds?: number;
  /**
   * The most offers signed per second, all resource URLs together (each `accepts[]` entry is one signature; cached
   * offers cost none). Past it a 402 goes out unsigned until the budget refills, so unpaid requests for ever new
   * URLs cannot make the seller sign, or call its remote signer, without bound. Default 100.
   */
  maxOfferSignaturesPerSecond?: number;
  /**
   * How long one signing is waited for, in ms (1 to 60,000). Past it the 402 goes out unsigned and a settled payment
   * is served without a receipt, so a remote signer that never answers cannot hold the sale. Default 5,000.
   */
  signerTimeoutMs?: number;
};

/**
 * The v1 options: the seller's address is `address` (v2: `payTo`).
 * @example
 * ```ts
 * const v1: PaymentMiddlewareOptionsV1 = { amount: '1000', address: SELLER, network: 'testnet', facilitatorUrl };
 * ```
 */
export type PaymentMiddlewareOptionsV1<Request = unknown> = Omit<
  PaymentMiddlewareOptions<Request>,
  'payTo'
> & {
  /** The seller's Stacks address (the v1 name of `payTo`). */
  address: string;
  /** Accepted too; it must then equal `address`. */
  payTo?: string;
};

/**
 * v1 options as v2 options.
 * @throws {ServerConfigError} when `address` and `payTo` are both given and differ.
 * @example
 * ```ts
 * fromV1Options({ amount: '1000', address: SELLER, network: 'testnet', facilitatorUrl }).payTo; // SELLER
 * ```
 */
export function fromV1Options<Request>(
  options: PaymentMiddlewareOptionsV1<Request>,
): PaymentMiddlewareOptions<Request> {
  const { address, payTo, ...rest } = options ?? ({} as PaymentMiddlewareOptionsV1<Request>);
  if (payTo !== undefined && address !== undefined && payTo !== address) {
    throw new ServerConfigError(['address: address (v1) and payTo (v2) name different addresses']);
  }
  return { ...rest, payTo: address ?? payTo } as PaymentMiddlewareOptions<Request>;
}

/** Options after checking: what the core works from. */
export type ResolvedOptions<Request> = {
  readonly base: RequirementBase;
  /** The entries of a static price, built once. */
  readonly staticAccepts: readonly PaymentRequirements[] | undefined;
  readonly priceFunction: PriceFunction<Request> | undefined;
  readonly facilitator: FacilitatorClient;
  readonly settleOrder: SettleOrder;
  readonly sponsored: boolean;
  readonly resource: string | undefined;
  readonly description: string | undefined;
  readonly mimeType: string | undefined;
  readonly name: string | undefined;
  readonly outputSchema: Record<string, unknown> | undefined;
  /** The route's checked bazaar declaration. */
  readonly bazaar: BazaarDeclaration | undefined;
  readonly pendingAttempts: number;
  readonly pendingIntervalMs: number;
  readonly paymentValidator: ((payment: Payment) => boolean | Promise<boolean>) | undefined;
  readonly challengeBody: ChallengeBody;
  /** The `payment-identifier` declaration, or undefined when the route leaves the extension out. */
  readonly paymentIdentifier: { readonly required: boolean } | undefined;
  readonly signInWithX: SiwxGate | undefined;
  readonly offerReceipt: ResolvedOfferReceipt | undefined;
  /** batch-settlement, when offered: the withdraw delay and the suggested deposit (undefined: 100 × the price). */
  readonly batch:
    | { readonly withdrawDelay: number; readonly minDeposit: bigint | undefined }
    | undefined;
};

const isFunction = (value: unknown) => typeof value === 'function';
const FacilitatorSchema = z.custom<FacilitatorClient>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    ['verify', 'settle', 'status', 'supported'].every((key) =>
      isFunction((value as Record<string, unknown>)[key]),
    ),
  {
    error:
      'expected an object with verify, settle, status and supported (createFacilitator or createFacilitatorClient)',
  },
);

const OptionsSchema = z.object({
  amount: z
    .unknown()
    .refine((value) => value !== undefined && value !== null, 'amount is required'),
  payTo: z.string({ error: 'payTo is required: the seller’s Stacks address' }).min(1),
  network: z.string({ error: "network is required: 'mainnet', 'testnet' or a CAIP-2 id" }).min(1),
  facilitatorUrl: z
    .url({ protocol: /^https?$/, error: 'expected an http or https URL' })
    .optional(),
  facilitatorApiKey: z.string().min(1).optional(),
  facilitator: FacilitatorSchema.optional(),
  asset: z.string().min(1).optional(),
  description: z.string().optional(),
  mimeType: z.string().optional(),
  resource: z.url({ error: 'expected an absolute URL' }).optional(),
  name: z.string().trim().min(1).max(64).optional(),
  outputSchema: z.record(z.string(), z.unknown()).optional(),
  discovery: z.record(z.string(), z.unknown()).optional(),
  maxTimeoutSeconds: z.int().positive().max(86_400).optional(),
  extra: z.record(z.string(), z.unknown()).optional(),
  sponsored: z.boolean().optional(),
  settle: z.enum(['before-handler', 'after-handler']).optional(),
  settlementPending: z
    .object({
      attempts: z.int().nonnegative().max(600).optional(),
      intervalMs: z.int().positive().max(60_000).optional(),
    })
    .optional(),
  facilitatorTimeoutMs: z.int().positive().optional(),
  paymentValidator: z
    .custom<(payment: Payment) => boolean>((value) => typeof value === 'function', {
      error: 'expected a function of the payment',
    })
    .optional(),
  challengeBody: z.enum(['x402', 'x402-stacks-v1']).optional(),
  paymentIdentifier: z
    .union([z.boolean(), z.strictObject({ required: z.boolean().optional() })], {
      error: 'expected true, false or { required: boolean }',
    })
    .optional(),
  signInWithX: SignInWithXOptionsSchema.optional(),
  batch: z
    .union([
      z.boolean(),
      z.strictObject({
        withdrawDelay: z.int().min(6).max(4320).optional(),
        minDeposit: z
          .union([z.bigint().positive(), z.string().regex(/^[1-9][0-9]*$/), z.int().positive()])
          .optional(),
      }),
    ])
    .optional(),
  offerReceipt: z
    .object({
      signer: z.custom<OfferReceiptSigner>(
        (value) =>
          typeof value === 'string' ||
          (typeof value === 'object' &&
            value !== null &&
            ('privateKey' in value ||
              (typeof (value as { sign?: unknown }).sign === 'function' &&
                typeof (value as { address?: unknown }).address === 'string'))),
        { error: 'expected a private key, an account, or { address, sign }' },
      ),
      serviceName: z
        .string()
        .regex(/^[\x20-\x7e]{1,128}$/, 'expected 1 to 128 printable ASCII characters')
        .optional(),
      offerValiditySeconds: z.int().positive().max(86_400).optional(),
      maxOfferSignaturesPerSecond: z.int().positive().max(100_000).optional(),
      signerTimeoutMs: z.int().min(1).max(60_000).optional(),
    })
    .optional(),
  scheme: z.literal('exact', { error: "the only scheme is 'exact'" }).optional(),
  tokenType: z.string().min(1).optional(),
  tokenContract: z
    .union([z.string().min(1), z.object({ address: z.string().min(1), name: z.string().min(1) })])
    .optional(),
  tokens: z
    .object({
      contracts: z
        .partialRecord(
          z.enum(Object.keys(KNOWN_TOKENS) as [keyof typeof KNOWN_TOKENS]),
          z.string().min(1),
        )
        .optional(),
      assetName: z.string().min(1).optional(),
      decimals: z.int().nonnegative().max(38).optional(),
    })
    .strict()
    .optional(),
});

/**
 * Checks the options and resolves what can be resolved once.
 * @throws {ServerConfigError} listing every problem.
 */
export function resolveOptions<Request>(
  options: PaymentMiddlewareOptions<Request>,
): ResolvedOptions<Request> {
  const parsed = OptionsSchema.safeParse(options ?? {});
  const issues: string[] = parsed.success
    ? []
    : parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
  const given = (options ?? {}) as Partial<PaymentMiddlewareOptions<Request>>;

  if (given.facilitatorUrl === undefined && given.facilitator === undefined) {
    issues.push('facilitatorUrl: give facilitatorUrl or facilitator');
  }
  if (given.facilitatorUrl !== undefined && given.facilitator !== undefined) {
    issues.push('facilitator: give facilitatorUrl or facilitator, not both');
  }
  if (given.facilitatorApiKey !== undefined && given.facilitatorUrl === undefined) {
    issues.push('facilitatorApiKey: only used with facilitatorUrl');
  }

  let network: StacksNetwork | undefined;
  if (typeof given.network === 'string') {
    try {
      network = resolveNetwork(given.network, { payTo: given.payTo });
    } catch (error) {
      issues.push(`network: ${shortMessageOf(error)}`);
    }
  }
  let payToValid = false;
  if (network && typeof given.payTo === 'string' && given.payTo !== '') {
    try {
      // A contract principal (`SP….name`) may receive too; its address part must be on the network.
      parseStacksAddress(given.payTo.split('.')[0]!, network);
      payToValid = true;
    } catch (error) {
      issues.push(`payTo: ${shortMessageOf(error)}`);
    }
  }
  const tokens = network ? tokensOf(given.tokens, network, issues) : undefined;
  let asset = assetOf(given, issues);
  if (network) {
    try {
      resolveAsset(asset, network, tokens);
    } catch (error) {
      issues.push(`asset: ${shortMessageOf(error)}`);
      // Reported once here; the prices are checked in STX rather than each repeating it.
      asset = 'STX';
    }
  }
  const sponsor = given.extra?.sponsor;
  if (network && sponsor !== undefined) {
    try {
      parseStacksAddress(String(sponsor), network);
    } catch (error) {
      issues.push(`extra.sponsor: ${shortMessageOf(error)}`);
    }
  }

  const base: RequirementBase | undefined =
    network && payToValid
      ? {
          network,
          payTo: given.payTo!,
          asset,
          maxTimeoutSeconds: given.maxTimeoutSeconds ?? 300,
          extra: given.extra,
          ...(tokens ? { tokens } : {}),
        }
      : undefined;
  const priceFunction = typeof given.amount === 'function' ? given.amount : undefined;
  let staticAccepts: PaymentRequirements[] | undefined;
  if (!priceFunction && given.amount !== undefined && given.amount !== null) {
    // With the network or payTo wrong (already reported), the prices are still checked, against a stand-in seller,
    // so one run lists their problems too.
    const priced = priceRequirements(given.amount, base ?? standInBase(network, asset));
    if (priced.ok) staticAccepts = priced.accepts;
    else issues.push(...priced.problems);
  }

  const bazaar = bazaarOf(given.discovery, issues);
  let signInWithX: SiwxGate | undefined;
  if (parsed.success && network && given.signInWithX !== undefined) {
    const resolved = createSiwxGate(given.signInWithX, network, given.resource);
    if ('gate' in resolved) signInWithX = resolved.gate;
    else issues.push(...resolved.problems);
  }
  const offerReceipt = network ? offerReceiptOf(given.offerReceipt, network, issues) : undefined;

  let facilitator = given.facilitator ? guardFacilitator(given.facilitator) : undefined;
  if (issues.length === 0 && given.facilitatorUrl !== undefined) {
    const timeoutMs = given.facilitatorTimeoutMs;
    facilitator = createFacilitatorClient({
      url: given.facilitatorUrl,
      ...(given.facilitatorApiKey ? { apiKey: given.facilitatorApiKey } : {}),
      ...(timeoutMs ? { timeoutMs, settleTimeoutMs: Math.max(timeoutMs, 75_000) } : {}),
    });
  }
  if (issues.length > 0 || !base || !facilitator) throw new ServerConfigError(issues);

  return {
    base,
    staticAccepts,
    priceFunction,
    facilitator,
    settleOrder: given.settle ?? 'before-handler',
    sponsored: given.sponsored ?? true,
    resource: given.resource,
    description: given.description,
    mimeType: given.mimeType,
    name: given.name?.trim(),
    outputSchema: given.outputSchema,
    bazaar,
    pendingAttempts: given.settlementPending?.attempts ?? 5,
    pendingIntervalMs: given.settlementPending?.intervalMs ?? 1_000,
    paymentValidator: given.paymentValidator,
    challengeBody: given.challengeBody ?? 'x402',
    paymentIdentifier: paymentIdentifierOf(given.paymentIdentifier),
    signInWithX,
    offerReceipt,
    batch: batchOf(given.batch),
  };
}

function batchOf(
  given: boolean | BatchRouteOptions | undefined,
): ResolvedOptions<unknown>['batch'] {
  if (given === undefined || given === false) return undefined;
  const options = given === true ? {} : given;
  return {
    withdrawDelay: options.withdrawDelay ?? 144,
    minDeposit: options.minDeposit === undefined ? undefined : BigInt(options.minDeposit),
  };
}

/**
 * The token overrides, once each override is a contract id of the route's network (a mainnet sBTC id on a testnet
 * route would otherwise pass here and be refused by every facilitator).
 */
function tokensOf(
  given: ResolveAssetOptions | undefined,
  network: StacksNetwork,
  issues: string[],
): ResolveAssetOptions | undefined {
  if (given === undefined || given === null || typeof given !== 'object') return undefined;
  let valid = true;
  for (const [symbol, contractId] of Object.entries(given.contracts ?? {})) {
    if (typeof contractId !== 'string') continue; // the schema has reported it
    try {
      resolveAsset(contractId, network);
    } catch (error) {
      issues.push(`tokens.contracts.${symbol}: ${shortMessageOf(error)}`);
      valid = false;
    }
  }
  return valid ? given : undefined;
}

/** The signer bound to the network once (a key's address depends on it); a bad key is reported, never echoed. */
function offerReceiptOf(
  option: OfferReceiptOptions | undefined,
  network: StacksNetwork,
  issues: string[],
): ResolvedOfferReceipt | undefined {
  if (option === undefined || option === null || typeof option !== 'object') return undefined;
  if (issues.some((issue) => issue.startsWith('offerReceipt'))) return undefined;
  try {
    return {
      signer: bindSigner(option.signer, network.caip2),
      serviceName: option.serviceName,
      offerValiditySeconds: option.offerValiditySeconds,
      maxOfferSignaturesPerSecond: option.maxOfferSignaturesPerSecond ?? 100,
      signerTimeoutMs: option.signerTimeoutMs ?? 5_000,
    };
  } catch (error) {
    issues.push(`offerReceipt.signer: ${shortMessageOf(error)}`);
    return undefined;
  }
}

/** The route's asset from `asset`, or from the 2.0 spelling `tokenContract` / `tokenType`; they must agree. */
function assetOf(
  given: Partial<Pick<PaymentMiddlewareOptions, 'asset' | 'tokenType' | 'tokenContract'>>,
  issues: string[],
): string {
  const { tokenContract, tokenType } = given;
  const legacy =
    typeof tokenContract === 'object' && tokenContract !== null
      ? `${tokenContract.address}.${tokenContract.name}`
      : (tokenContract ?? tokenType);
  if (typeof given.asset === 'string' && typeof legacy === 'string' && legacy !== given.asset) {
    issues.push(
      `tokenType: asset '${given.asset}' and tokenType/tokenContract '${legacy}' disagree`,
    );
  }
  const asset = given.asset ?? legacy;
  return typeof asset === 'string' ? asset : 'STX';
}

function paymentIdentifierOf(
  option: PaymentMiddlewareOptions['paymentIdentifier'],
): ResolvedOptions<unknown>['paymentIdentifier'] {
  if (option === false) return undefined;
  return { required: typeof option === 'object' && option.required === true };
}

/** The route's bazaar declaration, built from the seller's description unless given ready, and checked. */
function bazaarOf(
  discovery: PaymentMiddlewareOptions['discovery'],
  issues: string[],
): BazaarDeclaration | undefined {
  if (discovery === undefined || discovery === null || typeof discovery !== 'object')
    return undefined;
  let entry: unknown;
  try {
    entry = 'info' in discovery ? discovery : declareBazaar(discovery as BazaarRouteConfig);
  } catch (error) {
    issues.push(`discovery: ${shortMessageOf(error)}`);
    return undefined;
  }
  const checked = checkBazaarDeclaration(entry);
  if (!checked.ok) {
    issues.push(`discovery: ${checked.reason}: ${checked.message}`);
    return undefined;
  }
  return checked.declaration;
}

function standInBase(network: StacksNetwork | undefined, asset: string): RequirementBase {
  const on = network ?? resolveNetwork('testnet');
  return {
    network: on,
    payTo: addressFromHash160(on.addressVersion.singleSig, '00'.repeat(20)),
    asset,
    maxTimeoutSeconds: 300,
    extra: undefined,
  };
}

function shortMessageOf(error: unknown): string {
  if (error && typeof error === 'object' && 'shortMessage' in error) {
    const { shortMessage, details } = error as { shortMessage: string; details?: string };
    return details ? `${shortMessage} (${details})` : shortMessage;
  }
  return error instanceof Error ? error.message : String(error);
}
