/**
 * The buyer's end of `x402-stacks signer`: a {@link Signer} whose key lives in another process, reached over a local
 * Unix socket. The signer decides on the decoded transaction by its own policy; this end only asks, and the payer
 * checks the signature it gets back against the signer's public key. Node only (`node:net`, through `builtin()`).
 * @module
 */

import { builtin } from '../stacks/builtin.js';
import { SignerError } from '../stacks/errors.js';
import { resolveNetwork } from '../stacks/networks.js';
import type { Signer } from '../stacks/signer.js';
import {
  SIGNER_MAX_LINE_BYTES,
  type SignerAnswer,
  type SignerRequest,
  signerAnswerSchema,
} from './signer-protocol.js';

type Net = typeof import('node:net');

/**
 * Options of {@link socketSigner}.
 * @example
 * ```ts
 * const options: SocketSignerOptions = { timeoutMs: 5_000 };
 * ```
 */
export type SocketSignerOptions = {
  /** How long one request may take, ms. Default 10,000. */
  timeoutMs?: number;
};

/**
 * Connects to the signer at `path`, learns the address and public key it signs for, and returns a {@link Signer}
 * that asks it for each signature.
 * @throws {SignerError} `signer_unavailable` when nothing answers there (or outside node).
 * @example
 * ```ts
 * import { socketSigner, wrapFetchWithPayment } from 'x402-stacks/client';
 * const signer = await socketSigner('/run/user/1000/x402-stacks/signer.sock');
 * const fetchWithPayment = wrapFetchWithPayment(fetch, signer, { apiUrl });
 * ```
 */
export async function socketSigner(
  path: string,
  options: SocketSignerOptions = {},
): Promise<Signer> {
  const net = builtin<Net>('node:net');
  if (!net) {
    throw new SignerError('signer_unavailable', 'a socket signer needs node (node:net)');
  }
  const { timeoutMs = 10_000 } = options;
  const ask = (request: SignerRequest) => exchange(net, path, request, timeoutMs);
  const identity = await ask({ op: 'identity' });
  if (!identity.ok || !('address' in identity)) {
    throw new SignerError(
      'signer_unavailable',
      `the signer at ${path} did not say who it signs for`,
    );
  }
  const network = resolveNetwork(identity.network);
  return Object.freeze({
    address: identity.address,
    publicKey: identity.publicKey,
    network: network.name,
    caip2: network.caip2,
    async signTransaction(request) {
      const answer = await ask({ op: 'sign', ...request });
      if (answer.ok && 'signature' in answer) return answer.signature;
      if (!answer.ok) {
        throw new SignerError(
          'signer_refused',
          `the signer refused: ${answer.reason} (${answer.message})`,
          {
            signerReason: answer.reason,
          },
        );
      }
      throw new SignerError('signer_unavailable', 'the signer answered without a signature');
    },
  } satisfies Signer);
}

/** One request on its own connection, and its one-line answer. */
function exchange(
  net: Net,
  path: string,
  request: SignerRequest,
  timeoutMs: number,
): Promise<SignerAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ path });
    let buffered = '';
    let done = false;
    const finish = (error: Error | undefined, answer?: SignerAnswer) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(answer!);
    };
    const unavailable = (why: string, cause?: unknown) =>
      new SignerError('signer_unavailable', `the signer at ${path} ${why}`, { cause });
    const timer = setTimeout(
      () => finish(unavailable(`did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    (timer as { unref?: () => void }).unref?.();
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > SIGNER_MAX_LINE_BYTES)
        return finish(unavailable('sent too long an answer'));
      const newline = buffered.indexOf('\n');
      if (newline < 0) return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(buffered.slice(0, newline));
      } catch (cause) {
        return finish(unavailable('sent an answer that is not JSON', cause));
      }
      const answer = signerAnswerSchema.safeParse(parsed);
      if (!answer.success) return finish(unavailable('sent an answer that is not a signer answer'));
      finish(undefined, answer.data);
    });
    socket.on('error', (cause: NodeJS.ErrnoException) =>
      finish(unavailable(`cannot be reached (${cause.code ?? cause.message})`, cause)),
    );
    socket.on('close', () => finish(unavailable('closed the connection without an answer')));
  });
}
