/**
 * The request as Node's HTTP server parsed it, when the app runs on @hono/node-server. Hono's `c.req.header()` there
 * builds a whole WHATWG `Headers` from the raw header list on first use, and every request asked for one or two; Node
 * has the same headers parsed already.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { Context } from 'hono';

/**
 * Node's request under @hono/node-server (HTTP/1 or HTTP/2); `undefined` elsewhere (tests through `app.request`,
 * other runtimes).
 * @example
 * ```ts
 * const incoming = incomingOf(c);
 * if (incoming) incoming.on('data', onData);
 * ```
 */
export function incomingOf(c: Context): IncomingMessage | Http2ServerRequest | undefined {
  return (c.env as { incoming?: IncomingMessage | Http2ServerRequest } | undefined)?.incoming;
}

/**
 * A request header by its lower-case name, as `c.req.header(name)` answers it for the headers the service reads
 * (`x-request-id`, `content-length`, `x-forwarded-for`): repeated lines joined with `, `. Not for every header: Node
 * keeps only the first of some repeated ones (`authorization`, `content-type`, `host`) and joins `cookie` with `; `.
 * @example
 * ```ts
 * const offered = requestHeader(c, 'x-request-id');
 * ```
 */
export function requestHeader(c: Context, name: string): string | undefined {
  const incoming = incomingOf(c);
  if (!incoming) return c.req.header(name);
  const value = incoming.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}
