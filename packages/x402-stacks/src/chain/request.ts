/**
 * The chain client's one HTTP function: URL building, headers, per-request timeouts, retries, and redaction of
 * everything that reaches an error message. Internal: not re-exported.
 * @module
 */
import { z } from 'zod';
import { ChainRequestError, type ChainRequestReason } from './errors.js';
import { type Exchange, errorCode, type OutgoingRequest } from './exchange.js';
import { querySecrets, redactQueryPairs, redactSecrets, redactUrl } from './redact.js';
import { Mismatch, type ShapeCheck } from './shape-checks.js';

/** The longest single wait between retries, whatever `retry-after` asks for. */
export const MAX_RETRY_WAIT_MS = 30_000;
/** The first backoff when the server gives no `retry-after`; it doubles on each retry. */
export const BASE_BACKOFF_MS = 500;

/** The statuses a gateway in front of the node answers while the node restarts or is overloaded. */
const GATEWAY_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);

const BODY_SNIPPET_LENGTH = 300;

export type Transport = {
  /** The base URL as configured, credentials included; shown only through `redactUrl`. */
  readonly base: URL;
  readonly apiKey: string | undefined;
  /**
   * One round trip to the base URL's origin under `timeoutMs`: node's `http` on a keep-alive agent, or a `fetch`.
   */
  readonly exchange: Exchange;
  /** Only for the message of a timeout: the exchange enforces it. */
  readonly timeoutMs: number;
  readonly maxRetries: number;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
};

export type RequestSpec = {
  readonly method: 'GET' | 'POST';
  /** Path and query below the base URL, already encoded. */
  readonly path: string;
  readonly body?: Uint8Array;
  readonly contentType?: string;
  /** Statuses besides 2xx handed back to the caller, such as 404 or a rejected broadcast's 400. */
  readonly expect?: readonly number[];
  /** Whether sending the request twice is harmless. Decides which failures are retried. */
  readonly idempotent: boolean;
  /** For a broadcast: put on errors after which the node may hold the transaction. */
  readonly txid?: string;
};

/** A response handed back by `request`, with helpers that throw properly redacted errors. */
export type ChainResponse = {
  readonly status: number;
  readonly text: string;
  /** Parses the body as JSON and validates it; throws `chain_bad_response` on either failure. */
  json<T extends z.ZodType>(schema: T): z.output<T>;
  /** The same with a hand-written check, for the small answers read on every payment. */
  checkedJson<T>(check: ShapeCheck<T>): T;
  /** A `chain_bad_response` error about this response. */
  badResponse(why: string, details?: string): ChainRequestError;
};

export type Request = (spec: RequestSpec) => Promise<ChainResponse>;

/**
 * Builds the `request` function over one transport.
 *
 * Retries, up to `maxRetries` times:
 * 1. 429 for every request, waiting for `retry-after` (capped) or an exponential backoff. A rate limiter answers
 *    before the node handles anything, so repeating even a broadcast is safe.
 * 2. 502/503/504, network errors and timeouts for idempotent requests (the GETs) only. A broadcast is repeated only
 *    when the socket error proves it never left this machine (connection refused, DNS failure): after a timeout or
 *    a 5xx the node may already hold the transaction, and if it was mined in between, a second broadcast is refused
 *    with `BadNonce`, which would read as "rejected" when it was in fact accepted. The caller gets the error with
 *    the txid and looks the transaction up instead.
 *
 * @example
 * ```ts
 * const request = createRequest({ base: new URL('http://127.0.0.1:3999'), apiKey: undefined,
 *   exchange: createFetchExchange(fetch, 'http://127.0.0.1:3999', 10_000), timeoutMs: 10_000, maxRetries: 3, now: Date.now, sleep });
 * const info = (await request({ method: 'GET', path: '/v2/info', idempotent: true })).json(InfoSchema);
 * ```
 */
export function createRequest(transport: Transport): Request {
  const { base, apiKey, timeoutMs, maxRetries } = transport;
  // The base URL's own query parameters are hidden by name in every URL shown, and their values elsewhere when long
  // enough to be credentials (`querySecrets`).
  const baseParams: ReadonlySet<string> = new Set(base.searchParams.keys());
  const secrets = [apiKey, safeDecode(base.password), base.password, ...querySecrets(base)].filter(
    (secret): secret is string => !!secret,
  );
  const redact = (text: string) => redactSecrets(redactQueryPairs(text, baseParams), secrets);
  const headers: Record<string, string> = {
    accept: 'application/json',
    ...credentialHeaders(base, apiKey),
  };

  return async function request(spec) {
    const target = targetBelow(base, spec.path);
    // Redirects are never followed (by either exchange): the API key and credentials must not reach another host.
    const outgoing: OutgoingRequest = {
      method: spec.method,
      target,
      headers: spec.contentType ? { ...headers, 'content-type': spec.contentType } : headers,
      ...(spec.body ? { body: spec.body } : {}),
    };
    const fail = (
      reason: ChainRequestReason,
      message: string,
      fields: { status?: number; attempts: number; maybeDelivered: boolean },
      extra: { details?: string; cause?: unknown; metaMessages?: string[] } = {},
    ) => {
      const txid = fields.maybeDelivered ? spec.txid : undefined;
      // Only a failure shows the URL, so only a failure pays for redacting it. Joined as text, not resolved against
      // the base: a base path of `//api` would read as a host.
      const display = redactUrl(`${originWithCredentials(base)}${target}`, secrets, baseParams);
      const metaMessages = [...(extra.metaMessages ?? [])];
      if (txid) {
        metaMessages.push(
          `The node may hold transaction ${txid} anyway: look it up with getTransaction before broadcasting again.`,
        );
      }
      return new ChainRequestError(reason, `${spec.method} ${display} ${message}`, {
        method: spec.method,
        url: display,
        attempts: fields.attempts,
        ...(fields.status === undefined ? {} : { status: fields.status }),
        ...(txid ? { txid } : {}),
        ...(extra.cause === undefined ? {} : { cause: extra.cause }),
        // Always a string, even empty: the base class would otherwise copy the unredacted cause message.
        details: redact(extra.details ?? ''),
        metaMessages,
      });
    };

    for (let attempts = 1; ; attempts++) {
      const attempt = await transport.exchange(outgoing);
      const canRetry = attempts <= maxRetries;

      if (attempt.kind === 'failure') {
        const retryable = spec.idempotent || attempt.neverSent;
        if (retryable && canRetry) {
          await transport.sleep(backoff(attempts));
          continue;
        }
        const what = attempt.timedOut
          ? `timed out after ${timeoutMs} ms`
          : `could not be completed (${describeNetworkError(attempt.error)})`;
        throw fail(
          'chain_unreachable',
          `${what}${attempts > 1 ? ` on all ${attempts} attempts` : ''}.`,
          { attempts, maybeDelivered: !attempt.neverSent },
          { cause: attempt.error, details: messageChain(attempt.error) },
        );
      }

      const { status, text } = attempt;
      if ((status >= 200 && status < 300) || spec.expect?.includes(status)) {
        const badResponse = (why: string, details?: string) =>
          fail(
            'chain_bad_response',
            `answered ${status} ${why}.`,
            { status, attempts, maybeDelivered: true },
            { details: details ?? snippet(text) },
          );
        const parseJson = (): unknown => {
          try {
            return JSON.parse(text);
          } catch {
            throw badResponse('with a body that is not JSON');
          }
        };
        return {
          status,
          text,
          json(schema) {
            const parsed = schema.safeParse(parseJson());
            if (!parsed.success) {
              throw badResponse(
                'with JSON this client does not understand',
                truncate(z.prettifyError(parsed.error), 600),
              );
            }
            return parsed.data;
          },
          checkedJson(check) {
            const checked = check(parseJson());
            if (checked instanceof Mismatch) {
              throw badResponse('with JSON this client does not understand', checked.describe());
            }
            return checked;
          },
          badResponse,
        };
      }

      const retryable = status === 429 || (spec.idempotent && GATEWAY_STATUSES.has(status));
      if (retryable && canRetry) {
        const retryAfter = parseRetryAfter(attempt.header('retry-after'), transport.now());
        await transport.sleep(retryAfter ?? backoff(attempts));
        continue;
      }
      const times = attempts > 1 ? ` on all ${attempts} attempts` : '';
      if (status === 429) {
        throw fail(
          'chain_rate_limited',
          `answered 429 Too Many Requests${times}.`,
          { status, attempts, maybeDelivered: false },
          {
            details: snippet(text),
            metaMessages: [
              'Pass an apiKey (Hiro allows about 500 requests a minute with a key, 50 without), or send fewer requests.',
            ],
          },
        );
      }
      if (GATEWAY_STATUSES.has(status)) {
        throw fail(
          'chain_unreachable',
          `answered ${status} (the node behind the gateway is unavailable)${times}.`,
          { status, attempts, maybeDelivered: true },
          { details: snippet(text) },
        );
      }
      if (status >= 300 && status < 400) {
        const location = attempt.header('location');
        throw fail(
          'chain_bad_response',
          `answered a ${status} redirect${location ? ` to ${redactUrl(location, secrets, baseParams)}` : ''}.`,
          { status, attempts, maybeDelivered: false },
          {
            metaMessages: [
              'Redirects are not followed, so the API key and credentials never reach another host. Configure the final URL.',
            ],
          },
        );
      }
      throw fail(
        'chain_bad_response',
        `answered an unexpected status ${status}.`,
        { status, attempts, maybeDelivered: status >= 500 },
        { details: snippet(text) },
      );
    }
  };
}

/**
 * The wait a `retry-after` header asks for, in milliseconds, capped at {@link MAX_RETRY_WAIT_MS}: either delay
 * seconds (`120`) or an HTTP date. Undefined when absent or unreadable.
 * @example
 * ```ts
 * parseRetryAfter('2', Date.now()); // 2000
 * ```
 */
export function parseRetryAfter(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  let waitMs: number;
  if (/^\d+$/.test(value)) waitMs = Number(value) * 1000;
  else {
    const date = Date.parse(value);
    if (Number.isNaN(date)) return undefined;
    waitMs = date - now;
  }
  return Math.min(Math.max(waitMs, 0), MAX_RETRY_WAIT_MS);
}

/** Exponential backoff before retry number `attempt` (1-based): 500 ms, 1 s, 2 s, … capped. */
function backoff(attempt: number): number {
  return Math.min(BASE_BACKOFF_MS * 2 ** (attempt - 1), MAX_RETRY_WAIT_MS);
}

/**
 * The path and query to request for `path` below the base URL: the base's path first, then `path`, with the base's
 * own query (a provider may authenticate by it) kept as configured and `path`'s query after it. Plain string work:
 * parsing a URL per request cost more than the rest of the request's own code.
 */
function targetBelow(base: URL, path: string): string {
  const root = base.pathname.replace(/\/+$/, '');
  if (base.search === '') return root + path;
  const query = path.indexOf('?');
  if (query === -1) return root + path + base.search;
  return `${root}${path.slice(0, query)}${base.search}&${path.slice(query + 1)}`;
}

/** `http://user:pass@host:port` of the base URL, for an error's URL before `redactUrl` hides the credentials. */
function originWithCredentials(base: URL): string {
  const credentials = base.username || base.password ? `${base.username}:${base.password}@` : '';
  return `${base.protocol}//${credentials}${base.host}`;
}

function describeNetworkError(error: unknown): string {
  const code = errorCode(error);
  if (code) return code;
  if (error instanceof Error)
    return error.cause instanceof Error ? error.cause.message : error.message;
  return String(error);
}

/** `fetch failed: connect ECONNREFUSED 127.0.0.1:9`: the messages down the cause chain. */
function messageChain(error: unknown): string {
  const messages: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current.message) messages.push(current.message);
    current = current.cause;
  }
  return messages.length > 0 ? messages.join(': ') : String(error);
}

function snippet(text: string): string {
  return truncate(text.replace(/\s+/g, ' ').trim(), BODY_SNIPPET_LENGTH);
}

function truncate(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

/**
 * The headers that carry the configured credentials to whatever host the base URL names: the API key, and `user:pass@`
 * as Basic authorization (fetch refuses URLs with credentials, so they never travel in the URL).
 * @example
 * ```ts
 * credentialHeaders(new URL('https://user:pass@node.example'), undefined); // { authorization: 'Basic dXNlcjpwYXNz' }
 * ```
 */
export function credentialHeaders(base: URL, apiKey: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  // Sent to any host, unlike @stacks/network's middleware, which only adds it for *.hiro.so and *.stacks.co.
  if (apiKey) headers['x-api-key'] = apiKey;
  const username = safeDecode(base.username);
  const password = safeDecode(base.password);
  if (username || password) headers.authorization = `Basic ${base64(`${username}:${password}`)}`;
  return headers;
}

/**
 * The WebSocket URL of a path below the base URL, as `request` builds an HTTP one: `ws:` for `http:`, `wss:` for
 * `https:`, the base URL's query kept (a provider may authenticate by it), `user:pass@` left out (it goes as a header).
 * @example
 * ```ts
 * channelUrl(new URL('https://u:p@node.example/api/'), '/extended/v1/ws'); // 'wss://node.example/api/extended/v1/ws'
 * ```
 */
export function channelUrl(base: URL, path: string): string {
  return `${base.protocol === 'https:' ? 'wss:' : 'ws:'}//${base.host}${targetBelow(base, path)}`;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function base64(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}
