/**
 * Errors thrown by the seller's side: bad middleware options, and a facilitator that cannot be used.
 * @module
 */
import { X402StacksError, type X402StacksErrorOptions } from '../errors/base.js';
import { SERVER_REASON_CODES } from './reasons.js';

/**
 * Options of the payment middleware (or of the facilitator client) are invalid. Thrown once, when the middleware is
 * created, with every problem listed in `issues` (and in the message), so one run shows all there is to fix.
 *
 * @example
 * ```ts
 * try {
 *   paymentMiddleware({ amount: '-1', payTo: 'nope', network: 'testnet' });
 * } catch (error) {
 *   if (error instanceof ServerConfigError) console.log(error.issues);
 *   // ['amount: …', 'payTo: …', 'facilitatorUrl: give facilitatorUrl or facilitator']
 * }
 * ```
 */
export class ServerConfigError extends X402StacksError<'invalid_server_config'> {
  override name = 'ServerConfigError';
  /** One line per problem, each starting with the option's path. */
  readonly issues: readonly string[];

  constructor(issues: readonly string[]) {
    super('invalid_server_config', SERVER_REASON_CODES.invalid_server_config, {
      metaMessages: issues,
    });
    this.issues = issues;
  }
}

/**
 * Why a facilitator call failed.
 * @example
 * ```ts
 * const reason: FacilitatorRequestReason = 'facilitator_unreachable';
 * ```
 */
export type FacilitatorRequestReason = 'facilitator_unreachable' | 'facilitator_bad_response';

/**
 * A facilitator call that gave no usable answer: the service was unreachable or too slow
 * (`facilitator_unreachable`), or it answered with an unexpected status or a body that fails the x402 schema
 * (`facilitator_bad_response`). The middleware answers 502 for either. The URL in the message is redacted.
 *
 * @example
 * ```ts
 * try {
 *   await facilitator.settle(payment, requirements);
 * } catch (error) {
 *   if (error instanceof FacilitatorRequestError) console.log(error.reason, error.status);
 * }
 * ```
 */
export class FacilitatorRequestError extends X402StacksError<FacilitatorRequestReason> {
  override name = 'FacilitatorRequestError';
  /** The HTTP status the facilitator answered, when it answered at all. */
  readonly status: number | undefined;
  /**
   * The call timed out: the facilitator may have received it and acted (a settle may be on chain), so its outcome is
   * worth asking for.
   */
  readonly timedOut: boolean;

  constructor(
    reason: FacilitatorRequestReason,
    shortMessage: string,
    options: X402StacksErrorOptions & { status?: number; timedOut?: boolean } = {},
  ) {
    super(reason, shortMessage, options);
    this.status = options.status;
    this.timedOut = options.timedOut ?? false;
  }
}
