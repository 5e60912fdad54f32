/**
 * The facilitator engine: verify and settle Stacks exact payments against live chain state, with the Ledger making
 * every payment settle at most once, a sponsor pool that pays fees without being drained or frozen, and a keeper that
 * finishes what crashes and evictions leave behind. Framework-free; the HTTP service and in-process sellers both use
 * it. The steps live in their own files: `verify.ts`, `settle.ts`, `sponsor-pool.ts`, `track.ts`, `keeper.ts`.
 * @module
 */

import type {
  DiscoveryListQuery,
  DiscoveryListResponse,
} from '../extensions/bazaar/discovery-list.js';
import { BAZAAR } from '../extensions/bazaar/info.js';
import { PAYMENT_IDENTIFIER } from '../extensions/payment-identifier/index.js';
import type { SettleResponse, SupportedResponse, VerifyResponse } from '../protocol/v2.js';
import type { StacksNetworkId } from '../stacks/networks.js';
import { abandonedBefore, createContext } from './context.js';
import { createKeeper, type Keeper } from './keeper.js';
import type { SettlementRecord } from './ledger.js';
import type { AttachedMechanism, MechanismHost, SchemeOptions } from './mechanism.js';
import type { FacilitatorOptions } from './options.js';
import { failure, invalid, refuse } from './outcomes.js';
import { parsedOrInput, parsePaymentPayload, parsePaymentRequirements } from './parsed-payment.js';
import { conflictRefusal, namesAnotherPayment, paymentIdNamed } from './payment-id.js';
import { settleExaminedPayment, settlePayment } from './settle.js';
import { createSponsorPool, type SponsorHealth } from './sponsor-pool.js';
import { createTracker } from './track.js';
import { examinePayment } from './verify.js';

/**
 * What a settlement lookup answers: its state, and the terms it was settled under, so a caller can bind the status to
 * one request (the same amount, asset, payTo, network and resource as the route it serves).
 * @example
 * ```ts
 * const status: SettlementStatus | undefined = await facilitator.status(txid);
 * if (status?.state === 'success' && status.payTo === payTo && status.amount === '1000') serve();
 * ```
 */
export type SettlementStatus = {
  readonly transaction: string;
  readonly state: SettlementRecord['state'];
  readonly payer: string;
  readonly network: StacksNetworkId;
  /** The amount paid, in the asset's smallest unit, as an integer string. */
  readonly amount: string;
  /** `'STX'` or `'<contract id>::<asset name>'`. */
  readonly asset: string;
  readonly payTo: string;
  /** The resource URL it was settled for; absent for a settlement recorded without one (see `SettlementRecord`). */
  readonly resource?: string;
  readonly errorReason?: string;
  readonly blockHeight?: number;
};

/**
 * A facilitator: the x402 `/verify`, `/settle` and `/supported` operations, plus a settlement lookup.
 * @example
 * ```ts
 * const facilitator: Facilitator = createFacilitator({ networks: { testnet: { url: devnetUrl } } });
 * const verdict = await facilitator.verify(paymentPayload, paymentRequirements);
 * if (verdict.isValid) await facilitator.settle(paymentPayload, paymentRequirements);
 * ```
 */
export type Facilitator = {
  verify(paymentPayload: unknown, paymentRequirements: unknown): Promise<VerifyResponse>;
  /**
   * Settles a payment. `signal`, when given, tells that the caller hung up (its HTTP request closed): a success it
   * can no longer receive is kept claimable by a retry of the same payment instead of spent on nobody, and a payment
   * not yet sent (waiting for its payer's earlier nonces, say) is not sent at all: `settlement_cancelled`, its claim
   * given back, the same bytes free to settle on a retry.
   */
  settle(
    paymentPayload: unknown,
    paymentRequirements: unknown,
    options?: { readonly signal?: AbortSignal },
  ): Promise<SettleResponse>;
  status(txid: string): Promise<SettlementStatus | undefined>;
  supported(): SupportedResponse;
  /**
   * Picks up what a previous process left unfinished in a shared ledger: settlements already broadcast are followed
   * (never sent as other bytes); claims abandoned longer than `claimLeaseMs` are dropped so the payment can be settled
   * again. The keeper does the same every round; this is the start-up pass.
   * @returns how many settlements were followed and dropped.
   */
  resume(): Promise<{ tracked: number; released: number }>;
  /** Resolves when background tracking started by `settle` or `resume` has finished (tests, graceful shutdown). */
  idle(): Promise<void>;
  /**
   * Ends every wait for a settlement's confirmation, for a stop: a settle call waiting answers `settlement_pending` now,
   * and the background following ends, each settlement staying `broadcast` in the ledger for the next start (or another
   * process's keeper). Until `keeper.stop()`, the keeper's rounds only renew this process's lease, so another process
   * does not take over the calls still running here. For good: a later settle answers `settlement_pending` without
   * waiting. (A batch-settlement refund's wait for its own transaction is not a settlement's: it runs to its time.)
   * It also closes the channels of pushed blocks (`blockEvents`), which a facilitator keeps open from its creation: a
   * facilitator dropped undrained keeps its connections until the process ends (on Node an open one never holds the
   * process open).
   * @example
   * ```ts
   * const closed = new Promise((resolve) => server.close(resolve));
   * facilitator.drain();
   * await Promise.race([Promise.all([closed, facilitator.idle()]), grace]);
   * await facilitator.keeper.stop();
   * ```
   */
  drain(): void;
  /** Asks every network's node for its tip: what `/health` reports. Never throws. */
  chainHealth(): Promise<ChainHealth[]>;
  /** Every sponsor key's last known balance and pending count, and whether it runs low. Reads nothing. */
  sponsorHealth(): SponsorHealth[];
  /**
   * One page of the bazaar discovery list: the declarations recorded from settled payments, newest first. Empty when
   * `discovery` is `false`.
   */
  discoveryResources(query: DiscoveryListQuery): Promise<DiscoveryListResponse>;
  /** The background work: start it for the life of a service, stop it before closing the ledger. */
  readonly keeper: Keeper;
};

/**
 * One network's reachability, as `chainHealth()` reports it.
 * @example
 * ```ts
 * const health: ChainHealth[] = await facilitator.chainHealth();
 * const down = health.filter((entry) => !entry.reachable).map((entry) => `${entry.network}: ${entry.error}`);
 * ```
 */
export type ChainHealth = {
  readonly network: StacksNetworkId;
  readonly reachable: boolean;
  readonly tipHeight?: number;
  readonly error?: string;
};

/**
 * Creates a facilitator engine.
 *
 * @throws {FacilitatorConfigError} listing every problem with the options.
 * @example
 * ```ts
 * import { createFacilitator } from 'x402-stacks/facilitator';
 * const facilitator = createFacilitator({ networks: { testnet: { url: 'http://127.0.0.1:3999' } } });
 * const verdict = await facilitator.verify(paymentPayload, paymentRequirements);
 * if (verdict.isValid) await facilitator.settle(paymentPayload, paymentRequirements);
 * ```
 */
export function createFacilitator(options: FacilitatorOptions & SchemeOptions): Facilitator {
  const context = createContext(options);
  const pool = createSponsorPool(context);
  const tracker = createTracker(context, pool);
  const { ledger } = context;
  const host: MechanismHost = {
    context,
    pool,
    settleTransaction: (examined, resource, signal) =>
      settleExaminedPayment(context, pool, tracker, examined, undefined, resource, signal),
    settledAlready: (txid) => ledger.get(txid),
  };
  const mechanisms = new Map<string, AttachedMechanism>(
    (options.schemes ?? []).map((mechanism) => [mechanism.scheme, mechanism.attach(host)]),
  );
  const keeper = createKeeper(context, pool, tracker, [...mechanisms.values()]);
  /** The mechanism the requests' requirements name, with both parsed; undefined for exact or unparseable input. */
  const mechanismFor = (payload: unknown, requirements: unknown) => {
    if (mechanisms.size === 0) return undefined;
    const scheme = (requirements as { scheme?: unknown } | null)?.scheme;
    const mechanism = typeof scheme === 'string' ? mechanisms.get(scheme) : undefined;
    if (!mechanism) return undefined;
    const parsedPayload = parsePaymentPayload(payload);
    const parsedRequirements = parsePaymentRequirements(requirements);
    return { mechanism, payload: parsedPayload, requirements: parsedRequirements };
  };

  return {
    async verify(payloadInput, requirementsInput) {
      // Parsed once here (or at the HTTP boundary before): every step after takes the parsed values.
      const payload = parsedOrInput(payloadInput, parsePaymentPayload);
      const requirements = parsedOrInput(requirementsInput, parsePaymentRequirements);
      const scheme = mechanismFor(payload, requirements);
      if (scheme) {
        if (!scheme.payload.success)
          return invalid(
            refuse('invalid_payload', 'the payment payload does not match the x402 v2 schema'),
          );
        if (!scheme.requirements.success) {
          return invalid(
            refuse(
              'invalid_payment_requirements',
              'the requirements do not match the x402 v2 schema',
            ),
          );
        }
        return scheme.mechanism.verify(scheme.payload.data, scheme.requirements.data);
      }
      const named = paymentIdNamed(context, payload);
      if (!named.ok) return invalid(named);
      const examined = await examinePayment(context, pool, payload, requirements, 'verify');
      if (!examined.ok) return invalid(examined);
      const { payer, txid } = examined.check;
      if (
        named.id !== undefined &&
        (await namesAnotherPayment(context, examined.network.caip2, payer, named.id, txid))
      ) {
        return invalid(conflictRefusal(payer, named.id));
      }
      return { isValid: true, payer };
    },
    async settle(payloadInput, requirementsInput, options) {
      const payload = parsedOrInput(payloadInput, parsePaymentPayload);
      const requirements = parsedOrInput(requirementsInput, parsePaymentRequirements);
      const scheme = mechanismFor(payload, requirements);
      if (scheme) {
        if (!scheme.payload.success || !scheme.requirements.success) {
          const which = scheme.payload.success ? 'requirements' : 'payment payload';
          return failure(
            '',
            '',
            scheme.payload.success ? 'invalid_payment_requirements' : 'invalid_payload',
            `the ${which} does not match the x402 v2 schema`,
          );
        }
        return scheme.mechanism.settle(
          scheme.payload.data,
          scheme.requirements.data,
          options?.signal ? { signal: options.signal } : {},
        );
      }
      const answer = await settlePayment(
        context,
        pool,
        tracker,
        payload,
        requirements,
        options?.signal,
      );
      // Recording never throws nor changes the answer: a catalog problem is the operator's, not the buyer's.
      await context.discovery?.record(payload, requirements, answer);
      return answer;
    },
    async discoveryResources(query) {
      if (context.discovery) return context.discovery.list(query);
      return {
        x402Version: 2,
        items: [],
        pagination: { limit: query.limit, offset: query.offset, total: 0 },
      };
    },
    async status(txid) {
      const record = await ledger.get(txid);
      if (!record) return undefined;
      return {
        transaction: record.txid,
        state: record.state,
        payer: record.payer,
        network: record.network,
        amount: record.amount.toString(),
        asset: record.asset,
        payTo: record.payTo,
        ...(record.resource === undefined ? {} : { resource: record.resource }),
        ...(record.errorReason ? { errorReason: record.errorReason } : {}),
        ...(record.blockHeight === undefined ? {} : { blockHeight: record.blockHeight }),
      };
    },
    supported() {
      const signers: Record<string, string[]> = {};
      const networks = [...context.chains.values()].map(({ network }) => network);
      const sponsors = networks.flatMap((network) => pool.addresses(network));
      if (sponsors.length > 0) signers['stacks:*'] = [...new Set(sponsors)];
      const exactKinds = networks.map((network) => {
        const [sponsor] = pool.addresses(network);
        const extra = {
          // `feePayer` is how the sponsoring Stacks peers and other chains' mechanisms name the same thing.
          ...(sponsor ? { sponsor, feePayer: sponsor } : {}),
          // Buyers may keep this many payments chained past their next nonce in flight here (parallel nonces). Not
          // beside a sponsor, whose offers are sponsored: a sponsored payment goes out only at the payer's confirmed
          // next nonce, so a chained one would wait a block for each before it, and could run out of time.
          ...(context.maxNonceAhead > 0n && !sponsor
            ? { maxNonceAhead: Number(context.maxNonceAhead) }
            : {}),
        };
        return {
          x402Version: 2 as const,
          scheme: 'exact',
          network: network.caip2,
          ...(Object.keys(extra).length > 0 ? { extra } : {}),
        };
      });
      return {
        kinds: [
          ...exactKinds,
          ...[...mechanisms.values()].flatMap((mechanism) => mechanism.supportedKinds(networks)),
        ],
        // An extension is listed only where this engine (and its ledger) carries it out.
        extensions: [
          ...(context.discovery ? [BAZAAR] : []),
          ...(context.paymentIds ? [PAYMENT_IDENTIFIER] : []),
        ],
        signers,
      };
    },
    async resume() {
      let tracked = 0;
      let released = 0;
      const cutoff = abandonedBefore(context);
      for (const record of await ledger.unfinished()) {
        const connection = context.chains.get(record.network);
        if (!connection) continue;
        if (record.state === 'claimed') {
          // A fresh claim may belong to a live process between claiming and broadcasting: leave it alone.
          if (await ledger.expireClaim(record.paymentTxid, cutoff)) released++;
          continue;
        }
        tracker.follow(record.txid, connection.chain);
        tracked++;
      }
      return { tracked, released };
    },
    async chainHealth() {
      return Promise.all(
        [...context.chains.values()].map(async ({ network, chain }): Promise<ChainHealth> => {
          try {
            const info = await chain.getInfo();
            return { network: network.caip2, reachable: true, tipHeight: info.stacksTipHeight };
          } catch (error) {
            const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
            return { network: network.caip2, reachable: false, error: message };
          }
        }),
      );
    },
    sponsorHealth: () => pool.health(),
    keeper,
    idle: () => tracker.idle(),
    drain: () => tracker.stop(),
  };
}
