/**
 * Holding back an Express response while the payment settles (`after-handler`): the handler writes as usual, but
 * nothing reaches the socket until the settlement is known. Then the held response is sent with the receipt
 * headers, or thrown away for a 402 — the buyer never gets the content of a payment that did not settle.
 * @module
 */
import type { Response } from 'express';
import { paymentHeaderValue } from '../replies.js';

/** A response whose status, headers and body are held in memory. */
export type HeldResponse = {
  /** Resolves when the handler has ended the response (or the client went away: then `ended` is false). */
  readonly finished: Promise<{ ended: boolean }>;
  /** `true` until `release` or `replace`: the response is still hooked and nothing of the handler's has left. */
  readonly holding: boolean;
  /** Sends what the handler wrote, with these headers added (a `cache-control` of the handler's is kept). */
  release(headers?: Readonly<Record<string, string>>): void;
  /** Drops everything the handler wrote and sends this instead. */
  replace(status: number, headers: Readonly<Record<string, string>>, body: string): void;
};

type Chunk = string | Uint8Array;
type Callback = (error?: Error | null) => void;

/** Sets the middleware's headers on a response; see {@link paymentHeaderValue}. */
export function setPaymentHeaders(
  res: Response,
  headers: Readonly<Record<string, string>>,
  ownCacheControl = false,
): void {
  for (const [name, value] of Object.entries(headers)) {
    const next = paymentHeaderValue(name, value, res.getHeader(name), ownCacheControl);
    if (next !== undefined) res.setHeader(name, next);
  }
}

/**
 * Takes over `writeHead`, `write`, `end` and `flushHeaders` of `res` until `release` or `replace`. The handler's
 * headers stay in `res` (not sent), so `release` sends them and `replace` removes them.
 */
export function holdResponse(res: Response): HeldResponse {
  const original = {
    writeHead: res.writeHead,
    write: res.write,
    end: res.end,
    flushHeaders: res.flushHeaders,
  };
  const sendNow = (body: string | Buffer) =>
    (original.end as (body: unknown) => void).call(res, body);
  // What earlier middleware (CORS, request ids) set stays on a replacement; only the handler's headers go.
  const before = res.getHeaders();
  const chunks: Buffer[] = [];
  const add = (chunk: unknown, encoding: unknown) => {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
    chunks.push(
      typeof chunk === 'string'
        ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
        : Buffer.from(chunk as Uint8Array),
    );
  };
  let finish!: (outcome: { ended: boolean }) => void;
  const finished = new Promise<{ ended: boolean }>((resolve) => {
    finish = resolve;
  });
  const onClose = () => finish({ ended: false });
  res.once('close', onClose);

  const held = res as unknown as Record<string, unknown>;
  held.writeHead = function writeHead(status: number, ...rest: unknown[]) {
    res.statusCode = status;
    const headers = rest.find((arg) => typeof arg === 'object' && arg !== null);
    if (Array.isArray(headers)) {
      for (let i = 0; i + 1 < headers.length; i += 2)
        res.setHeader(String(headers[i]), headers[i + 1]);
    } else if (headers) {
      for (const [name, value] of Object.entries(headers)) res.setHeader(name, value as string);
    }
    return res;
  };
  held.write = function write(chunk: Chunk, encoding?: unknown, callback?: Callback) {
    add(chunk, encoding);
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') queueMicrotask(() => (done as Callback)());
    return true;
  };
  held.end = function end(chunk?: unknown, encoding?: unknown, callback?: unknown) {
    add(chunk, encoding);
    const done = [chunk, encoding, callback].find((arg) => typeof arg === 'function');
    res.off('close', onClose);
    finish({ ended: true });
    if (done) queueMicrotask(() => (done as Callback)());
    return res;
  };
  held.flushHeaders = function flushHeaders() {};

  let holding = true;
  const restore = () => {
    holding = false;
    Object.assign(held, original);
    res.off('close', onClose);
  };

  return {
    finished,
    get holding() {
      return holding;
    },
    release(headers = {}) {
      restore();
      setPaymentHeaders(res, headers, true);
      sendNow(Buffer.concat(chunks));
    },
    replace(status, headers, body) {
      restore();
      for (const name of res.getHeaderNames()) res.removeHeader(name);
      for (const [name, value] of Object.entries(before)) {
        if (value !== undefined) res.setHeader(name, value);
      }
      res.statusCode = status;
      setPaymentHeaders(res, headers);
      sendNow(body);
    },
  };
}
