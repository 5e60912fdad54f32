/**
 * Errors thrown by the chain client. A node refusing a transaction is not one of them: that is a
 * `BroadcastRejected` value.
 * @module
 */
import { X402StacksError, type X402StacksErrorOptions } from '../errors/base.js';

/**
 * Why a request to the Stacks node or API failed.
 * @example
 * ```ts
 * const retryLater = (reason: ChainRequestReason) => reason !== 'chain_bad_response';
 * ```
 */
export type ChainRequestReason = 'chain_unreachable' | 'chain_rate_limited' | 'chain_bad_response';

/**
 * What a {@link ChainRequestError} carries besides its message. URLs must already be redacted.
 * @example
 * ```ts
 * new ChainRequestError('chain_rate_limited', 'GET https://api.testnet.hiro.so/v2/info answered 429.', {
 *   method: 'GET', url: 'https://api.testnet.hiro.so/v2/info', status: 429, attempts: 4,
 * });
 * ```
 */
export type ChainRequestErrorOptions = X402StacksErrorOptions & {
  method: string;
  /** The request URL with credentials and the API key redacted. */
  url: string;
  /** The last HTTP status, when the server answered at all. */
  status?: number;
  /** How many requests were sent, retries included. */
  attempts: number;
  /** Set on a broadcast failure after which the node may nevertheless hold the transaction. */
  txid?: string;
};

/**
 * A request to the Stacks node or Hiro API that failed after its retries: the server could not be reached or timed
 * out (`chain_unreachable`), kept rate-limiting (`chain_rate_limited`), or answered something this client does not
 * understand (`chain_bad_response`). The message never contains URL credentials or the API key.
 *
 * @example
 * ```ts
 * import { ChainRequestError, createChainClient } from 'x402-stacks/chain';
 * const chain = createChainClient({ network: 'testnet' });
 * try {
 *   await chain.getInfo();
 * } catch (error) {
 *   if (error instanceof ChainRequestError && error.reason === 'chain_rate_limited') {
 *     console.log(`slow down; last status ${error.status}`); // 'slow down; last status 429'
 *   }
 * }
 * ```
 */
export class ChainRequestError extends X402StacksError<ChainRequestReason> {
  override name = 'ChainRequestError';
  readonly method: string;
  /** The request URL, redacted. */
  readonly url: string;
  readonly status: number | undefined;
  readonly attempts: number;
  /**
   * The id of the transaction a failed broadcast carried, when the node may have received it anyway (a timeout, a
   * dropped connection, a 5xx). Look it up with `getTransaction` before broadcasting again.
   */
  readonly txid: string | undefined;

  constructor(reason: ChainRequestReason, shortMessage: string, options: ChainRequestErrorOptions) {
    const { method, url, status, attempts, txid, ...base } = options;
    super(reason, shortMessage, base);
    this.method = method;
    this.url = url;
    this.status = status;
    this.attempts = attempts;
    this.txid = txid;
  }
}

/**
 * An option or argument given to the chain client that cannot be used: a URL that is not http(s), a non-positive
 * timeout, transaction bytes that are not hex, an asset id without `::<asset name>`.
 *
 * @example
 * ```ts
 * import { createChainClient } from 'x402-stacks/chain';
 * createChainClient({ network: 'testnet', timeoutMs: 0 }); // throws InvalidChainInputError, reason 'invalid_chain_input'
 * ```
 */
export class InvalidChainInputError extends X402StacksError<'invalid_chain_input'> {
  override name = 'InvalidChainInputError';
  constructor(why: string, options?: X402StacksErrorOptions) {
    super('invalid_chain_input', `Invalid chain client input: ${why}`, options);
  }
}
