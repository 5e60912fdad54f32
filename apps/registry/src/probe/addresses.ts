/**
 * Which IP addresses a probe may connect to. Everything that is not globally routable is refused: private and
 * shared ranges, loopback, link-local (the cloud metadata address lives there), multicast, documentation and
 * reserved blocks, and IPv6 forms that embed one of those IPv4 addresses.
 * @module
 */
import { BlockList, isIP } from 'node:net';

const NOT_PUBLIC_V4: readonly [string, number, string][] = [
  ['0.0.0.0', 8, 'this network'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'shared address space'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, '6to4 relay'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];

const NOT_PUBLIC_V6: readonly [string, number, string][] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['100::', 64, 'discard'],
  ['2001:db8::', 32, 'documentation'],
  ['fc00::', 7, 'unique local'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local'],
  ['ff00::', 8, 'multicast'],
];

const ranges = new Map<string, string>();
const blocked = new BlockList();
for (const [network, prefix, label] of NOT_PUBLIC_V4) {
  blocked.addSubnet(network, prefix, 'ipv4');
  ranges.set(`${network}/${prefix}`, label);
}
for (const [network, prefix, label] of NOT_PUBLIC_V6) {
  blocked.addSubnet(network, prefix, 'ipv6');
  ranges.set(`${network}/${prefix}`, label);
}

/**
 * The verdict on one address; a refusal says which range it fell in.
 * @example
 * ```ts
 * const verdict: AddressVerdict = checkAddress('10.0.0.1');
 * if (!verdict.allowed) console.log(verdict.why); // 'private'
 * ```
 */
export type AddressVerdict =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly why: string };

/**
 * Whether a probe may connect to `address`. With `allowLoopback` (the `--allow-insecure-local` mode), 127.0.0.0/8
 * and ::1 are allowed; every other non-public range stays refused, so the metadata address is never reachable.
 * @example
 * ```ts
 * checkAddress('169.254.169.254'); // { allowed: false, why: 'link-local' }
 * checkAddress('::ffff:10.0.0.1'); // { allowed: false, why: 'private (IPv4 in IPv6)' }
 * ```
 */
export function checkAddress(
  address: string,
  options: { allowLoopback?: boolean } = {},
): AddressVerdict {
  const family = isIP(address);
  if (family === 0) return { allowed: false, why: 'not an IP address' };
  if (family === 6) {
    const embedded = embeddedIPv4(address);
    if (embedded !== undefined) {
      const verdict = checkAddress(embedded, options);
      return verdict.allowed ? verdict : { allowed: false, why: `${verdict.why} (IPv4 in IPv6)` };
    }
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (options.allowLoopback && isLoopback(address, type)) return { allowed: true };
  if (!blocked.check(address, type)) return { allowed: true };
  return { allowed: false, why: labelOf(address, type) };
}

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

function isLoopback(address: string, type: 'ipv4' | 'ipv6'): boolean {
  return loopback.check(address, type);
}

function labelOf(address: string, type: 'ipv4' | 'ipv6'): string {
  for (const [range, label] of ranges) {
    const [network, prefix] = range.split('/') as [string, string];
    if ((type === 'ipv4') !== network.includes('.')) continue;
    const one = new BlockList();
    one.addSubnet(network, Number(prefix), type);
    if (one.check(address, type)) return label;
  }
  return 'not public';
}

/**
 * The IPv4 address inside an IPv4-mapped (::ffff:0:0/96), IPv4-compatible (::/96), NAT64 (64:ff9b::/96) or 6to4
 * (2002::/16) IPv6 address: each of these reaches the IPv4 host, so the IPv4 rules must decide.
 */
function embeddedIPv4(address: string): string | undefined {
  const words = expandIPv6(address);
  if (!words) return undefined;
  const v4 = (high: number, low: number) =>
    [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
  const zeros = (from: number, to: number) => words.slice(from, to).every((w) => w === 0);
  if (zeros(0, 5) && words[5] === 0xffff) return v4(words[6]!, words[7]!);
  if (zeros(0, 6) && (words[6] !== 0 || words[7]! > 1)) return v4(words[6]!, words[7]!);
  if (words[0] === 0x64 && words[1] === 0xff9b && zeros(2, 6)) return v4(words[6]!, words[7]!);
  if (words[0] === 0x2002) return v4(words[1]!, words[2]!);
  return undefined;
}

function expandIPv6(address: string): number[] | undefined {
  let text = address.split('%')[0]!.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const octets = dotted[1]!.split('.').map(Number);
    const high = ((octets[0]! << 8) | octets[1]!).toString(16);
    const low = ((octets[2]! << 8) | octets[3]!).toString(16);
    text = `${text.slice(0, dotted.index)}${high}:${low}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return undefined;
  const words = [...left, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...right];
  const parsed = words.map((w) => Number.parseInt(w, 16));
  return parsed.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffff) ? parsed : undefined;
}
