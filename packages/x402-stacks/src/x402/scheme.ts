/**
 * `ExactStacksScheme`: the Stacks `exact` scheme as `@x402/core` plugs schemes in. One class serves the three roles,
 * each enabled by what it is given: an `account` makes it a client, a `facilitator` engine makes it a facilitator,
 * and the server role needs nothing. Each role lives in its own module; this class only routes to them.
 * @module
 */
import type {
  AssetAmount,
  Network,
  PaymentFlowConfig,
  PaymentPayload,
  PaymentPayloadContext,
  PaymentPayloadResult,
  PaymentRequirements,
  Price,
  SchemeClientHooks,
  SchemeNetworkClient,
  SchemeNetworkFacilitator,
  SchemeNetworkServer,
  SchemeServerHooks,
  SettleResponse,
  SupportedKind,
  VerifyResponse,
} from '@x402/core/types';
import type { Payer } from '../client/payer.js';
import type { Facilitator } from '../facilitator/engine.js';
import type { StacksAccount } from '../stacks/accounts.js';
import type { Signer } from '../stacks/signer.js';
import { type ClientRole, type ClientRoleOptions, createClientRole } from './client-role.js';
import { ExactStacksSchemeError } from './errors.js';
import { createFacilitatorRole, type FacilitatorRole } from './facilitator-role.js';
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
export class ExactStacksScheme
  implements SchemeNetworkClient, SchemeNetworkServer, SchemeNetworkFacilitator
{
  readonly scheme = 'exact';
  readonly caipFamily = 'stacks:*';
  /** Stacks has one way to move an asset per payment, so there is no on-wire `assetTransferMethod`. */
  readonly defaultAssetTransferMethod = 'default';
  readonly paymentFlows = EXACT_STACKS_PAYMENT_FLOWS;
  /** The client role's hooks (`onPaymentResponse` ends a payment's nonce turn); absent in the other roles. */
  readonly schemeHooks?: SchemeClientHooks & SchemeServerHooks;

  readonly #server: ServerRole;
  readonly #client: ClientRole | undefined;
  readonly #facilitator: FacilitatorRole | undefined;

  /**
   * @throws {PayerOptionsError} (client role) for an account or payment options the payer cannot use.
   */
  constructor(options: ExactStacksSchemeOptions = {}) {
    const { account, facilitator, money, sponsored, ...clientOptions } = options;
    this.#server = createServerRole({ money, sponsored, tokens: options.tokens });
    this.#client = account ? createClientRole(account, clientOptions) : undefined;
    this.#facilitator = facilitator ? createFacilitatorRole(facilitator) : undefined;
    if (this.#client) this.schemeHooks = this.#client.schemeHooks;
  }

  /** The client role's payer (spent amounts, the account, its chain client). */
  get payer(): Payer {
    return this.#clientRole().payer;
  }

  /** The concrete networks the facilitator engine serves, for `x402Facilitator.register`. */
  facilitatorNetworks(): Network[] {
    return this.#facilitatorRole().networks();
  }

  // Client role

  createPaymentPayload(
    x402Version: number,
    requirements: PaymentRequirements,
    context?: PaymentPayloadContext,
  ): Promise<PaymentPayloadResult> {
    return this.#clientRole().createPaymentPayload(x402Version, requirements, context);
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

  #clientRole(): ClientRole {
    if (this.#client) return this.#client;
    throw new ExactStacksSchemeError(
      'invalid_payer_options',
      'this ExactStacksScheme has no account to pay with: new ExactStacksScheme({ account })',
    );
  }

  #facilitatorRole(): FacilitatorRole {
    if (this.#facilitator) return this.#facilitator;
    throw new ExactStacksSchemeError(
      'invalid_server_config',
      'this ExactStacksScheme has no facilitator engine: new ExactStacksScheme({ facilitator: createFacilitator(…) })',
    );
  }
}
