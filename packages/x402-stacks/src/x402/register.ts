/**
 * One call that adds the Stacks `exact` scheme to a stock `x402Client`, `x402ResourceServer` or `x402Facilitator`.
 * The target's kind is told by its methods, not `instanceof`, so this module never loads `@x402/core` (and so works
 * with whichever copy the application has).
 * @module
 */
import type { x402Client } from '@x402/core/client';
import type { x402Facilitator } from '@x402/core/facilitator';
import type { x402ResourceServer } from '@x402/core/server';
import type { Network } from '@x402/core/types';
import { registerStacksScheme, targetKindOf } from './register-target.js';
import { ExactStacksScheme, type ExactStacksSchemeOptions } from './scheme.js';

/**
 * Options of {@link registerExactStacksScheme}: the scheme's options (or a ready scheme), and for a facilitator the
 * networks to register.
 * @example
 * ```ts
 * const options: RegisterExactStacksOptions = { facilitator: engine, networks: ['stacks:2147483648'] };
 * ```
 */
export type RegisterExactStacksOptions = ExactStacksSchemeOptions & {
  /** A scheme built already; the other scheme options are then ignored. */
  scheme?: ExactStacksScheme;
  /**
   * Facilitator only: the CAIP-2 ids to register. Default: every network the engine serves. They must be concrete,
   * because a resource server finds its facilitator by exact network and exits on `missing_facilitator`.
   */
  networks?: readonly Network[];
};

export { STACKS_NETWORK_PATTERN } from './register-target.js';

/**
 * Registers the Stacks `exact` scheme on a stock `@x402/core` client, resource server or facilitator, and returns
 * the target for chaining. Clients and resource servers get `stacks:*`; a facilitator gets its engine's concrete
 * networks. Spend controls are never touched: merge `stacksSpendControls()` into them yourself.
 * @throws {ExactStacksSchemeError} for a target that is none of the three, or a role without what it needs.
 * @example
 * ```ts
 * const server = registerExactStacksScheme(new x402ResourceServer(new HTTPFacilitatorClient({ url })), {});
 * const client = registerExactStacksScheme(new x402Client(), { account });
 * const facilitator = registerExactStacksScheme(new x402Facilitator(), { facilitator: engine });
 * ```
 */
export function registerExactStacksScheme<
  Target extends x402Client | x402ResourceServer | x402Facilitator,
>(target: Target, options: RegisterExactStacksOptions = {}): Target {
  const { scheme: given, networks, ...schemeOptions } = options;
  const scheme = given ?? new ExactStacksScheme(schemeOptions);
  registerStacksScheme(target, scheme, networks, 'registerExactStacksScheme');
  // The extensions the engine serves (bazaar's discovery list) are a facilitator's too: its /supported names them.
  if (targetKindOf(target) === 'facilitator') {
    for (const key of schemeOptions.facilitator?.supported().extensions ?? [])
      (target as x402Facilitator).registerExtension({ key });
  }
  return target;
}
