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
 * Creates the facilitator role of one scheme over an engine. The engine dispatches verify and settle by the
 * requirements' scheme itself, so `batch-settlement` is served by the mechanism the engine was given
 * (`batchSettlementFacilitator`), and this role only reads that scheme's kinds.
 * @example
 * ```ts
 * const role = createFacilitatorRole(createFacilitator({ networks: { testnet: { url } } }));
 * role.networks(); // ['stacks:2147483648']
 * ```
 */
export function createFacilitatorRole(engine: Facilitator, scheme = 'exact'): FacilitatorRole {
  const kindsOf = () => engine.supported().kinds.filter((kind) => kind.scheme === scheme);
  const kindOf = (network: string) => kindsOf().find((kind) => kind.network === network);
  return {
    caipFamily: 'stacks:*',
    getExtra(network) {
      const extra = kindOf(network)?.extra;
      return extra ? { ...extra } : undefined;
    },
    getSigners(network) {
      const extra = kindOf(network)?.extra;
      // The receiver-authorizer signs and pays for batch claims and refunds.
      const authorizer =
        typeof extra?.receiverAuthorizer === 'string' ? [extra.receiverAuthorizer] : [];
      // Every key of the sponsor pool may pay fees on this network; an unsponsored facilitator signs nothing more.
      if (typeof extra?.sponsor !== 'string') return authorizer;
      return [...new Set([...authorizer, ...(engine.supported().signers['stacks:*'] ?? [])])];
    },
    // The engine validates both arguments against the wire schemas itself and answers a refusal, never throws one.
    verify: async (payload, requirements) =>
      (await engine.verify(payload, requirements)) as VerifyResponse,
    settle: async (payload, requirements) =>
      (await engine.settle(payload, requirements)) as SettleResponse,
    networks: () => kindsOf().map((kind) => kind.network as Network),
  };
}
