/**
 * The chain client's round trip over a `fetch`: the one given as an option (tests, proxies, custom runtimes), or the
 * global one where node's `http` is not available (browsers, workers). Internal: not re-exported.
 * @module
 */
import { type Exchange, failedAttempt } from './exchange.js';

/**
 * One request per call to `origin` under an AbortController, whose timer also covers reading the body.
 * @example
 * ```ts
 * const exchange = createFetchExchange(globalThis.fetch, 'https://api.testnet.hiro.so', 10_000);
 * const attempt = await exchange({ method: 'GET', target: '/v2/info', headers: {} });
 * ```
 */
export function createFetchExchange(
  fetch: typeof globalThis.fetch,
  origin: string,
  timeoutMs: number,
): Exchange {
  return async function exchange(request) {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    try {
      const response = await fetch(origin + request.target, {
        method: request.method,
        headers: request.headers,
        // Redirects are not followed: the API key and credentials must never travel to another host.
        redirect: 'manual',
        ...(request.body ? { body: request.body } : {}),
        signal: controller.signal,
      });
      const text = await response.text();
      return {
        kind: 'response',
        status: response.status,
        header: (name) => response.headers.get(name),
        text,
      };
    } catch (error) {
      return failedAttempt(error, timedOut);
    } finally {
      clearTimeout(timer);
    }
  };
}
