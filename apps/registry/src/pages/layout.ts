/**
 * The page frame shared by the directory's pages. Every interpolation goes through hono/html, which escapes it;
 * nothing a seller sends reaches a page unescaped.
 * @module
 */
import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import { STYLESHEET } from './style.js';

// Our own constant stylesheet, not seller content: inserted as is (escaping would turn its quotes into entities).
const STYLESHEET_HTML = raw(STYLESHEET);

/** Rendered HTML, as hono/html produces it. */
export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

/**
 * A full page.
 * @example
 * ```ts
 * c.html(layout({ title: 'Register', here: 'register', body: html`<p>…</p>` }));
 * ```
 */
export function layout(page: {
  title: string;
  here: 'directory' | 'register' | 'none';
  body: Html;
}): Html {
  const link = (href: string, label: string, key: string) =>
    html`<a href="${href}" class="${page.here === key ? 'here' : ''}">${label}</a>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${page.title} · x402scan</title>
<style>${STYLESHEET_HTML}</style>
</head>
<body>
<header class="top"><div class="bar">
<a class="brand" href="/">x402<span>scan</span></a>
<nav>${link('/', 'Directory', 'directory')}${link('/register', 'Register', 'register')}${link('/api/v1/resources', 'API', 'api')}</nav>
</div></header>
<main>${page.body}</main>
<footer>Paid HTTP APIs on Stacks, found by probing their x402 challenges. Listings are re-checked on a schedule.</footer>
</body>
</html>`;
}
