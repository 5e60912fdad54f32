/**
 * What a failed HTTP request proves about a payment it carried. Most failures prove nothing: a reset, a timeout or
 * an abort may come after the request (and its signed transaction) reached the server. Only a failure to open the
 * connection proves that no byte of the request was written: the name did not resolve, the connection was refused,
 * or the URL or options were refused by the client before any connection.
 * @module
 */

/**
 * Error codes that happen before a request is written: DNS, TCP connect, and the client's own checks. A TLS
 * failure is left out (some clients report late TLS errors with the same codes), and so is a connect timeout.
 */
const NOT_SENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_NONAME',
  'ERR_INVALID_URL',
  // axios: refused options, or a protocol it does not support, before any connection.
  'ERR_BAD_OPTION',
  'ERR_BAD_OPTION_VALUE',
  'ERR_NOT_SUPPORT',
]);

/**
 * True when `error`, from fetch or axios, proves the request was never sent. The error, its `cause` chain, and
 * every error of an `AggregateError` (a connection tried on several addresses) are looked at.
 * @example
 * ```ts
 * try { await fetch(url) } catch (error) { if (provablyNotSent(error)) console.log('nothing left'); }
 * ```
 */
export function provablyNotSent(error: unknown, depth = 0): boolean {
  if (depth > 8 || typeof error !== 'object' || error === null) return false;
  const { code, cause, errors } = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === 'string' && NOT_SENT_CODES.has(code)) return true;
  if (Array.isArray(errors) && errors.length > 0) {
    return errors.every((each) => provablyNotSent(each, depth + 1));
  }
  return provablyNotSent(cause, depth + 1);
}
