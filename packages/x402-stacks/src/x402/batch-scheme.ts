/**
 * `BatchSettlementStacksScheme`: batch-settlement on Stacks as `@x402/core` plugs schemes in, beside
 * `ExactStacksScheme`. The server role needs nothing; an `account` with a `depositCap` makes it a client, and a
 * `facilitator` engine (one given `batchSettlementFacilitator`) makes it a facilitator. Each role lives in its own
 * module; this class only routes to them.
 * @module
 */
import type {
  PaymentFlowConfig,
  PaymentRequirements,
  SchemeClientHooks,
  SchemePaymentRequiredContext,
  SchemeServerHooks,
} from '@x402/core/types';
import { BATCH_SETTLEMENT } from '../batch/wire.js';
import type { Facilitator } from '../facilitator/engine.js';
import type { StacksAccount } from '../stacks/accounts.js';
import { type BatchClientRoleOptions, createBatchClientRole } from './batch-client-role.js';
import {
  BATCH_CORRECTIVE_FIELDS,
  type BatchServerRole,
  type BatchServerRoleOptions,
  createBatchServerRole,
} from './batch-server-role.js';
import { createFacilitatorRole } from './facilitator-role.js';
import { StacksSchemeRoles } from './scheme-roles.js';

/**
 * Options of {@link BatchSettlementStacksScheme}: the server options apply to every instance; give `account` and
 * `depositCap` for the client role, `facilitator` for the facilitator role.
 * @example
 * ```ts
 * const buyer: BatchSettlementStacksSchemeOptions = { account, depositCap: { STX: 100_000n }, escrows: [escrow] };
 * const seller: BatchSettlementStacksSchemeOptions = { withdrawDelay: 144, minDeposit: 500_000n };
 * const facilitator: BatchSettlementStacksSchemeOptions = { facilitator: engine };
 * ```
 */
export type BatchSettlementStacksSchemeOptions = BatchServerRoleOptions &
  Partial<BatchClientRoleOptions> & {
    /**
     * The paying account (client role), from `privateKeyToAccount` or `mnemonicToAccount`: vouchers are signed with
     * its key, so a remote {@link Signer} cannot pay channels.
     */
    account?: StacksAccount;
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
export class BatchSettlementStacksScheme extends StacksSchemeRoles<BatchServerRole> {
  readonly scheme = BATCH_SETTLEMENT;
  readonly paymentFlows = BATCH_SETTLEMENT_STACKS_PAYMENT_FLOWS;
  /** A corrective 402 adds these to the paid offer; a buyer may echo them in `accepted`. */
  readonly dynamicExtraFields = [...BATCH_CORRECTIVE_FIELDS];
  /** The server role's hooks (the corrective snapshot), and in the client role its own (a payment's outcome). */
  readonly schemeHooks: SchemeServerHooks & SchemeClientHooks;

  /**
   * @throws {ExactStacksSchemeError} `invalid_server_config` for a withdraw delay or suggested deposit out of range;
   * `invalid_payer_options` for an account without a `depositCap`.
   * @throws {PayerOptionsError} (client role) for an account, cap or payment options the payer cannot use.
   */
  constructor(options: BatchSettlementStacksSchemeOptions = {}) {
    const { account, facilitator, withdrawDelay, minDeposit, money, sponsored, ...clientOptions } =
      options;
    const server = createBatchServerRole({
      withdrawDelay,
      minDeposit,
      money,
      sponsored,
      tokens: options.tokens,
    });
    const client = account
      ? createBatchClientRole(account, clientOptions as BatchClientRoleOptions)
      : undefined;
    super({
      server,
      client,
      facilitator: facilitator ? createFacilitatorRole(facilitator, BATCH_SETTLEMENT) : undefined,
      missing: {
        client:
          'this BatchSettlementStacksScheme has no account to pay with: new BatchSettlementStacksScheme({ account, depositCap, escrows })',
        facilitator:
          'this BatchSettlementStacksScheme has no facilitator engine: new BatchSettlementStacksScheme({ facilitator })',
      },
    });
    // The two roles' hooks have distinct names, so one instance may serve both.
    this.schemeHooks = { ...server.schemeHooks, ...client?.schemeHooks };
  }

  enrichPaymentRequiredResponse(
    context: SchemePaymentRequiredContext,
  ): Promise<PaymentRequirements[] | undefined> {
    return this.server.enrichPaymentRequiredResponse(context) as Promise<
      PaymentRequirements[] | undefined
    >;
  }
}
