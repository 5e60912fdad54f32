/** Small pieces the pages share: status badges, prices, and times relative to the registry's clock. */
import { html } from 'hono/html';
import { humanPrice } from '../http/present.js';
import type { ListedAccept, ListingStatus } from '../listing.js';

const NETWORK_LABELS: Record<string, string> = {
  'stacks:1': 'mainnet',
  'stacks:2147483648': 'testnet',
};

/** A status badge. */
export function statusBadge(status: ListingStatus) {
  return html`<span class="badge ${status}">${status}</span>`;
}

/** A network badge: the name, with the CAIP-2 id as its title. */
export function networkBadge(network: string) {
  return html`<span class="badge net" title="${network}">${NETWORK_LABELS[network] ?? network}</span>`;
}

/** `testnet (stacks:2147483648)`. */
export function networkLabel(network: string): string {
  const name = NETWORK_LABELS[network];
  return name ? `${name} (${network})` : network;
}

/** `1 check`, `3 checks`. */
export function plural(count: number, noun: string): string {
  return `${count.toLocaleString('en-US')} ${noun}${count === 1 ? '' : 's'}`;
}

/** `0.001 STX`, or the atomic amount and asset when the decimals are unknown. */
export function priceText(accept: ListedAccept): string {
  const price = humanPrice(accept);
  return price ? `${price.amount} ${price.unit}` : `${accept.amount} (atomic) ${accept.asset}`;
}

/** The atomic unit's name, for the line under a price. */
export function atomicText(accept: ListedAccept): string {
  const unit =
    accept.symbol === 'STX' ? 'µSTX' : accept.symbol === 'sBTC' ? 'sats' : 'atomic units';
  return `${accept.amount} ${unit}`;
}

/** "5 min ago", "in 2 h", or the date for anything older than a week. */
export function relativeTime(ms: number, now: number): string {
  const delta = ms - now;
  const abs = Math.abs(delta);
  const units: [number, string][] = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'min'],
  ];
  if (abs > 7 * 86_400_000) return new Date(ms).toISOString().slice(0, 10);
  for (const [size, label] of units) {
    if (abs >= size) {
      const n = Math.round(abs / size);
      return delta < 0 ? `${n} ${label} ago` : `in ${n} ${label}`;
    }
  }
  return delta < 0 ? 'just now' : 'in under a minute';
}
