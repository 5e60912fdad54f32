/**
 * The chain client's round trip over node's own `http`/`https`, its default wherever they exist. Under settle load a
 * third of the facilitator's CPU went to undici `fetch` (its streams, an AbortController and its signal per request);
 * a plain `request` on a keep-alive agent does the same work for a fraction of that. Internal: not re-exported.
 * @module
 */
import type * as Http from 'node:http';
import type * as Zlib from 'node:zlib';
import { builtin } from '../stacks/builtin.js';
import { type Attempt, type Exchange, failedAttempt } from './exchange.js';

/**
 * Connections kept per client, busy or idle. A request beyond it waits for a free one, inside its own timeout. A
 * facilitator settling 32 payments at once reads nonces, account and token balance of each together: this leaves
 * room for that without opening hundreds of sockets to a node that serves them one core at a time.
 */
export const MAX_SOCKETS = 64;

/**
 * An idle connection is closed after this long. Below the 5 s keep-alive of node's own HTTP server (which the Stacks
 * API runs on), so we do not reuse a socket the server is closing at that very moment: a broadcast lost that way
 * could not be retried. Undici, the `fetch` this replaces, uses the same 4 s.
 */
const IDLE_SOCKET_MS = 4_000;

type HttpModule = Pick<typeof Http, 'Agent' | 'request'>;
type ZlibModule = Pick<typeof Zlib, 'gunzipSync' | 'inflateSync' | 'brotliDecompressSync'>;

/**
 * One request per call to `origin` on a keep-alive agent, under one timer that also covers reading the body.
 * Undefined where the runtime has no node `http` (a browser, a worker): the caller then falls back to `fetch`.
 *
 * The origin's host and port are read once here: turning a URL into request options on every call cost about a
 * quarter of the exchange's CPU per request in a scratch measurement. The runtime's modules are looked up with
 * `process.getBuiltinModule`, not imported, so the package still loads in a browser and bundlers never see
 * `node:http`.
 * @example
 * ```ts
 * const origin = new URL('http://127.0.0.1:3999');
 * const exchange = createNodeExchange(origin, 10_000) ?? createFetchExchange(globalThis.fetch, origin.origin, 10_000);
 * ```
 */
export function createNodeExchange(origin: URL, timeoutMs: number): Exchange | undefined {
  const http = builtin<HttpModule>(origin.protocol === 'https:' ? 'node:https' : 'node:http');
  if (!http) return undefined;
  const agent = new http.Agent({
    keepAlive: true,
    maxSockets: MAX_SOCKETS,
    // On an idle socket, this closes it; on a busy one it does nothing (our own timer decides).
    timeout: IDLE_SOCKET_MS,
  });
  // `[::1]` in a URL is `::1` to a socket.
  const hostname = origin.hostname.startsWith('[') ? origin.hostname.slice(1, -1) : origin.hostname;
  const port = origin.port === '' ? undefined : Number(origin.port);

  return (request) =>
    new Promise<Attempt>((resolve) => {
      let done = false;
      let outgoing: Http.ClientRequest | undefined;
      const finish = (attempt: Attempt) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(attempt);
      };
      const timer = setTimeout(() => {
        const error = Object.assign(new Error(`no complete answer within ${timeoutMs} ms`), {
          code: 'ETIMEDOUT',
        });
        finish(failedAttempt(error, true));
        outgoing?.destroy(error);
      }, timeoutMs);

      try {
        outgoing = http.request({
          hostname,
          port,
          path: request.target,
          method: request.method,
          headers: request.body
            ? { ...request.headers, 'content-length': String(request.body.length) }
            : request.headers,
          agent,
        });
      } catch (error) {
        // Node refuses some headers synchronously (a newline in an API key): nothing was sent.
        finish(failedAttempt(error, false));
        return;
      }
      // After our own timeout destroys the request, its error lands here and is ignored.
      outgoing.on('error', (error) => finish(failedAttempt(error, false)));
      outgoing.on('response', (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', (error) => finish(failedAttempt(error, false)));
        response.on('close', () => {
          if (response.complete) return;
          const error = Object.assign(new Error('the connection closed before the answer ended'), {
            code: 'ECONNRESET',
          });
          finish(failedAttempt(error, false));
        });
        response.on('end', () => {
          const { headers } = response;
          let text: string;
          try {
            text = decode(chunks, headers['content-encoding']);
          } catch (error) {
            finish(failedAttempt(error, false));
            return;
          }
          finish({
            kind: 'response',
            status: response.statusCode ?? 0,
            header(name) {
              const value = headers[name];
              return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
            },
            text,
          });
        });
      });
      outgoing.end(request.body);
    });
}

/**
 * The body as text. No `accept-encoding` is sent, so servers answer uncompressed (on 127.0.0.1 inflating costs more
 * than it saves); one that compresses anyway is decoded, as `fetch` would have.
 */
function decode(chunks: Buffer[], encoding: string | undefined): string {
  const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  const text =
    encoding === undefined || encoding === 'identity' || body.length === 0
      ? body.toString('utf8')
      : decompress(body, encoding).toString('utf8');
  // fetch's text() drops a byte order mark; JSON.parse would choke on it.
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function decompress(body: Buffer, encoding: string): Buffer {
  const zlib = builtin<ZlibModule>('node:zlib');
  if (!zlib) throw new Error(`cannot decode a ${encoding} body`);
  switch (encoding.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return zlib.gunzipSync(body);
    case 'deflate':
      return zlib.inflateSync(body);
    case 'br':
      return zlib.brotliDecompressSync(body);
    default:
      throw new Error(`the answer is in an encoding this client does not read (${encoding})`);
  }
}
