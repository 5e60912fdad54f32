/**
 * A scheme mechanism beside the built-in `exact`: the engine hands it the requests whose requirements name its scheme,
 * and lends it what it needs to move money safely (the context, the sponsor pool, and the settlement of a signed
 * transaction with claim, sponsorship, write-ahead, broadcast and tracking). This is how `x402-stacks/batch` plugs its
 * batch-settlement mechanism into the engine without the engine knowing it.
 * @module
 */
import type {
  PaymentPayload,
  PaymentRequirements,
  SettleResponse,
  SupportedKind,
  VerifyResponse,
} from '../protocol/v2.js';
import type { StacksNetwork } from '../stacks/networks.js';
import type { FacilitatorContext } from './context.js';
import type { SponsorPool } from './sponsor-pool.js';
import type { ExaminedPayment } from './verify.js';

/**
 * What the engine lends a mechanism.
 * @example
 * ```ts
 * const mechanism: SchemeMechanism = { scheme: 'my-scheme', attach: (host: MechanismHost) => myMechanism(host) };
 * const facilitator = createFacilitator({ networks, schemes: [mechanism] }); // attaches it with its host
 * ```
 */
export type MechanismHost = {
  readonly context: FacilitatorContext;
  readonly pool: SponsorPool;
  /**
   * Settles a signed transaction that passed the mechanism's own checks, as an exact payment settles: claimed in the
   * ledger (replay-proof across processes), funds counted with everything of the payer in flight, sponsor-signed if
   * sponsored, written ahead, broadcast and tracked to an answer.
   */
  settleTransaction(
    examined: ExaminedPayment,
    resource: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<SettleResponse>;
  /** The answer a settlement already in the ledger gives a retry of the same transaction, if any. */
  settledAlready(
    txid: string,
  ): Promise<{ readonly state: string; readonly txid: string } | undefined>;
};

/**
 * Options of one settle call a mechanism may read. `signal` tells that the caller hung up, as in `Facilitator.settle`.
 * @example
 * ```ts
 * const options: MechanismSettleOptions = { signal: request.signal };
 * const answer = await attached.settle(payload, requirements, options);
 * ```
 */
export type MechanismSettleOptions = {
  readonly signal?: AbortSignal;
};

/**
 * A mechanism attached to one engine. The engine routes each request whose requirements name its scheme here.
 * @example
 * ```ts
 * const attached: AttachedMechanism = batchSettlementFacilitator({ escrows, authorizerKey }).attach(host);
 * const kinds = attached.supportedKinds([STACKS_NETWORKS.testnet]); // one per network it serves
 * ```
 */
export type AttachedMechanism = {
  verify(payload: PaymentPayload, requirements: PaymentRequirements): Promise<VerifyResponse>;
  settle(
    payload: PaymentPayload,
    requirements: PaymentRequirements,
    options: MechanismSettleOptions,
  ): Promise<SettleResponse>;
  /** The `/supported` kinds it adds, one per network it serves. */
  supportedKinds(networks: readonly StacksNetwork[]): SupportedKind[];
  /** Background work, run on each keeper round (claims, watching withdrawals). Never throws. */
  keeperRound?(): Promise<void>;
};

/**
 * A scheme mechanism, before it is attached to an engine.
 * @example
 * ```ts
 * const facilitator = createFacilitator({ networks, schemes: [batchSettlementFacilitator({ escrows, authorizerKey })] });
 * ```
 */
export type SchemeMechanism = {
  readonly scheme: string;
  attach(host: MechanismHost): AttachedMechanism;
};

/**
 * What `createFacilitator` takes beside {@link FacilitatorOptions}: the schemes it serves beside `exact`, each by its
 * mechanism (`batchSettlementFacilitator` from `x402-stacks/batch`). Kept apart from the options, which the context
 * the mechanisms borrow is made of.
 * @example
 * ```ts
 * createFacilitator({ networks, schemes: [batchSettlementFacilitator({ escrows, authorizerKey })] });
 * ```
 */
export type SchemeOptions = {
  /** Default: none. */
  readonly schemes?: readonly SchemeMechanism[];
};
