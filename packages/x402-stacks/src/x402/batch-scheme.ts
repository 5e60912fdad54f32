/**
 * `BatchSettlementStacksScheme`: batch-settlement on Stacks as `@x402/core` plugs schemes in, beside
 * `ExactStacksScheme`. The server role needs nothing; a `facilitator` engine (one given `batchSettlementFacilitator`)
 * makes it a facilitator. Each role lives in its own module; this class only routes to them.
 * @module
 */
import type {
  AssetAmount,
  Network,
  PaymentFlowConfig,
  PaymentPayload,
  PaymentRequirements,
  Price,
  SchemeNetworkFacilitator,
  SchemeNetworkServer,
  SchemePaymentRequiredContext,
  SchemeServerHooks,
  SettleResponse,
  SupportedKind,
  VerifyResponse,
} from '@x402/core/types';
import { BATCH_SETTLEMENT } from '../batch/wire.js';
import type { Facilitator } from '../facilitator/engine.js';
import {
  BATCH_CORRECTIVE_FIELDS,
  type BatchServerRole,
  type BatchServerRoleOptions,
  createBatchServerRole,
} from './batch-server-role.js';
import { ExactStacksSchemeError } from './errors.js';
import { createFacilitatorRole, type FacilitatorRole } from './facilitator-role.js';

/**
 * Options of {@link BatchSettlementStacksScheme}: the server options apply to every instance; give `facilitator`
 * for the facilitator role.
 * @example
 * ```ts
 * const seller: BatchSettlementStacksSchemeOptions = { withdrawDelay: 144, minDeposit: 500_000n };
 * const facilitator: BatchSettlementStacksSchemeOptions = { facilitator: engine };
 * ```
 */
export type BatchSettlementStacksSchemeOptions = BatchServerRoleOptions & {
  /** The verify/settle engine (facilitator role), from `createFacilitator({ schemes: [batchSettlementFacilitator(…)] })`. */
  facilitator?: Facilitator;
};

/**
 * batch-settlement's one payment flow: verify before the handler, charge after it succeeded. A voucher is never
 * charged upfront, because the charge may be lower than the price once the handler has run.
 * @example
 * ```ts
 * BATCH_SETTLEMENT_STACKS_PAYMENT_FLOWS.default.supported; // ['authorization']
 * ```
 */
export const BATCH_SETTLEMENT_STACKS_PAYMENT_FLOWS: Readonly<Record<string, PaymentFlowConfig>> =
  Object.freeze({
    default: Object.freeze({
      supported: ['authorization'] as const,
      default: 'authorization' as const,
    }),
  });

/**
 * The Stacks batch-settlement scheme for `@x402/core`'s `x402ResourceServer` and `x402Facilitator`.
 * @example
 * ```ts
 * import { HTTPFacilitatorClient, x402ResourceServer } from '@x402/core/server';
 * const server = new x402ResourceServer(new HTTPFacilitatorClient({ url }))
 *   .register('stacks:*', new BatchSettlementStacksScheme({ withdrawDelay: 144 }));
 * ```
 */
export class BatchSettlementStacksScheme implements SchemeNetworkServer, SchemeNetworkFacilitator {
  readonly scheme = BATCH_SETTLEMENT;
  readonly caipFamily = 'stacks:*';
  readonly defaultAssetTransferMethod = 'default';
  readonly paymentFlows = BATCH_SETTLEMENT_STACKS_PAYMENT_FLOWS;
  /** A corrective 402 adds these to the paid offer; a buyer may echo them in `accepted`. */
  readonly dynamicExtraFields = [...BATCH_CORRECTIVE_FIELDS];
  readonly schemeHooks: SchemeServerHooks;

  readonly #server: BatchServerRole;
  readonly #facilitator: FacilitatorRole | undefined;

  /**
   * @throws {ExactStacksSchemeError} `invalid_server_config` for a withdraw delay or suggested deposit out of range.
   */
  constructor(options: BatchSettlementStacksSchemeOptions = {}) {
    const { facilitator, ...serverOptions } = options;
    this.#server = createBatchServerRole(serverOptions);
    this.#facilitator = facilitator
      ? createFacilitatorRole(facilitator, BATCH_SETTLEMENT)
      : undefined;
    this.schemeHooks = this.#server.schemeHooks;
  }

  /** The concrete networks the facilitator engine serves batch-settlement on, for `x402Facilitator.register`. */
  facilitatorNetworks(): Network[] {
    return this.#facilitatorRole().networks();
  }

  // Server role

  parsePrice(price: Price, network: Network): Promise<AssetAmount> {
    return this.#server.parsePrice(price, network);
  }

  getAssetDecimals(asset: string, network: Network): number | undefined {
    return this.#server.getAssetDecimals(asset, network);
  }

  enhancePaymentRequirements(
    requirements: PaymentRequirements,
    supportedKind: SupportedKind,
    facilitatorExtensions: string[],
  ): Promise<PaymentRequirements> {
    return this.#server.enhancePaymentRequirements(
      requirements,
      supportedKind,
      facilitatorExtensions,
    );
  }

  enrichPaymentRequiredResponse(
    context: SchemePaymentRequiredContext,
  ): Promise<PaymentRequirements[] | undefined> {
    return this.#server.enrichPaymentRequiredResponse(context) as Promise<
      PaymentRequirements[] | undefined
    >;
  }

  // Facilitator role

  getExtra(network: Network): Record<string, unknown> | undefined {
    return this.#facilitator?.getExtra(network);
  }

  getSigners(network: string): string[] {
    return this.#facilitator?.getSigners(network) ?? [];
  }

  verify(payload: PaymentPayload, requirements: PaymentRequirements): Promise<VerifyResponse> {
    return this.#facilitatorRole().verify(payload, requirements);
  }

  settle(payload: PaymentPayload, requirements: PaymentRequirements): Promise<SettleResponse> {
    return this.#facilitatorRole().settle(payload, requirements);
  }

  #facilitatorRole(): FacilitatorRole {
    if (this.#facilitator) return this.#facilitator;
    throw new ExactStacksSchemeError(
      'invalid_server_config',
      'this BatchSettlementStacksScheme has no facilitator engine: new BatchSettlementStacksScheme({ facilitator })',
    );
  }
}
