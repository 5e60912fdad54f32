/**
 * The address a request comes from, behind reverse proxies the operator runs. Each proxy appends the address it was
 * reached from to `X-Forwarded-For`, after whatever the client wrote there itself, so only the entries counted from
 * the right can be trusted: with `n` proxies in front, the client is the `n`-th entry from the right (the one the
 * farthest proxy wrote). The leftmost entry is whatever the client chose, and keying a per-caller limit on it lets
 * one caller pass as any number of others.
 * @module
 */

/** The most proxies that may stand in front of a service: more is a misconfiguration, not a deployment. */
export const MAX_TRUSTED_PROXIES = 10;

/**
 * The client's address: the peer's when `trustedProxies` is 0 (or not a whole number) or nothing was forwarded; else
 * the entry of `X-Forwarded-For` that the farthest trusted proxy wrote, or, when the header holds fewer entries than
 * there are proxies, its leftmost (the farthest hop anyone wrote). A port some proxies add (`203.0.113.7:51234`,
 * `[2001:db8::1]:443`) and an IPv4 address written as IPv6 (`::ffff:203.0.113.7`) are left out, so one client is one
 * key whatever its connection; the peer's address likewise. Undefined when the chosen entry is empty and there is no
 * peer.
 * @param forwardedFor the header, repeated lines joined with `,`.
 * @example
 * ```ts
 * forwardedClientAddress('6.6.6.6, 203.0.113.7', '10.0.0.2', 1); // '203.0.113.7': the proxy appended it
 * forwardedClientAddress('6.6.6.6, 203.0.113.7', '10.0.0.2', 0); // '10.0.0.2': no proxy is trusted
 * ```
 */
export function forwardedClientAddress(
  forwardedFor: string | undefined,
  peer: string | undefined,
  trustedProxies: number,
): string | undefined {
  const peerAddress = peer === undefined ? undefined : addressOnly(peer);
  if (!(Number.isInteger(trustedProxies) && trustedProxies > 0) || forwardedFor === undefined)
    return peerAddress;
  // From the right, comma by comma: a header of thousands of entries costs no more than the few it needs. A leading
  // comma leaves an empty first entry (`lastIndexOf` from -1 finds nothing), as a split would.
  let end = forwardedFor.length;
  let start = forwardedFor.lastIndexOf(',', end - 1) + 1;
  for (let hop = 1; hop < trustedProxies && start > 0; hop++) {
    end = start - 1;
    start = forwardedFor.lastIndexOf(',', end - 1) + 1;
  }
  const written = forwardedFor.slice(start, end).trim();
  return written === '' ? peerAddress : addressOnly(written);
}

/**
 * The address of an entry, without the port or brackets a proxy may write, and IPv4 as IPv4 (a dual-stack socket
 * reports `::ffff:203.0.113.7`). An entry that is all brackets stays as written: it is no address, and no other's.
 */
function addressOnly(entry: string): string {
  let address = entry.toLowerCase();
  if (address.startsWith('[')) address = address.slice(1, address.indexOf(']') >>> 0);
  else if (/^[\d.]+:\d+$/.test(address)) address = address.slice(0, address.indexOf(':'));
  if (address === '') return entry;
  return address.startsWith('::ffff:') && /^[\d.]+$/.test(address.slice(7))
    ? address.slice(7)
    : address;
}

/**
 * The number of proxies an app option names: `true` one, `false` or nothing none, or a whole number up to
 * {@link MAX_TRUSTED_PROXIES}.
 * @throws RangeError for any other number: counting too many hops would key on an entry the client wrote.
 * @example
 * ```ts
 * trustedProxiesOption(true); // 1
 * ```
 */
export function trustedProxiesOption(option: boolean | number | undefined): number {
  const count = Number(option ?? false);
  if (!(Number.isInteger(count) && count >= 0 && count <= MAX_TRUSTED_PROXIES))
    throw new RangeError(
      `trustProxy must be true, false or a whole number of proxies from 0 to ${MAX_TRUSTED_PROXIES}, got ${String(option)}`,
    );
  return count;
}

/** What a `TRUST_PROXY` setting may be, for a configuration error. */
export const TRUST_PROXY_EXPECTED = `expected true, false or the number of proxies in front (0 to ${MAX_TRUSTED_PROXIES})`;

/**
 * How many proxies `TRUST_PROXY` trusts: `false` 0, `true` 1, or a whole number up to {@link MAX_TRUSTED_PROXIES}.
 * Undefined for anything else.
 * @example
 * ```ts
 * trustedProxyCount('true'); // 1
 * trustedProxyCount('2'); // 2
 * trustedProxyCount('yes'); // undefined
 * ```
 */
export function trustedProxyCount(setting: string): number | undefined {
  if (setting === 'false') return 0;
  if (setting === 'true') return 1;
  if (!/^\d{1,2}$/.test(setting)) return undefined;
  const count = Number(setting);
  return count <= MAX_TRUSTED_PROXIES ? count : undefined;
}
