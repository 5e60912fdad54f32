/**
 * The registration form, and the same page showing the findings of a validation or registration.
 * @module
 */
import { html } from 'hono/html';
import type { Finding } from '../findings.js';
import { layout } from './layout.js';

/** What the form page shows after a submission. */
export type RegisterPageResult = {
  readonly action: 'validate' | 'register';
  readonly valid: boolean;
  readonly error?: string;
  readonly findings: readonly Finding[];
  readonly listingId?: string;
  readonly created?: boolean;
};

/** Renders the registration page, optionally with a result. */
export function registerPage(form: {
  url?: string;
  method?: string;
  result?: RegisterPageResult;
  problem?: string;
}) {
  const result = form.result;
  const methods = ['', 'GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
  const body = html`
<h1>Register an endpoint</h1>
<p class="lede">Submit the URL of a paid endpoint. The registry fetches it, reads its x402 challenge (a 402 with the <code>payment-required</code> header, or the JSON schema document) and lists it when it validates. Registering the same URL again updates the listing.</p>
${form.problem ? html`<div class="notice bad">${form.problem}</div>` : ''}
${result ? resultBlock(result) : ''}
<form class="register card" method="post" action="/register">
  <label>Endpoint URL <input type="url" name="url" required value="${form.url ?? ''}" placeholder="https://api.example.com/weather" autocomplete="off"></label>
  <label>Method <select name="method">${methods.map(
    (m) =>
      html`<option value="${m}"${form.method === m ? html` selected` : ''}>${m || 'Try GET, then POST'}</option>`,
  )}</select></label>
  <div class="actions">
    <button type="submit" name="action" value="register">Register</button>
    <button type="submit" name="action" value="validate" class="secondary">Check only</button>
  </div>
</form>`;
  return layout({ title: 'Register', here: 'register', body });
}

function resultBlock(result: RegisterPageResult) {
  const headline = result.valid
    ? result.action === 'register'
      ? html`<div class="notice ok">${result.created ? 'Registered.' : 'Listing updated.'} <a href="/resources/${result.listingId ?? ''}">Open the listing →</a></div>`
      : html`<div class="notice ok">This endpoint validates; nothing was stored.</div>`
    : html`<div class="notice bad">Refused: <b>${result.error ?? 'invalid'}</b>. Fix the errors below and submit again.</div>`;
  return html`${headline}${
    result.findings.length > 0
      ? html`<ul class="findings" style="margin-bottom:22px">${result.findings.map(
          (f) =>
            html`<li class="finding ${f.severity}"><b>${f.code}</b>${f.detail ? html` <span class="path">(${f.detail})</span>` : ''}${f.path ? html`<span class="path">${f.path}</span>` : ''}<p>${f.message}</p><p class="fix">${f.fix}</p></li>`,
        )}</ul>`
      : ''
  }`;
}
