/**
 * The address a request comes from: the socket's peer, or behind a reverse proxy that the operator trusts, the
 * first address in `X-Forwarded-For`. Never trust that header by default: any client can write it.
 * @module
 */
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import { requestHeader } from './incoming.js';

/**
 * @example
 * ```ts
 * const addressOf = clientAddressResolver({ trustProxy: false });
 * app.use('*', async (c, next) => { console.log(addressOf(c)); await next(); });
 * ```
 */
export function clientAddressResolver(options: { trustProxy: boolean }): (c: Context) => string {
  return (c) => {
    if (options.trustProxy) {
      const forwarded = requestHeader(c, 'x-forwarded-for')?.split(',')[0]?.trim();
      if (forwarded) return forwarded;
    }
    try {
      return getConnInfo(c).remote.address ?? 'unknown';
    } catch {
      // In-process requests (app.request in tests, a seller embedding the app) have no socket.
      return 'local';
    }
  };
}
