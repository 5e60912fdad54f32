/**
 * The directory: a search form with filters over the same query the API takes, and a page of results.
 * @module
 */
import { html } from 'hono/html';
import { LISTING_STATUSES } from '../listing.js';
import type { StoredListing } from '../store/types.js';
import { atomicText, networkBadge, priceText, statusBadge } from './format.js';
import { layout } from './layout.js';

/** The page's inputs: the raw query (to refill the form), the results, and any query problems. */
export type DirectoryPage = {
  readonly params: Record<string, string | undefined>;
  readonly items: readonly StoredListing[];
  readonly total: number;
  readonly nextCursor: string | null;
  readonly problems: readonly { path: string; message: string }[];
};

/** Renders the directory page. */
export function directoryPage(page: DirectoryPage) {
  const p = page.params;
  const select = (name: string, options: [string, string][]) =>
    html`<select name="${name}">${options.map(
      ([value, label]) =>
        html`<option value="${value}"${p[name] === value ? html` selected` : ''}>${label}</option>`,
    )}</select>`;
  const next = page.nextCursor
    ? `/?${new URLSearchParams({ ...definedOnly(p), cursor: page.nextCursor }).toString()}`
    : undefined;
  const body = html`
<h1>Paid APIs on Stacks</h1>
<p class="lede">Endpoints that charge in STX, sBTC or SIP-010 tokens over x402, probed and re-checked by the registry.</p>
<form class="search card" method="get" action="/">
  <div class="searchrow">
    <input type="search" name="q" value="${p.q ?? ''}" placeholder="Search names, descriptions and URLs" aria-label="Search">
    <button type="submit">Search</button>
  </div>
  <div class="filters">
    <label>Network ${select('network', [
      ['', 'Any'],
      ['stacks:1', 'Mainnet'],
      ['stacks:2147483648', 'Testnet'],
    ])}</label>
    <label>Asset ${select('asset', [
      ['', 'Any'],
      ['STX', 'STX'],
      ['sBTC', 'sBTC'],
      ['USDCx', 'USDCx'],
    ])}</label>
    <label>Max price <input name="maxPrice" inputmode="decimal" value="${p.maxPrice ?? ''}" placeholder="e.g. 0.01"></label>
    <label>Method ${select('method', [
      ['', 'Any'],
      ['GET', 'GET'],
      ['POST', 'POST'],
      ['PUT', 'PUT'],
      ['DELETE', 'DELETE'],
    ])}</label>
    <label>Status ${select('status', [['', 'Listed'], ...LISTING_STATUSES.map((s): [string, string] => [s, s[0]!.toUpperCase() + s.slice(1)])])}</label>
    <label>Sort ${select('sort', [
      ['newest', 'Newest'],
      ['price', 'Price'],
    ])}</label>
  </div>
</form>
${page.problems.length > 0 ? html`<div class="notice bad">${page.problems.map((problem) => html`<div>${problem.path}: ${problem.message}</div>`)}</div>` : ''}
<p class="count">${page.total.toLocaleString('en-US')} ${page.total === 1 ? 'listing' : 'listings'}</p>
${
  page.items.length === 0
    ? html`<div class="card empty">Nothing matches. <a href="/register">Register an endpoint</a>.</div>`
    : html`<ul class="results">${page.items.map(resultCard)}</ul>`
}
${next ? html`<div class="pager"><a href="${next}">Next page →</a></div>` : ''}`;
  return layout({ title: 'Directory', here: 'directory', body });
}

function resultCard(entry: StoredListing) {
  const { listing } = entry;
  const first = listing.accepts[0]!;
  return html`<li class="card result">
  <h3><a href="/resources/${entry.id}">${listing.name}</a></h3>
  <div class="price">${priceText(first)}<small>${atomicText(first)}</small></div>
  <p>${listing.description || 'No description.'}</p>
  <div class="url">${listing.method} ${listing.url}</div>
  <div class="badges">${statusBadge(entry.status)}${networkBadge(first.network)}${
    listing.paywallVerified ? '' : html`<span class="badge warn">paywall unverified</span>`
  }${listing.accepts.length > 1 ? html`<span class="badge">+${listing.accepts.length - 1} more options</span>` : ''}</div>
</li>`;
}

function definedOnly(params: Record<string, string | undefined>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(params))
    if (value && key !== 'cursor') result[key] = value;
  return result;
}
