/**
 * JSON text with holes: a value serialized once with marker strings where per-call strings go, then split there, so
 * each call joins constant parts with its strings instead of serializing the whole value again. Used for what
 * changes on every 402 (a sign-in challenge's nonce and times) inside what does not.
 * @module
 */

/**
 * A string that stands for hole `name` until the text is split around it. The NULs keep it out of what a URL holds
 * and of any text a seller means to write; were a value around the holes to hold a marker all the same, the marker
 * would be found twice and {@link jsonWithHoles} would give no writer.
 */
export function jsonHole(name: string): string {
  // Closed by a second NUL, so no hole's marker is the start of another's.
  return `\u0000json-hole:${name}\u0000`;
}

/**
 * Serializes `value`, in which each of `holes` ({@link jsonHole} strings) appears once as a string value, and returns
 * a function writing the same JSON with the holes' strings given in `holes`' order. The strings go between the quotes
 * as they are: only text JSON writes unescaped may be given (hex, ISO-8601 times), which the callers' fields are by
 * construction.
 * @returns the writer, or undefined when a hole is not found exactly once in the text.
 * @example
 * ```ts
 * const write = jsonWithHoles({ a: 1, nonce: jsonHole('n') }, [jsonHole('n')])!;
 * write('00ff'); // '{"a":1,"nonce":"00ff"}', as JSON.stringify({ a: 1, nonce: '00ff' })
 * ```
 */
export function jsonWithHoles(
  value: unknown,
  holes: readonly string[],
): ((...strings: string[]) => string) | undefined {
  const text = JSON.stringify(value);
  // Where each hole's text sits, inside its quotes: the quotes stay in the constant parts.
  const found: { hole: number; at: number; length: number }[] = [];
  for (let hole = 0; hole < holes.length; hole++) {
    const marker = JSON.stringify(holes[hole]).slice(1, -1);
    const at = text.indexOf(marker);
    if (at < 0 || text.indexOf(marker, at + 1) >= 0) return undefined;
    found.push({ hole, at, length: marker.length });
  }
  found.sort((x, y) => x.at - y.at);
  const parts: string[] = [];
  let from = 0;
  for (const { at, length } of found) {
    parts.push(text.slice(from, at));
    from = at + length;
  }
  parts.push(text.slice(from));
  // The argument taken after each part: holes may be given in another order than they appear in the text.
  const order = found.map(({ hole }) => hole);
  return (...strings) => {
    let out = parts[0]!;
    for (let k = 0; k < order.length; k++) out += strings[order[k]!]! + parts[k + 1]!;
    return out;
  };
}
