/**
 * The error base class of x402-stacks. Every error the library throws is an `X402StacksError` subclass carrying a
 * stable snake_case `reason`, so callers branch on data rather than on message text.
 * @module
 */

/**
 * What an `X402StacksError` carries besides its reason and short message.
 * @example
 * ```ts
 * throw new X402StacksError('chain_unreachable', 'The node did not answer.', { cause: error, details: error.message });
 * ```
 */
export type X402StacksErrorOptions = {
  /** The underlying error, kept for `walk()` and for debuggers. */
  cause?: unknown;
  /** Extra lines shown under the short message: what was expected, what was found. */
  metaMessages?: readonly string[];
  /** Low-level detail (for example the message of the error in `cause`). */
  details?: string;
};

/**
 * Base class of every error thrown by x402-stacks.
 *
 * @example
 * ```ts
 * import { X402StacksError, decodePaymentResponse } from 'x402-stacks';
 * try {
 *   decodePaymentResponse('not base64!');
 * } catch (error) {
 *   if (error instanceof X402StacksError) console.log(error.reason); // 'invalid_header_encoding'
 * }
 * ```
 */
export class X402StacksError<Reason extends string = string> extends Error {
  override name = 'X402StacksError';
  /** Stable snake_case code; part of the public contract. */
  readonly reason: Reason;
  /** One-line summary without meta lines or details. */
  readonly shortMessage: string;
  readonly metaMessages: readonly string[];
  readonly details: string | undefined;

  constructor(reason: Reason, shortMessage: string, options: X402StacksErrorOptions = {}) {
    const details =
      options.details ?? (options.cause instanceof Error ? options.cause.message : undefined);
    const metaMessages = options.metaMessages ?? [];
    const lines = [shortMessage];
    if (metaMessages.length > 0) lines.push('', ...metaMessages);
    if (details) lines.push('', `Details: ${details}`);
    super(lines.join('\n'), options.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
    this.shortMessage = shortMessage;
    this.metaMessages = metaMessages;
    this.details = details;
  }

  /** Follows the `cause` chain and returns the deepest error, or the first one for which `predicate` holds. */
  walk(predicate?: (error: unknown) => boolean): unknown {
    let current: unknown = this;
    while (current) {
      if (predicate?.(current)) return current;
      const next: unknown = (current as { cause?: unknown }).cause;
      if (!next) return predicate ? undefined : current;
      current = next;
    }
    return undefined;
  }
}
