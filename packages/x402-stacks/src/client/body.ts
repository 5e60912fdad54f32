/**
 * Reading a response body with a size limit. A 402 comes from a server the buyer has not paid yet, possibly a hostile
 * one: its body is read only as far as a challenge can reach.
 * @module
 */

/**
 * The most of a 402 body that is read, in bytes: 64 KiB, four times the largest payment header.
 * @example
 * ```ts
 * const text = await readTextUpTo(response, MAX_CHALLENGE_BODY_BYTES);
 * ```
 */
export const MAX_CHALLENGE_BODY_BYTES = 64 * 1024;

/**
 * The body as UTF-8 text, or `undefined` when it is longer than `limit` bytes or cannot be read. The rest of a body
 * over the limit is cancelled, not downloaded.
 * @example
 * ```ts
 * const body = await readTextUpTo(await fetch(url), 64 * 1024);
 * ```
 */
export async function readTextUpTo(response: Response, limit: number): Promise<string | undefined> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel();
        return undefined;
      }
      chunks.push(value);
    }
  } catch {
    return undefined;
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}
