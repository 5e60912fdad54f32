/**
 * Reading a JSON request body against a schema: `{data}`, or the answer `{error, details}` (400, or 413 over the size
 * limit). On Node's HTTP server the bytes are read straight from the socket's request stream: building a WHATWG
 * `Request` for the body costs more than verifying the payment in it.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { Context } from 'hono';
import type { z } from 'zod';
import { incomingOf, requestHeader } from './http/incoming.js';

type Parsed<T> = { data: T } | BodyProblem;

/** What reads a body: a zod schema, or a parse function with the same answer (`parseVerifyRequest`). */
export type BodyParser<T> = { safeParse(input: unknown): z.ZodSafeParseResult<T> };

/** Why a body was refused, as the route answers it. */
export type BodyProblem = {
  readonly error: 'invalid_json' | 'invalid_request' | 'body_too_large';
  readonly details: unknown;
};

/** The status a refused body is answered with. */
export const statusOf = (problem: BodyProblem): 400 | 413 =>
  problem.error === 'body_too_large' ? 413 : 400;

/** Default limit: a payment is under 2 KiB. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

export async function readBody<T>(
  c: Context,
  schema: BodyParser<T>,
  maxBytes: number = DEFAULT_MAX_BODY_BYTES,
): Promise<Parsed<T>> {
  const text = await readText(c, maxBytes);
  if (text === undefined) {
    return { error: 'body_too_large', details: `the request body is over ${maxBytes} bytes` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { error: 'invalid_json', details: 'the body is not JSON' };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    return {
      error: 'invalid_request',
      details: parsed.error.issues.slice(0, 10).map((issue) => ({
        path: issue.path.join('.'),
        message: issue.message,
      })),
    };
  }
  return { data: parsed.data };
}

/** The body as text, or undefined past `maxBytes` (judged by Content-Length first, then by what arrives). */
async function readText(c: Context, maxBytes: number): Promise<string | undefined> {
  const declared = Number(requestHeader(c, 'content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) return undefined;
  const incoming = incomingOf(c);
  if (incoming) return readIncoming(incoming, maxBytes);
  const stream: AsyncIterable<Uint8Array> | null = c.req.raw.body;
  if (!stream) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.byteLength;
    if (size > maxBytes) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Node's request stream read through its events: an async iterator over it costs a promise and a queue per chunk,
 * for a payment that arrives in one. Past `maxBytes` the rest is drained unread (undefined), so the answer can still
 * be written on the same connection.
 */
function readIncoming(
  incoming: IncomingMessage | Http2ServerRequest,
  maxBytes: number,
): Promise<string | undefined> {
  if (incoming.readableEnded) return Promise.resolve('');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > maxBytes) {
        incoming.off('data', onData);
        incoming.resume();
        done(undefined);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () =>
      done(
        chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'),
      );
    const onError = (error: Error) => {
      cleanUp();
      reject(error);
    };
    const onClose = () => {
      // Closed before its end: the caller hung up mid-body.
      if (!incoming.readableEnded) onError(new Error('the request closed before its body ended'));
    };
    const cleanUp = () => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('close', onClose);
    };
    const done = (text: string | undefined) => {
      cleanUp();
      resolve(text);
    };
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('close', onClose);
  });
}
