/**
 * The facilitator's side of the scheme under `@x402/core`'s `x402Facilitator`: verify and settle are the library's
 * own engine (`createFacilitator`), so a payment is checked, sponsored, broadcast and confirmed exactly as our
 * facilitator service does it.
 * @module
 */
import type {
  Network,
  PaymentPayload,
  PaymentRequirements,
  SettleResponse,
  VerifyResponse,
} from '@x402/core/types';
import type { Facilitator } from '../facilitator/engine.js';

/** The facilitator role's members, as `SchemeNetworkFacilitator` names them. */
export type FacilitatorRole = {
  readonly caipFamily: 'stacks:*';
  getExtra(network: Network): Record<string, unknown> | undefined;
  getSigners(network: string): string[];
  verify(payload: PaymentPayload, requirements: PaymentRequirements): Promise<VerifyResponse>;
  settle(payload: PaymentPayload, requirements: PaymentRequirements): Promise<SettleResponse>;
  /** The concrete CAIP-2 ids the engine serves: what an `x402Facilitator` must be registered with. */
  networks(): Network[];
};

/**
 * Creates the facilitator role over an engine.
 * @example
 * ```ts
 * const role = createFacilitatorRole(createFacilitator({ networks: { testnet: { url } } }));
 * role.networks(); // ['stacks:2147483648']
 * ```
 */
export function createFacilitatorRole(engine: Facilitator): FacilitatorRole {
  const kindOf = (network: string) =>
    engine.supported().kinds.find((kind) => kind.network === network);
  return {
    caipFamily: 'stacks:*',
    getExtra(network) {
      const extra = kindOf(network)?.extra;
      return extra ? { ...extra } : undefined;
    },
    getSigners(network) {
      // Every key of the sponsor pool may pay fees on this network; an unsponsored facilitator signs nothing.
      if (typeof kindOf(network)?.extra?.sponsor !== 'string') return [];
      return [...(engine.supported().signers['stacks:*'] ?? [])];
    },
    // The engine validates both arguments against the wire schemas itself and answers a refusal, never throws one.
    verify: async (payload, requirements) =>
      (await engine.verify(payload, requirements)) as VerifyResponse,
    settle: async (payload, requirements) =>
      (await engine.settle(payload, requirements)) as SettleResponse,
    networks: () => engine.supported().kinds.map((kind) => kind.network as Network),
  };
}
