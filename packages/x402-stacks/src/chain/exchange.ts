/**
 * One HTTP round trip of the chain client, whatever carries it (node's `http` or a `fetch`): what goes out, what
 * comes back, and how a failure is classified for the retry rules. Internal: not re-exported.
 * @module
 */

/**
 * A request ready to send to the origin its exchange was made for. Credentials travel in `headers`, never in the
 * target: `fetch` refuses URLs that carry them.
 */
export type OutgoingRequest = {
  readonly method: 'GET' | 'POST';
  /** Path and query from the origin's root, encoded: `/v2/info`, `/api/v2/accounts/SP…?proof=0`. */
  readonly target: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Uint8Array;
};

/**
 * The outcome of one attempt: an answer read to its end, or a failure. A failure is never thrown, so the retry loop
 * sees every outcome the same way.
 */
export type Attempt =
  | {
      readonly kind: 'response';
      readonly status: number;
      /** A response header by lower-case name, `null` when absent. */
      header(name: string): string | null;
      readonly text: string;
    }
  | {
      readonly kind: 'failure';
      readonly error: unknown;
      /** Our own timer ran out (before the answer or during its body). */
      readonly timedOut: boolean;
      /** The failure proves the request never reached a server, so repeating even a broadcast is safe. */
      readonly neverSent: boolean;
    };

/**
 * Sends one request to the exchange's origin under a timeout that also covers reading the body, and never rejects.
 * Bound to one origin, as a connection pool is, so nothing about the host is parsed per request.
 * @example
 * ```ts
 * const attempt = await exchange({ method: 'GET', target: '/v2/info', headers: {} });
 * if (attempt.kind === 'response') console.log(attempt.status); // 200
 * ```
 */
export type Exchange = (request: OutgoingRequest) => Promise<Attempt>;

/**
 * Socket error codes that prove the request never reached a server: no connection was ever established. Anything
 * else (a reset, a timeout of our own) may come after the server read the request.
 */
const NEVER_SENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * The failure attempt for an error, classified by its socket code.
 * @example
 * ```ts
 * failedAttempt(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), false).neverSent; // true
 * ```
 */
export function failedAttempt(error: unknown, timedOut: boolean): Attempt & { kind: 'failure' } {
  return {
    kind: 'failure',
    error,
    timedOut,
    neverSent: !timedOut && NEVER_SENT_CODES.has(errorCode(error) ?? ''),
  };
}

/**
 * The socket error code of a failure: node's errors carry it on themselves, undici's fetch on `cause`, sometimes
 * inside an AggregateError.
 * @example
 * ```ts
 * errorCode(new TypeError('fetch failed', { cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }) })); // 'ECONNRESET'
 * ```
 */
export function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    const { code, errors, cause } = current as {
      code?: unknown;
      errors?: unknown;
      cause?: unknown;
    };
    if (typeof code === 'string') return code;
    if (Array.isArray(errors) && errors.length > 0) current = errors[0];
    else current = cause;
  }
  return undefined;
}
