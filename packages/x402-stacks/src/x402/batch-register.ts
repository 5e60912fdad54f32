/**
 * One call that adds Stacks batch-settlement to a stock `x402Client`, `x402ResourceServer` or `x402Facilitator`, as
 * `registerExactStacksScheme` does for `exact` (and beside it: a target may serve both).
 * @module
 */
import type { x402Client } from '@x402/core/client';
import type { x402Facilitator } from '@x402/core/facilitator';
import type { x402ResourceServer } from '@x402/core/server';
import type { Network } from '@x402/core/types';
import {
  BatchSettlementStacksScheme,
  type BatchSettlementStacksSchemeOptions,
} from './batch-scheme.js';
import { registerStacksScheme } from './register-target.js';

/**
 * Options of {@link registerBatchSettlementStacksScheme}: the scheme's options (or a ready scheme), and for a
 * facilitator the networks to register.
 * @example
 * ```ts
 * const seller: RegisterBatchSettlementStacksOptions = { withdrawDelay: 144, minDeposit: 500_000n };
 * const buyer: RegisterBatchSettlementStacksOptions = { account, depositCap: { STX: 100_000n } };
 * ```
 */
export type RegisterBatchSettlementStacksOptions = BatchSettlementStacksSchemeOptions & {
  /** A scheme built already; the other scheme options are then ignored. */
  scheme?: BatchSettlementStacksScheme;
  /**
   * Facilitator only: the CAIP-2 ids to register. Default: every network the engine serves batch-settlement on
   * (those with an escrow). They must be concrete, as for `exact`.
   */
  networks?: readonly Network[];
};

/**
 * Registers Stacks batch-settlement on a stock `@x402/core` client or resource server (`stacks:*`) or facilitator
 * (the engine's concrete batch-settlement networks), and returns the target for chaining. A client needs `account`
 * and `depositCap`, the most one deposit may lock per asset.
 * @throws {ExactStacksSchemeError} `invalid_server_config` for another target, or a facilitator engine that serves
 * batch-settlement nowhere; `invalid_payer_options` for a client without an account or a deposit cap.
 * @example
 * ```ts
 * const server = registerBatchSettlementStacksScheme(
 *   registerExactStacksScheme(new x402ResourceServer(new HTTPFacilitatorClient({ url }))),
 *   { withdrawDelay: 144 },
 * );
 * const facilitator = registerBatchSettlementStacksScheme(
 *   registerExactStacksScheme(new x402Facilitator(), { facilitator: engine }),
 *   { facilitator: engine },
 * );
 * const client = registerBatchSettlementStacksScheme(
 *   registerExactStacksScheme(new x402Client(), { account }),
 *   { account, depositCap: { STX: 100_000n } },
 * );
 * ```
 */
export function registerBatchSettlementStacksScheme<
  Target extends x402Client | x402ResourceServer | x402Facilitator,
>(target: Target, options: RegisterBatchSettlementStacksOptions = {}): Target {
  const { scheme: given, networks, ...schemeOptions } = options;
  const scheme = given ?? new BatchSettlementStacksScheme(schemeOptions);
  return registerStacksScheme(target, scheme, networks, 'registerBatchSettlementStacksScheme')
    .target;
}
