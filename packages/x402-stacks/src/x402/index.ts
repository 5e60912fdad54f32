/**
 * `x402-stacks/x402`: the Stacks `exact` and `batch-settlement` schemes for Coinbase's `@x402/*` SDK (`@x402/core` 2.27+, an optional peer
 * dependency). Register it on a stock client, resource server or facilitator and nothing else in that stack changes.
 *
 * Only types are imported from `@x402/core`, so this module never loads it. The `x402-stacks` root re-exports only
 * its error class, whose declarations do not name `@x402/core`.
 *
 * @example
 * ```ts
 * // Seller, with stock @x402/express
 * import { paymentMiddleware } from '@x402/express';
 * import { HTTPFacilitatorClient, x402ResourceServer } from '@x402/core/server';
 * import { registerExactStacksScheme } from 'x402-stacks/x402';
 * const server = registerExactStacksScheme(new x402ResourceServer(new HTTPFacilitatorClient({ url })));
 * app.use(paymentMiddleware({ 'GET /weather': { accepts: { scheme: 'exact', network: 'stacks:2147483648',
 *   payTo: 'ST…', price: { asset: 'STX', amount: '1000' } } } }, server));
 *
 * // Buyer, with stock @x402/fetch
 * import { wrapFetchWithPayment, x402Client } from '@x402/fetch';
 * import { ExactStacksScheme, stacksSpendControls } from 'x402-stacks/x402';
 * const client = x402Client.fromConfig({
 *   schemes: [{ network: 'stacks:*', client: new ExactStacksScheme({ account }) }],
 *   spendControls: stacksSpendControls(),
 * });
 * const response = await wrapFetchWithPayment(fetch, client)('https://api.example.com/weather');
 * ```
 * @module
 */
export type { BatchClientRoleOptions } from './batch-client-role.js';
export {
  type RegisterBatchSettlementStacksOptions,
  registerBatchSettlementStacksScheme,
} from './batch-register.js';
export {
  BATCH_SETTLEMENT_STACKS_PAYMENT_FLOWS,
  BatchSettlementStacksScheme,
  type BatchSettlementStacksSchemeOptions,
} from './batch-scheme.js';
export type { BatchServerRoleOptions } from './batch-server-role.js';
export type { ClientRoleOptions } from './client-role.js';
export {
  EXACT_STACKS_SCHEME_REASON_CODES,
  ExactStacksSchemeError,
  type ExactStacksSchemeReason,
} from './errors.js';
export { facilitatorFromX402 } from './facilitator-adapter.js';
export type { MoneyOptions, UsdRate } from './money.js';
export {
  type RegisterExactStacksOptions,
  registerExactStacksScheme,
  STACKS_NETWORK_PATTERN,
} from './register.js';
export {
  EXACT_STACKS_PAYMENT_FLOWS,
  ExactStacksScheme,
  type ExactStacksSchemeOptions,
} from './scheme.js';
export type { ServerRoleOptions } from './server-role.js';
export {
  mergeStacksSpendControls,
  type StacksSpendControlsOptions,
  stacksSpendControls,
} from './spend-controls.js';
