import { randomUUID } from 'node:crypto';
/**
 * The facilitator's resolved configuration and shared parts, built once from `FacilitatorOptions` and handed to every
 * step (verify, settle, sponsor, track, keeper). Every problem in the options is reported at once, as a
 * `FacilitatorConfigError`.
 * @module
 */
import { type ChainClient, createChainClient } from '../chain/client.js';
import { privateKeyToAccount } from '../stacks/accounts.js';
import { isValidStacksAddress } from '../stacks/address.js';
import type { ResolveAssetOptions } from '../stacks/assets.js';
import {
  resolveNetwork,
  type StacksNetwork,
  type StacksNetworkId,
  type StacksNetworkName,
} from '../stacks/networks.js';
import type { CheckPaymentOptions, PostConditionPolicy } from '../stacks/payment/check.js';
import { type ChainStateReader, createChainStateReader } from './chain-state.js';
import { createDiscovery, type Discovery } from './discovery.js';
import { FacilitatorConfigError } from './errors.js';
import type { Ledger, SponsorLimits } from './ledger.js';
import { InMemoryLedger } from './memory-ledger.js';
import { createNonceWatch, type NonceWatch } from './nonce-watch.js';
import { type OfflineChecks, rememberOfflineChecks } from './offline-checks.js';
import type { FacilitatorOptions } from './options.js';
import type { SettleStepObserver } from './settle-steps.js';

/** One served network and the client of its node. */
export type NetworkChain = { readonly network: StacksNetwork; readonly chain: ChainClient };

/** The sponsor settings, with defaults applied. */
export type SponsorSettings = {
  readonly privateKeys: readonly string[];
  readonly maxFee: bigint;
  readonly feePerByte: bigint | undefined;
  readonly limits: SponsorLimits;
  readonly allowedPayTo: ReadonlySet<string> | undefined;
  readonly minBalance: bigint;
  readonly gapFillDelayMs: number;
};

/** The `payment-identifier` settings, with defaults applied. */
export type PaymentIdSettings = {
  readonly windowMs: number;
  readonly maxReplays: number;
  /**
   * How long after its first use the id of a payment that may still be served is kept: a day, or the window when
   * longer (`Ledger.prunePaymentIds`).
   */
  readonly keepUnservedMs: number;
  /** The ledger's `payment-identifier` methods, present together. */
  readonly ledger: Required<
    Pick<Ledger, 'bindPaymentId' | 'paymentIdBinding' | 'replayPaymentId' | 'prunePaymentIds'>
  >;
};

/** Everything the steps share. */
export type FacilitatorContext = {
  readonly ledger: Ledger;
  readonly chains: ReadonlyMap<StacksNetworkId, NetworkChain>;
  readonly settleTimeoutMs: number;
  readonly pollIntervalMs: number;
  readonly trackForMs: number;
  readonly claimLeaseMs: number;
  readonly maxNonceAhead: bigint;
  /** The settlements waiting for their payers' earlier nonces, at most `maxNonceWaits` at once. */
  readonly nonceWatch: NonceWatch;
  readonly sponsor: SponsorSettings | undefined;
  /** Undefined when turned off, or when the ledger lacks the `payment-identifier` methods. */
  readonly paymentIds: PaymentIdSettings | undefined;
  readonly keeperIntervalMs: number;
  /** This engine's id in the ledger: its claims carry it, and its keeper renews the lease `process:<processId>`. */
  readonly processId: string;
  /** How long a lease taken by the keeper (its own per network, and the process's) lasts unless renewed. */
  readonly leaseMs: number;
  readonly rebroadcastAfterMs: number;
  readonly chainState: ChainStateReader;
  /** The bazaar catalog; `undefined` when turned off. */
  readonly discovery: Discovery | undefined;
  /** The options every offline check of a payment takes. */
  readonly checkOptions: CheckPaymentOptions;
  /** The offline check with these options, remembered for payments checked before (`offline-checks.ts`). */
  readonly offlineCheck: OfflineChecks;
  /** Hears each settle step's time (`settle-steps.ts`); undefined: nobody listens, and nothing is timed. */
  readonly onSettleStep: SettleStepObserver | undefined;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
};

/**
 * The cut-off for `Ledger.expireClaim`: claims last updated before it are at least `claimLeaseMs` old, so their holder
 * died or gave up.
 */
export function abandonedBefore(context: FacilitatorContext): number {
  return context.now() - context.claimLeaseMs + 1;
}

/** Room for a few dozen buyers chaining payments at once; a payer stalling on purpose holds one read a second. */
const DEFAULT_MAX_NONCE_WAITS = 64;

/** The node's limit on one account's chained pending transactions. */
export const MEMPOOL_CHAIN_LIMIT = 25n;

/**
 * The sponsor limits a facilitator applies when its options name none: per payer, 10 sponsored payments in flight
 * and 1 STX of fees, 100 STX of fees in all, 1 failure, over an hour.
 * @example
 * ```ts
 * const perPayer = DEFAULT_SPONSOR_LIMITS.maxFeesPerPayer; // 1_000_000n µSTX, unless `sponsor.limits` says otherwise
 * ```
 */
export const DEFAULT_SPONSOR_LIMITS: SponsorLimits = Object.freeze({
  maxInFlightPerPayer: 10,
  maxFeesPerPayer: 1_000_000n,
  maxFeesTotal: 100_000_000n,
  maxFailedPerPayer: 1,
  windowMs: 60 * 60_000,
});

/**
 * Resolves the options, or throws listing every problem.
 * @throws {FacilitatorConfigError}
 * @example
 * ```ts
 * const context = createContext({ networks: { testnet: { url: 'http://127.0.0.1:3999' } } });
 * ```
 */
export function createContext(options: FacilitatorOptions): FacilitatorContext {
  const issues: string[] = [];
  const chains = new Map<StacksNetworkId, NetworkChain>();
  for (const [name, connection] of Object.entries(options.networks ?? {})) {
    if (!connection) continue;
    try {
      const network = resolveNetwork(name as StacksNetworkName);
      const blockEvents = 'chain' in connection ? undefined : connection.blockEvents;
      if (blockEvents !== undefined && typeof blockEvents !== 'boolean') {
        issues.push(`networks.${name}.blockEvents: expected true or false`);
        continue;
      }
      const chain =
        'chain' in connection
          ? connection.chain
          : createChainClient({
              network,
              ...(connection.url ? { url: connection.url } : {}),
              ...(connection.apiKey ? { apiKey: connection.apiKey } : {}),
              ...(blockEvents === undefined ? {} : { blockEvents }),
            });
      chains.set(network.caip2, { network, chain });
    } catch (error) {
      issues.push(
        `networks.${name}: ${error instanceof Error ? error.message.split('\n')[0] : error}`,
      );
    }
  }
  if (chains.size === 0 && issues.length === 0)
    issues.push('networks: name at least one network (mainnet or testnet)');

  const settleTimeoutMs = duration(options.settleTimeoutMs, 60_000, 'settleTimeoutMs', issues);
  const keeperIntervalMs = duration(options.keeper?.intervalMs, 2_000, 'keeper.intervalMs', issues);
  const sponsor = options.sponsor ? sponsorSettings(options.sponsor, issues) : undefined;
  const maxNonceAhead = options.maxNonceAhead ?? MEMPOOL_CHAIN_LIMIT;
  if (maxNonceAhead < 0n || maxNonceAhead > MEMPOOL_CHAIN_LIMIT)
    issues.push(`maxNonceAhead: expected 0 to ${MEMPOOL_CHAIN_LIMIT}, got ${maxNonceAhead}`);
  const maxNonceWaits = options.maxNonceWaits ?? DEFAULT_MAX_NONCE_WAITS;
  if (!Number.isSafeInteger(maxNonceWaits) || maxNonceWaits < 0)
    issues.push(`maxNonceWaits: expected a non-negative integer, got ${maxNonceWaits}`);
  const ledger = options.ledger ?? new InMemoryLedger();
  const checkOptions = checkOptionsOf(options.postConditionPolicy, options.maxFee, options.tokens);
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const pollIntervalMs = duration(options.pollIntervalMs, 1_000, 'pollIntervalMs', issues);
  const context: FacilitatorContext = {
    ledger,
    paymentIds: paymentIdSettings(options.paymentIdentifier, ledger, issues),
    chains,
    settleTimeoutMs,
    pollIntervalMs,
    trackForMs: duration(options.trackForMs, 30 * 60_000, 'trackForMs', issues),
    claimLeaseMs: duration(options.claimLeaseMs, settleTimeoutMs + 30_000, 'claimLeaseMs', issues),
    maxNonceAhead,
    nonceWatch: createNonceWatch({
      maxWaiting: maxNonceWaits,
      maxIntervalMs: pollIntervalMs,
      now,
      sleep,
    }),
    sponsor,
    keeperIntervalMs,
    processId: randomUUID(),
    leaseMs: Math.max(3 * keeperIntervalMs, 5_000),
    rebroadcastAfterMs: duration(
      options.keeper?.rebroadcastAfterMs,
      15_000,
      'keeper.rebroadcastAfterMs',
      issues,
    ),
    chainState: createChainStateReader(
      duration(options.verifyCacheMs, 0, 'verifyCacheMs', issues, true),
      now,
    ),
    discovery: createDiscovery(options.discovery, now, issues),
    checkOptions,
    offlineCheck: rememberOfflineChecks(checkOptions),
    onSettleStep: options.onSettleStep,
    now,
    sleep,
  };
  // A live settle may wait up to settleTimeoutMs in the claimed state (a chained nonce): a shorter lease would let a
  // retry take its payment over while it still runs.
  if (context.claimLeaseMs < context.settleTimeoutMs)
    issues.push('claimLeaseMs: expected at least settleTimeoutMs');
  if (issues.length > 0) throw new FacilitatorConfigError(issues);
  return context;
}

/** A 10-minute window and 3 replays: room for a buyer's retries after a lost response, little for a replayer. */
const DEFAULT_PAYMENT_ID_WINDOW_MS = 10 * 60_000;
const DEFAULT_PAYMENT_ID_MAX_REPLAYS = 3;
/**
 * A buyer told `settlement_pending` retries under its id once the payment confirms, which a congested mempool can put
 * off for hours: the id of a payment not served yet is kept a day.
 */
const UNSERVED_PAYMENT_ID_MS = 24 * 60 * 60_000;

function paymentIdSettings(
  options: FacilitatorOptions['paymentIdentifier'],
  ledger: Ledger,
  issues: string[],
): PaymentIdSettings | undefined {
  if (options === false) return undefined;
  const windowMs = duration(
    options?.windowMs,
    DEFAULT_PAYMENT_ID_WINDOW_MS,
    'paymentIdentifier.windowMs',
    issues,
  );
  const maxReplays = options?.maxReplays ?? DEFAULT_PAYMENT_ID_MAX_REPLAYS;
  if (!Number.isSafeInteger(maxReplays) || maxReplays < 0) {
    issues.push('paymentIdentifier.maxReplays: expected a non-negative integer');
  }
  const { bindPaymentId, paymentIdBinding, replayPaymentId, prunePaymentIds } = ledger;
  if (!bindPaymentId || !paymentIdBinding || !replayPaymentId || !prunePaymentIds) return undefined;
  return {
    windowMs,
    maxReplays,
    keepUnservedMs: Math.max(windowMs, UNSERVED_PAYMENT_ID_MS),
    ledger: {
      bindPaymentId: bindPaymentId.bind(ledger),
      paymentIdBinding: paymentIdBinding.bind(ledger),
      replayPaymentId: replayPaymentId.bind(ledger),
      prunePaymentIds: prunePaymentIds.bind(ledger),
    },
  };
}

function sponsorSettings(
  options: NonNullable<FacilitatorOptions['sponsor']>,
  issues: string[],
): SponsorSettings {
  const privateKeys = [options.privateKeys].flat().filter((key) => typeof key === 'string');
  if (privateKeys.length === 0) issues.push('sponsor.privateKeys: give at least one key');
  privateKeys.forEach((key, index) => {
    try {
      privateKeyToAccount(key, 'testnet');
    } catch {
      // The key itself is never repeated.
      issues.push(`sponsor.privateKeys: key #${index + 1} is not a valid private key`);
    }
  });
  const limits = { ...DEFAULT_SPONSOR_LIMITS, ...options.limits };
  for (const [name, value] of Object.entries(limits)) {
    const valid =
      typeof value === 'bigint' ? value >= 0n : Number.isSafeInteger(value) && value >= 0;
    if (!valid) issues.push(`sponsor.limits.${name}: expected a non-negative integer`);
  }
  if (limits.windowMs <= 0) issues.push('sponsor.limits.windowMs: expected a positive number');
  for (const payTo of options.allowedPayTo ?? []) {
    if (!isValidStacksAddress(payTo.split('.')[0]))
      issues.push(`sponsor.allowedPayTo: ${payTo} is not a Stacks address`);
  }
  const maxFee = options.maxFee ?? 100_000n;
  if (maxFee <= 0n) issues.push('sponsor.maxFee: expected a positive amount of micro-STX');
  return {
    privateKeys,
    maxFee,
    feePerByte: options.feePerByte,
    limits,
    allowedPayTo: options.allowedPayTo ? new Set(options.allowedPayTo) : undefined,
    minBalance: options.minBalance ?? 1_000_000n,
    gapFillDelayMs: duration(
      options.gapFillDelayMs,
      10_000,
      'sponsor.gapFillDelayMs',
      issues,
      true,
    ),
  };
}

function duration(
  value: number | undefined,
  fallback: number,
  name: string,
  issues: string[],
  zeroAllowed = false,
): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0 || (value === 0 && !zeroAllowed)) {
    issues.push(`${name}: expected a ${zeroAllowed ? 'non-negative' : 'positive'} number of ms`);
    return fallback;
  }
  return value;
}

function checkOptionsOf(
  postConditionPolicy: PostConditionPolicy | undefined,
  maxFee: bigint | undefined,
  tokens: ResolveAssetOptions | undefined,
): CheckPaymentOptions {
  return {
    ...(postConditionPolicy ? { postConditionPolicy } : {}),
    ...(maxFee === undefined ? {} : { maxFee }),
    ...(tokens ? { tokens } : {}),
  };
}
