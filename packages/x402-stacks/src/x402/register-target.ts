/**
 * Which `@x402/core` role a registration target plays, told by its methods rather than `instanceof`, so the
 * registration helpers never load `@x402/core` (and work with whichever copy the application has).
 * @module
 */

import type { x402Client } from '@x402/core/client';
import type { x402Facilitator } from '@x402/core/facilitator';
import type { x402ResourceServer } from '@x402/core/server';
import type {
  Network,
  SchemeNetworkClient,
  SchemeNetworkFacilitator,
  SchemeNetworkServer,
} from '@x402/core/types';
import { ExactStacksSchemeError } from './errors.js';

/**
 * The pattern clients and resource servers register: every Stacks chain id. A facilitator registers concrete networks
 * (`stacks:1`) instead.
 * @example
 * ```ts
 * const client = x402Client.fromConfig({
 *   schemes: [{ network: STACKS_NETWORK_PATTERN, client: new ExactStacksScheme({ account }) }],
 * });
 * ```
 */
export const STACKS_NETWORK_PATTERN = 'stacks:*' as const;

/** The three `@x402/core` classes a Stacks scheme registers on. */
export type RegisterTargetKind = 'facilitator' | 'server' | 'client';

/**
 * The role of `target`, or undefined when it is none of the three.
 * @example
 * ```ts
 * targetKindOf(new x402ResourceServer(facilitatorClient)); // 'server'
 * ```
 */
export function targetKindOf(target: unknown): RegisterTargetKind | undefined {
  const methods = (target ?? {}) as Record<string, unknown>;
  // A resource server also has getSupported (its facilitators'), but only it builds requirements.
  if (typeof methods.buildPaymentRequirements === 'function') return 'server';
  if (typeof methods.getSupported === 'function') return 'facilitator';
  if (typeof methods.createPaymentPayload === 'function' && typeof methods.register === 'function')
    return 'client';
  return undefined;
}

/** A Stacks scheme as the registration sees it: all three roles, and where its facilitator role serves. */
type RegistrableScheme = SchemeNetworkClient &
  SchemeNetworkServer &
  SchemeNetworkFacilitator & {
    readonly payer: unknown;
    facilitatorNetworks(): Network[];
  };

/**
 * Registers a Stacks scheme on a client or resource server (`stacks:*`) or a facilitator (concrete networks only),
 * the one registration every Stacks scheme shares. `name` is the calling helper's, for the error.
 * @throws {ExactStacksSchemeError} `invalid_server_config` for another target or networks that are not concrete; the
 * scheme's own error for a client without an account.
 * @example
 * ```ts
 * registerStacksScheme(target, scheme, undefined, 'registerExactStacksScheme');
 * ```
 */
export function registerStacksScheme<
  Target extends x402Client | x402ResourceServer | x402Facilitator,
>(
  target: Target,
  scheme: RegistrableScheme,
  networks: readonly Network[] | undefined,
  name: string,
): { kind: RegisterTargetKind; target: Target } {
  const kind = targetKindOf(target);
  if (kind === 'facilitator') {
    const concrete = networks ?? scheme.facilitatorNetworks();
    if (concrete.length === 0 || concrete.some((network) => network.includes('*'))) {
      throw new ExactStacksSchemeError(
        'invalid_server_config',
        `a facilitator must be registered with concrete networks its engine serves (such as stacks:1), got ${JSON.stringify(concrete)}`,
      );
    }
    (target as x402Facilitator).register([...concrete], scheme);
  } else if (kind === 'server') {
    (target as x402ResourceServer).register(STACKS_NETWORK_PATTERN, scheme);
  } else if (kind === 'client') {
    // Fails here, not at the first 402, when there is no account.
    void scheme.payer;
    (target as x402Client).register(STACKS_NETWORK_PATTERN, scheme);
  } else {
    throw new ExactStacksSchemeError(
      'invalid_server_config',
      `${name} takes an x402Client, an x402ResourceServer or an x402Facilitator`,
    );
  }
  return { kind, target };
}
