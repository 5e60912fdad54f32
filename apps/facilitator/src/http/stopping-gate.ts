/**
 * The door of a stopping service. Node's `server.close()` stops taking connections, but a client's keep-alive
 * connection that is already open may still carry its next request into a process about to exit, where the stop's
 * deadline would cut it. Once the service stops, a new request is refused `503 service_stopping` with
 * `Retry-After: 1` (a load balancer or a seller's retry sends it to another instance), and every answer, those of
 * requests already running included, closes its connection.
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
    if (isStopping()) {
      return c.json(
        {
          error: 'service_stopping',
          details: 'this facilitator is stopping; send the request again',
        },
        503,
        { connection: 'close', 'retry-after': '1' },
      );
    }
    await next();
    if (isStopping()) c.res.headers.set('connection', 'close');
  };
}
