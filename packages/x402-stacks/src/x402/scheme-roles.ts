/**
 * What every Stacks scheme class for `@x402/core` does alike: it holds a server role, and a client and a facilitator
 * role when given what they need, and hands each SDK call to the role it belongs to. `ExactStacksScheme` and
 * `BatchSettlementStacksScheme` differ only in the roles they build and the fields the SDK reads.
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
  SchemeNetworkClient,
  SchemeNetworkFacilitator,
  SchemeNetworkServer,
  SettleResponse,
  SupportedKind,
  VerifyResponse,
} from '@x402/core/types';
import type { Payer } from '../client/payer.js';
import type { ClientRole } from './client-role.js';
import { ExactStacksSchemeError } from './errors.js';
import type { FacilitatorRole } from './facilitator-role.js';
import type { ServerRole } from './server-role.js';

/** The roles a scheme instance plays, and how to tell a caller which one it lacks. */
export type SchemeRoles<Server extends ServerRole> = {
  readonly server: Server;
  readonly client: ClientRole | undefined;
  readonly facilitator: FacilitatorRole | undefined;
  /** The refusal when a client call comes without an account, and a facilitator call without an engine. */
  readonly missing: { readonly client: string; readonly facilitator: string };
};

/**
 * The base of the Stacks scheme classes: the SDK's three interfaces, each call handed to its role.
 * @example
 * ```ts
 * class MyScheme extends StacksSchemeRoles<ServerRole> { readonly scheme = 'exact'; … }
 * ```
 */
export abstract class StacksSchemeRoles<Server extends ServerRole>
  implements SchemeNetworkClient, SchemeNetworkServer, SchemeNetworkFacilitator
{
  abstract readonly scheme: string;
  /** The payment flows the scheme's offers may name. */
  abstract readonly paymentFlows: Readonly<Record<string, PaymentFlowConfig>>;
  readonly caipFamily = 'stacks:*';
  /** Stacks has one way to move an asset per payment, so there is no on-wire `assetTransferMethod`. */
  readonly defaultAssetTransferMethod = 'default';

  protected readonly server: Server;
  readonly #client: ClientRole | undefined;
  readonly #facilitator: FacilitatorRole | undefined;
  readonly #missing: SchemeRoles<Server>['missing'];

  protected constructor(roles: SchemeRoles<Server>) {
    this.server = roles.server;
    this.#client = roles.client;
    this.#facilitator = roles.facilitator;
    this.#missing = roles.missing;
  }

  /** The client role's payer (spent amounts, the account, its chain client). */
  get payer(): Payer {
    return this.clientRole().payer;
  }

  /** The concrete networks the facilitator engine serves this scheme on, for `x402Facilitator.register`. */
  facilitatorNetworks(): Network[] {
    return this.#facilitatorRole().networks();
  }

  // Client role

  createPaymentPayload(
    x402Version: number,
    requirements: PaymentRequirements,
    context?: PaymentPayloadContext,
  ): Promise<PaymentPayloadResult> {
    return this.clientRole().createPaymentPayload(x402Version, requirements, context);
  }

  // Server role

  parsePrice(price: Price, network: Network): Promise<AssetAmount> {
    return this.server.parsePrice(price, network);
  }

  getAssetDecimals(asset: string, network: Network): number | undefined {
    return this.server.getAssetDecimals(asset, network);
  }

  enhancePaymentRequirements(
    requirements: PaymentRequirements,
    supportedKind: SupportedKind,
    facilitatorExtensions: string[],
  ): Promise<PaymentRequirements> {
    return this.server.enhancePaymentRequirements(
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

  /** The client role, or the refusal that names what the constructor lacked. */
  protected clientRole(): ClientRole {
    if (this.#client) return this.#client;
    throw new ExactStacksSchemeError('invalid_payer_options', this.#missing.client);
  }

  #facilitatorRole(): FacilitatorRole {
    if (this.#facilitator) return this.#facilitator;
    throw new ExactStacksSchemeError('invalid_server_config', this.#missing.facilitator);
  }
}
