/**
 * Whether a settlement status, as the facilitator answers `GET /settlements/:txid`, is about this request: the same
 * amount, asset, payTo, network and resource as the route's requirements. A status is looked up by txid alone, so
 * without this a confirmed payment for one route (or for 1 µSTX) could be taken for a payment of another.
 * @module
 */
import type { PaymentRequirements } from '../protocol/v2.js';
import { isSameAsset } from '../stacks/assets.js';
import { resolveNetwork } from '../stacks/networks.js';
import { boundResource } from '../stacks/payment/bound-resource.js';
import type { FacilitatorSettlementStatus } from './facilitator-client.js';

/**
 * True only when every bound field is present and matches. A facilitator that answers without them (written before
 * they existed), or a settlement recorded without its resource, is bound to nothing: false.
 * @example
 * ```ts
 * if (status.state === 'success' && isBoundTo(status, requirements, resourceUrl)) { … }
 * ```
 */
export function isBoundTo(
  status: FacilitatorSettlementStatus,
  requirements: PaymentRequirements,
  resourceUrl: string,
): boolean {
  const { amount, asset, payTo, resource } = status;
  if (amount === undefined || asset === undefined || payTo === undefined) return false;
  if (resource === undefined || resource !== boundResource(resourceUrl)) return false;
  if (amount !== requirements.amount || payTo !== requirements.payTo) return false;
  try {
    const network = resolveNetwork(requirements.network);
    return (
      resolveNetwork(status.network).caip2 === network.caip2 &&
      isSameAsset(asset, requirements.asset, network)
    );
  } catch {
    // A network or asset that does not resolve binds nothing.
    return false;
  }
}
