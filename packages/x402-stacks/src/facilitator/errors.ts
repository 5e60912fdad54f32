/**
 * Errors thrown by the facilitator engine itself. Payments it refuses are answers with reason codes, never errors;
 * what it throws is a configuration it cannot run with.
 * @module
 */
import { X402StacksError } from '../errors/base.js';
import { REASON_CODES } from '../protocol/reasons.js';

/**
 * The options given to `createFacilitator` cannot run a facilitator: thrown once, at creation, with every problem
 * listed in `issues`.
 * @example
 * ```ts
 * try {
 *   createFacilitator({ networks: {} });
 * } catch (error) {
 *   if (error instanceof FacilitatorConfigError) console.log(error.issues); // ['networks: name at least one network']
 * }
 * ```
 */
export class FacilitatorConfigError extends X402StacksError<'invalid_facilitator_config'> {
  override name = 'FacilitatorConfigError';
  /** One line per problem, each starting with the option's path. */
  readonly issues: readonly string[];

  constructor(issues: readonly string[]) {
    super('invalid_facilitator_config', REASON_CODES.invalid_facilitator_config, {
      metaMessages: issues,
    });
    this.issues = issues;
  }
}
