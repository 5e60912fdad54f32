/**
 * A listing's page: what it costs (human and atomic units), how to call it and pay, its schema, uptime, checks and
 * version history.
 * @module
 */
import { html } from 'hono/html';
import { humanPrice } from '../http/present.js';
import type { NormalizedListing } from '../listing.js';
import type { CheckRecord, ListingVersion, StoredListing, Uptime } from '../store/types.js';
import {
  atomicText,
  networkBadge,
  networkLabel,
  plural,
  priceText,
  relativeTime,
  statusBadge,
} from './format.js';
import { layout } from './layout.js';

/** Everything the detail page shows. */
export type DetailPage = {
  readonly entry: StoredListing;
  readonly versions: readonly ListingVersion[];
  readonly checks: readonly CheckRecord[];
  readonly uptime: { readonly day: Uptime; readonly week: Uptime };
  readonly now: number;
};

/**
 * The command a buyer pastes to call the endpoint and pay, capped at the listed price (`x402-stacks pay` refuses
 * to pay more than `--max-amount`).
 * @example
 * ```ts
 * payCommand(listing); // "npx x402-stacks pay 'https://api.example.com/weather' --network testnet --max-amount 0.0025STX"
 * ```
 */
export function payCommand(listing: NormalizedListing): string {
  const accept = listing.accepts[0]!;
  const price = humanPrice(accept);
  return [
    'npx x402-stacks pay',
    `'${listing.url.replaceAll("'", '%27')}'`,
    ...(listing.method === 'GET' ? [] : [`-X ${listing.method}`]),
    `--network ${accept.network === 'stacks:1' ? 'mainnet' : 'testnet'}`,
    ...(price ? [`--max-amount ${price.amount}${price.unit}`] : []),
  ].join(' ');
}

type Cell = string | ReturnType<typeof html>;

/** A table that becomes labelled cards on narrow screens (each cell carries its column name). */
function table(headers: readonly string[], rows: readonly (readonly Cell[])[]) {
  return html`<div class="table"><table>
<thead><tr>${headers.map((h) => html`<th>${h}</th>`)}</tr></thead>
<tbody>${rows.map(
    (row) =>
      html`<tr>${row.map((cell, i) => html`<td data-label="${headers[i] ?? ''}">${cell}</td>`)}</tr>`,
  )}</tbody>
</table></div>`;
}

/** Renders the detail page. */
export function detailPage(page: DetailPage) {
  const { entry, now } = page;
  const { listing } = entry;
  const first = listing.accepts[0]!;
  const percent = (u: Uptime) =>
    u.total === 0 ? '—' : `${((100 * u.ok) / u.total).toFixed(u.ok === u.total ? 0 : 1)}%`;
  const body = html`
<p><a href="/">← Directory</a></p>
<h1>${listing.name}</h1>
<p class="lede">${listing.description || 'No description.'}</p>
<div class="badges" style="margin-bottom:18px">${statusBadge(entry.status)}${networkBadge(first.network)}<span class="badge">x402 v${listing.x402Version}</span>${
    listing.paywallVerified
      ? ''
      : html`<span class="badge warn">paywall unverified (answered 200)</span>`
  }${entry.payToChangedAt === null ? '' : html`<span class="badge bad">payTo changed ${relativeTime(entry.payToChangedAt, now)}</span>`}</div>

<div class="grid2">
  <div class="card stat"><span>Price</span><b>${priceText(first)}</b><span>${atomicText(first)}</span></div>
  <div class="card stat"><span>Uptime, 24 h</span><b>${percent(page.uptime.day)}</b><span>${plural(page.uptime.day.total, 'check')}</span></div>
  <div class="card stat"><span>Uptime, 7 days</span><b>${percent(page.uptime.week)}</b><span>${plural(page.uptime.week.total, 'check')}</span></div>
</div>

<h2>Call it</h2>
<div class="card">
  <dl class="terms">
    <dt>Endpoint</dt><dd class="url">${listing.method} ${listing.url}</dd>
    <dt>Returns</dt><dd>${listing.mimeType ?? 'not stated'}</dd>
    <dt>Last checked</dt><dd>${entry.checkedAt === null ? 'never' : relativeTime(entry.checkedAt, now)}, next ${relativeTime(entry.nextCheckAt, now)}</dd>
  </dl>
  <p style="margin:16px 0 8px;color:var(--muted);font-size:14px">Pay and call from a terminal (budget and key from your environment):</p>
  <pre class="command">${payCommand(listing)}</pre>
</div>

<h2>Payment options</h2>
${table(
  ['Price', 'Atomic', 'Asset', 'Network', 'Pay to', 'Timeout'],
  listing.accepts.map((accept) => [
    priceText(accept),
    accept.amount,
    html`<code>${accept.asset}</code>`,
    networkLabel(accept.network),
    html`<code>${accept.payTo}</code>`,
    accept.maxTimeoutSeconds === null ? '—' : `${accept.maxTimeoutSeconds} s`,
  ]),
)}

<h2>Input</h2>
<pre>${JSON.stringify(listing.input, null, 2)}</pre>
<h2>Output</h2>
<pre>${listing.output === null ? 'Not described by the seller.' : JSON.stringify(listing.output, null, 2)}</pre>
${listing.schema ? html`<h2>Schema (bazaar)</h2><pre>${JSON.stringify(listing.schema, null, 2)}</pre>` : ''}

${
  entry.findings.length > 0
    ? html`<h2>Notes from validation</h2><ul class="findings">${entry.findings.map(
        (f) =>
          html`<li class="finding ${f.severity}"><b>${f.code}</b>${f.path ? html`<span class="path">${f.path}</span>` : ''}<p>${f.message}</p><p class="fix">${f.fix}</p></li>`,
      )}</ul>`
    : ''
}

<h2>Checks</h2>
${
  page.checks.length === 0
    ? html`<div class="card empty">No checks yet.</div>`
    : table(
        ['When', 'Outcome', 'HTTP', 'Latency', 'Status after', 'Reason'],
        page.checks.map((check) => [
          html`<span title="${new Date(check.checkedAt).toISOString()}">${relativeTime(check.checkedAt, now)}</span>`,
          check.outcome.replace('_', ' '),
          check.httpStatus === null ? '—' : String(check.httpStatus),
          check.latencyMs === null ? '—' : `${check.latencyMs} ms`,
          statusBadge(check.statusAfter),
          check.reason ?? '—',
        ]),
      )
}

<h2>Versions</h2>
${table(
  ['Version', 'Recorded', 'Amount', 'Asset', 'Pay to', 'Schema'],
  page.versions.map((v) => [
    `v${v.version}`,
    relativeTime(v.recordedAt, now),
    v.amount,
    html`<code>${v.asset}</code>`,
    html`<code>${v.payTo}</code>`,
    html`<code>${v.schemaHash.slice(0, 12)}</code>`,
  ]),
)}`;
  return layout({ title: listing.name, here: 'none', body });
}
