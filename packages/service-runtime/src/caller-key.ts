/**
 * The key a per-caller limit counts a client address under. An IPv6 client is handed a whole /64 by its provider
 * (for a hosted server, one costs nothing), so keyed by its full address it would be 2^64 callers: its /64 is the
 * caller. An IPv4 address, and anything that is no IP address (`local`, `unknown`), is its own key.
 * @module
 */
import { isIPv6 } from 'node:net';

/**
 * The caller an address counts as: an IPv6 address's /64 (`2001:db8:1:2::/64`), anything else as it is.
 * @example
 * ```ts
 * callerKey('2001:db8:1:2:aaaa::1'); // '2001:db8:1:2::/64'
 * callerKey('203.0.113.7'); // '203.0.113.7'
 * ```
 */
export function callerKey(address: string): string {
  const bare = address.split('%', 1)[0]!;
  if (!isIPv6(bare)) return address;
  const [head = '', tail] = bare.toLowerCase().split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  // Only the first four groups matter, and an IPv4 tail (`::1.2.3.4`) only ever sits in the last two.
  const missing = Math.max(0, 8 - headGroups.length - groupsOf(tailGroups));
  const groups = [...headGroups, ...Array<string>(missing).fill('0'), ...tailGroups];
  const prefix = groups.slice(0, 4).map((group) => Number.parseInt(group, 16).toString(16));
  return `${prefix.join(':')}::/64`;
}

/** How many 16-bit groups a run of groups stands for: an IPv4 tail (`1.2.3.4`) is two. */
function groupsOf(groups: readonly string[]): number {
  return groups.reduce((count, group) => count + (group.includes('.') ? 2 : 1), 0);
}
