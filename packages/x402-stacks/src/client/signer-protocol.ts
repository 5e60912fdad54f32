/**
 * The wire of a socket signer (`x402-stacks signer`): one JSON line a request, one JSON line its answer, one request
 * per connection. Both ends validate what they read with these schemas.
 * @module
 */
import { z } from 'zod';

/**
 * The longest line either end reads; a payment transaction is far below it. Each end stops reading a connection whose
 * line grows past it.
 * @example
 * ```ts
 * if (buffered.length > SIGNER_MAX_LINE_BYTES) socket.destroy(); // no newline yet, and already too long
 * ```
 */
export const SIGNER_MAX_LINE_BYTES = 256 * 1024;

const hex = (bytes?: number) =>
  bytes === undefined
    ? z.string().regex(/^([0-9a-f]{2})+$/i)
    : z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`, 'i'));

/**
 * A request to the signer: who it signs for, or a signature.
 * @example
 * ```ts
 * const request: SignerRequest = { op: 'sign', address, sighash, transaction };
 * ```
 */
export const signerRequestSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('identity') }).strict(),
  z
    .object({
      op: z.literal('sign'),
      address: z.string().min(1).max(128),
      sighash: hex(32),
      transaction: hex().max(128 * 1024),
    })
    .strict(),
]);

/**
 * A request to the signer.
 * @example
 * ```ts
 * const request: SignerRequest = signerRequestSchema.parse(JSON.parse(line));
 * if (request.op === 'identity') reply({ ok: true, address, publicKey, network: 'testnet' });
 * ```
 */
export type SignerRequest = z.infer<typeof signerRequestSchema>;

/**
 * The signer's answer: its identity, a signature, or a refusal with a snake_case reason.
 * @example
 * ```ts
 * const answer = signerAnswerSchema.parse(JSON.parse(line));
 * ```
 */
export const signerAnswerSchema = z.union([
  z
    .object({
      ok: z.literal(true),
      address: z.string().min(1).max(128),
      publicKey: hex(),
      network: z.enum(['mainnet', 'testnet']),
    })
    .strict(),
  z.object({ ok: z.literal(true), signature: hex(65) }).strict(),
  z
    .object({
      ok: z.literal(false),
      reason: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/),
      message: z.string().max(500),
    })
    .strict(),
]);

/**
 * The signer's answer.
 * @example
 * ```ts
 * const answer: SignerAnswer = signerAnswerSchema.parse(JSON.parse(line));
 * if (!answer.ok) throw new Error(`${answer.reason}: ${answer.message}`);
 * ```
 */
export type SignerAnswer = z.infer<typeof signerAnswerSchema>;
