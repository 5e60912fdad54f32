/**
 * One growing buffer for the raw bytes of every transaction the chain keeps. A typed array per transaction costs
 * about as much in object overhead as the ~180 bytes it holds; offsets into one buffer cost two small integers.
 * @module
 */
export class ByteArena {
  #bytes = new Uint8Array(1 << 16);
  #used = 0;

  /** Copies `bytes` in and returns where they start. */
  append(bytes: Uint8Array): number {
    if (this.#used + bytes.length > this.#bytes.length) {
      let capacity = this.#bytes.length * 2;
      while (capacity < this.#used + bytes.length) capacity *= 2;
      const grown = new Uint8Array(capacity);
      grown.set(this.#bytes.subarray(0, this.#used));
      this.#bytes = grown;
    }
    const offset = this.#used;
    this.#bytes.set(bytes, offset);
    this.#used += bytes.length;
    return offset;
  }

  /** A view of stored bytes; valid until the next `append` grows the arena, so callers copy or use it at once. */
  view(offset: number, length: number): Uint8Array {
    return this.#bytes.subarray(offset, offset + length);
  }
}
