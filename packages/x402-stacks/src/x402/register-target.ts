/**
 * Which `@x402/core` role a registration target plays, told by its methods rather than `instanceof`, so the
 * registration helpers never load `@x402/core` (and work with whichever copy the application has).
 * @module
 */

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
