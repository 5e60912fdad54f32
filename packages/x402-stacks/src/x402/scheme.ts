/**
 * `ExactStacksScheme`: the Stacks `exact` scheme as `@x402/core` plugs schemes in. One class serves the three roles,
 * each enabled by what it is given: an `account` makes it a client, a `facilitator` engine makes it a facilitator,
 * and the server role needs nothing. Each role lives in its own module; this class only routes to them.
 * @module
 */
import type { PaymentFlowConfig, SchemeClientHooks, SchemeServerHooks } from '@x402/core/types';
import type { Facilitator } from '../facilitator/engine.js';
import type { StacksAccount } from '../stacks/accounts.js';
import type { Signer } from '../stacks/signer.js';
import { type ClientRoleOptions, createClientRole } from './client-role.js';
import { createFacilitatorRole } from './facilitator-role.js';
import { StacksSchemeRoles } from './scheme-roles.js';
import { createServerRole, type ServerRole, type ServerRoleOptions } from './server-role.js';

/**
 * Options of {@link ExactStacksScheme}: give `account` for the client role, `facilitator` for the facilitator role;
 * the server options apply to every instance.
 * @example
 * ```ts
 * const buyer: ExactStacksSchemeOptions = { account, apiUrl: 'http://127.0.0.1:3999', maxAmount: { STX: 5_000n } };
 * const seller: ExactStacksSchemeOptions = { money: { asset: 'STX', rate: () => '0.62' } };
 * const facilitator: ExactStacksSchemeOptions = { facilitator: createFacilitator({ networks: { testnet: {} } }) };
 * ```
 */
export type ExactStacksSchemeOptions = ServerRoleOptions &
  ClientRoleOptions & {
    /**
     * The paying account (client role), from `privateKeyToAccount` or `mnemonicToAccount`, or a {@link Signer} that
     * holds the key elsewhere (`privateKeySigner`, `socketSigner`).
     */
    account?: StacksAccount | Signer;
    /** The verify/settle engine (facilitator role), from `createFacilitator`. */
    facilitator?: Facilitator;
  };

/**
 * The payment flows the scheme supports: `authorization` (verify before the handler, settle after; the default) and
 * `upfront` (settle before the handler; set `extra.paymentFlow: 'upfront'` on a route).
 * @example
 * ```ts
 * EXACT_STACKS_PAYMENT_FLOWS.default.supported; // ['authorization', 'upfront']
 * ```
 */
export const EXACT_STACKS_PAYMENT_FLOWS: Readonly<Record<string, PaymentFlowConfig>> =
  Object.freeze({
    default: Object.freeze({
      supported: ['authorization', 'upfront'] as const,
      default: 'authorization' as const,
    }),
  });

/**
 * The Stacks `exact` scheme for `@x402/core`'s `x402Client`, `x402ResourceServer` and `x402Facilitator`.
 * @example
 * ```ts
 * import { x402Client, wrapFetchWithPayment } from '@x402/fetch';
 * import { ExactStacksScheme, stacksSpendControls } from 'x402-stacks/x402';
 * const client = x402Client.fromConfig({
 *   schemes: [{ network: 'stacks:*', client: new ExactStacksScheme({ account }) }],
 *   spendControls: stacksSpendControls(),
 * });
 * const pay = wrapFetchWithPayment(fetch, client);
 * ```
 */
export class ExactStacksScheme extends StacksSchemeRoles<ServerRole> {
  readonly scheme = 'exact';
  readonly paymentFlows = EXACT_STACKS_PAYMENT_FLOWS;
  /** The client role's hooks (`onPaymentResponse` ends a payment's nonce turn); absent in the other roles. */
  readonly schemeHooks?: SchemeClientHooks & SchemeServerHooks;

  /**
   * @throws {PayerOptionsError} (client role) for an account or payment options the payer cannot use.
   */
  constructor(options: ExactStacksSchemeOptions = {}) {
    const { account, facilitator, money, sponsored, ...clientOptions } = options;
    const client = account ? createClientRole(account, clientOptions) : undefined;
    super({
      server: createServerRole({ money, sponsored, tokens: options.tokens }),
      client,
      facilitator: facilitator ? createFacilitatorRole(facilitator) : undefined,
      missing: {
        client:
          'this ExactStacksScheme has no account to pay with: new ExactStacksScheme({ account })',
        facilitator:
          'this ExactStacksScheme has no facilitator engine: new ExactStacksScheme({ facilitator: createFacilitator(…) })',
      },
    });
    if (client) this.schemeHooks = client.schemeHooks;
  }
}
