/**
 * The signal that a `/settle` caller hung up. On Node's HTTP server it is taken from the response itself: asking the
 * request for `c.req.raw.signal` makes @hono/node-server build a whole WHATWG `Request` (headers, body stream, abort
 * controller), which cost about a twentieth of a settlement's CPU for one flag.
 * @module
 */
import type { ServerResponse } from 'node:http';
import type { Context } from 'hono';

/**
 * Aborts when the connection closes before the answer was written whole, as @hono/node-server's request signal does.
 * Elsewhere (tests through `app.request`, other runtimes) it is the request's own signal.
 * @example
 * ```ts
 * await facilitator.settle(payload, requirements, { signal: hangUpSignal(c) });
 * ```
 */
export function hangUpSignal(c: Context): AbortSignal {
  const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  if (!outgoing || typeof outgoing.once !== 'function') return c.req.raw.signal;
  const controller = new AbortController();
  const closed = () => {
    if (!outgoing.writableFinished) controller.abort(new Error('the client closed the connection'));
  };
  if (outgoing.closed) closed();
  else outgoing.once('close', closed);
  return controller.signal;
}
