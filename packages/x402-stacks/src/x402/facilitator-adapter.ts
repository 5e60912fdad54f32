/**
 * Serving a stock `x402Facilitator` with our facilitator service: `createFacilitatorApp` takes our `Facilitator`
 * interface, and this adapter gives it one whose verify, settle and supported go through the `x402Facilitator` (its
 * hooks and extensions included), while the settlement lookup and health come from the engine underneath.
 * @module
 */
import type { x402Facilitator } from '@x402/core/facilitator';
import type {
  PaymentPayload as CorePaymentPayload,
  PaymentRequirements as CoreRequirements,
} from '@x402/core/types';
import { ChainRequestError } from '../chain/errors.js';
import type { Facilitator } from '../facilitator/engine.js';
import {
  PaymentPayloadSchema,
  PaymentRequirementsSchema,
  type SettleResponse,
  type SupportedResponse,
  type VerifyResponse,
} from '../protocol/v2.js';

/**
 * Our `Facilitator` over an `x402Facilitator` that has the Stacks scheme registered (on `engine`).
 *
 * - A kind the `x402Facilitator` does not serve answers `unsupported_scheme` / `invalid_network` /
 *   `invalid_x402_version` (core would throw).
 * - A hook that aborts, or any other throw, answers `unexpected_verify_error` / `unexpected_settle_error`; a chain
 *   that cannot be reached still throws `ChainRequestError`, which the service turns into 503.
 *
 * @example
 * ```ts
 * import { x402Facilitator } from '@x402/core/facilitator';
 * const engine = createFacilitator({ networks: { testnet: { url } }, sponsor: { privateKeys: key } });
 * const core = registerExactStacksScheme(new x402Facilitator(), { facilitator: engine });
 * const app = createFacilitatorApp({ facilitator: facilitatorFromX402(core, engine) });
 * ```
 */
export function facilitatorFromX402(core: x402Facilitator, engine: Facilitator): Facilitator {
  /** Why core cannot dispatch this pair, before asking it (it throws rather than answering). */
  const refusalOf = (payload: unknown, requirements: unknown) => {
    // The version first: a payload of another version fails the v2 schema, and that is not its problem.
    const kinds = core.getSupported().kinds;
    const version = (payload as { x402Version?: unknown } | null)?.x402Version;
    if (typeof version === 'number' && !kinds.some((kind) => kind.x402Version === version)) {
      return { reason: 'invalid_x402_version', message: `x402 v${version} is not served here` };
    }
    const p = PaymentPayloadSchema.safeParse(payload);
    if (!p.success)
      return { reason: 'invalid_payload', message: 'the payment payload fails the x402 v2 schema' };
    const r = PaymentRequirementsSchema.safeParse(requirements);
    if (!r.success) {
      return {
        reason: 'invalid_payment_requirements',
        message: 'the payment requirements fail the x402 v2 schema',
      };
    }
    if (!kinds.some((kind) => kind.scheme === r.data.scheme)) {
      return {
        reason: 'unsupported_scheme',
        message: `the scheme ${r.data.scheme} is not served here`,
      };
    }
    if (!kinds.some((kind) => kind.scheme === r.data.scheme && kind.network === r.data.network)) {
      return { reason: 'invalid_network', message: `${r.data.network} is not served here` };
    }
    return undefined;
  };
  const networkOf = (requirements: unknown): string => {
    const parsed = PaymentRequirementsSchema.safeParse(requirements);
    return parsed.success
      ? parsed.data.network
      : (core.getSupported().kinds[0]?.network ?? 'stacks:1');
  };
  const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

  return {
    async verify(payload, requirements) {
      const refusal = refusalOf(payload, requirements);
      if (refusal)
        return { isValid: false, invalidReason: refusal.reason, invalidMessage: refusal.message };
      try {
        return (await core.verify(
          payload as CorePaymentPayload,
          requirements as CoreRequirements,
        )) as VerifyResponse;
      } catch (error) {
        if (error instanceof ChainRequestError) throw error;
        return {
          isValid: false,
          invalidReason: 'unexpected_verify_error',
          invalidMessage: messageOf(error),
        };
      }
    },
    async settle(payload, requirements) {
      const refusal = refusalOf(payload, requirements);
      const failed = (reason: string, message: string) =>
        ({
          success: false,
          errorReason: reason,
          errorMessage: message,
          transaction: '',
          network: networkOf(requirements),
        }) as SettleResponse;
      if (refusal) return failed(refusal.reason, refusal.message);
      try {
        return (await core.settle(
          payload as CorePaymentPayload,
          requirements as CoreRequirements,
        )) as SettleResponse;
      } catch (error) {
        if (error instanceof ChainRequestError) throw error;
        return failed('unexpected_settle_error', messageOf(error));
      }
    },
    supported: () => core.getSupported() as SupportedResponse,
    status: (txid) => engine.status(txid),
    discoveryResources: (query) => engine.discoveryResources(query),
    resume: () => engine.resume(),
    idle: () => engine.idle(),
    drain: () => engine.drain(),
    chainHealth: () => engine.chainHealth(),
    sponsorHealth: () => engine.sponsorHealth(),
    keeper: engine.keeper,
  };
}
