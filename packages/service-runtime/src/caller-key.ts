/**
 * The key a per-caller limit counts a client address under. An IPv6 client is handed a whole /64 by its provider
 * (for a hosted server, one costs nothing), so keyed by its full address it would be 2^64 callers: its /64 is the
 * caller. An IPv4 address, also when written as IPv6 (`::ffff:1.2.3.4`, `::1.2.3.4`, or through a 4-to-6
 * translator's `64:ff9b::1.2.3.4`), is its own key, and so is anything that is no IP address (`local`, `unknown`).
 * @module
 */
import { isIPv6 } from 'node:net';

/**
 * The caller an address counts as: an IPv6 address's /64 (`2001:db8:1:2::/64`), an IPv4 one (however written) as a
 * dotted quad, anything else as it is.
 * @example
 * ```ts
 * callerKey('2001:db8:1:2:aaaa::1'); // '2001:db8:1:2::/64'
 * callerKey('::ffff:203.0.113.7'); // '203.0.113.7'
 * callerKey('203.0.113.7'); // '203.0.113.7'
 * ```
 */
export function callerKey(address: string): string {
  // A zone (`%eth0.100`) names a link, not a caller, and its dots would read as an IPv4 tail.
  const bare = address.split('%', 1)[0]!;
  if (!isIPv6(bare)) return address;
  const groups = groupsOf(bare.toLowerCase());
  const embedded = embeddedIPv4(groups);
  if (embedded !== undefined) return embedded;
  const hex = groups.map((group) => group.toString(16));
  // The first /64 holds no clients of its own but the IPv4 forms above: anything else there is its own caller.
  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0)
    return hex.join(':');
  return `${hex.slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address, `::` expanded and an IPv4 tail as its two groups. */
function groupsOf(address: string): number[] {
  const [head = '', tail] = address.split('::');
  const parse = (part: string) =>
    part === ''
      ? []
      : part.split(':').flatMap((group) => {
          if (!group.includes('.')) return [Number.parseInt(group, 16)];
          const [a = 0, b = 0, c = 0, d = 0] = group.split('.').map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const before = parse(head);
  const after = tail === undefined ? [] : parse(tail);
  return [...before, ...Array<number>(8 - before.length - after.length).fill(0), ...after];
}

/**
 * The IPv4 address an IPv6 one carries for an IPv4 client: mapped (`::ffff:0:0/96`), compatible (`::/96`, the
 * unspecified and loopback addresses aside) or through a 4-to-6 translator (`64:ff9b::/96`).
 */
function embeddedIPv4(groups: readonly number[]): string | undefined {
  const [g0, g1, g2, g3, g4, g5, g6 = 0, g7 = 0] = groups;
  const zeroTo4 = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0;
  const mapped = zeroTo4 && g5 === 0xffff;
  const compatible = zeroTo4 && g5 === 0 && g6 !== 0;
  const translated = g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0;
  if (!mapped && !compatible && !translated) return undefined;
  return `${g6 >> 8}.${g6 & 255}.${g7 >> 8}.${g7 & 255}`;
}
