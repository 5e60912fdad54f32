/**
 * The address a request comes from: the socket's peer, or behind reverse proxies that the operator runs, the entry of
 * `X-Forwarded-For` the farthest of them wrote (`@x402-stacks/service-runtime`'s `forwardedClientAddress`). Never
 * trust that header by default: any client can write it.
 * @module
 */
import { getConnInfo } from '@hono/node-server/conninfo';
import { forwardedClientAddress } from '@x402-stacks/service-runtime';
import type { Context } from 'hono';
import { requestHeader } from './incoming.js';

/**
 * @param options.trustedProxies how many reverse proxies every request passes before this service; 0 trusts none.
 * @example
 * ```ts
 * const addressOf = clientAddressResolver({ trustedProxies: 0 });
 * app.use('*', async (c, next) => { console.log(addressOf(c)); await next(); });
 * ```
 */
export function clientAddressResolver(options: { trustedProxies: number }): (c: Context) => string {
  const { trustedProxies } = options;
  return (c) => {
    let peer: string | undefined;
    try {
      peer = getConnInfo(c).remote.address;
    } catch {
      // In-process requests (app.request in tests, a seller embedding the app) have no socket.
      peer = 'local';
    }
    return (
      forwardedClientAddress(requestHeader(c, 'x-forwarded-for'), peer, trustedProxies) ?? 'unknown'
    );
  };
}
