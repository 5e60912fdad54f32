/**
 * The door of a stopping service. Node's `server.close()` stops taking connections, but a client's keep-alive
 * connection that is already open may still carry its next request into a process about to exit, where the stop's
 * deadline would cut it. Once the service stops, a new request is refused `503 service_stopping` with
 * `Retry-After: 1`, a named answer its client may send again (to another instance, behind a load balancer), and every
 * answer, those of requests already running included, closes its connection.
 * @module
 */
import type { MiddlewareHandler } from 'hono';

/**
 * @param isStopping whether the service is stopping; asked once as a request comes in and once as it is answered.
 * @example
 * ```ts
 * let stopping = false;
 * app.use('*', stoppingGate(() => stopping));
 * ```
 */
export function stoppingGate(isStopping: () => boolean): MiddlewareHandler {
  return async (c, next) => {
    // HTTP/2 has no `Connection` header (Node refuses one): there the server's close ends the session.
    const http1 = ((c.env as NodeEnv | undefined)?.incoming?.httpVersionMajor ?? 1) < 2;
    if (isStopping()) {
      return c.json(
        {
          error: 'service_stopping',
          details: 'this facilitator is stopping; send the request again',
        },
        503,
        { 'retry-after': '1', ...(http1 ? { connection: 'close' } : {}) },
      );
    }
    await next();
    if (http1 && isStopping()) c.res.headers.set('connection', 'close');
  };
}

/** What @hono/node-server passes as the context's env. */
type NodeEnv = { readonly incoming?: { readonly httpVersionMajor?: number } };
