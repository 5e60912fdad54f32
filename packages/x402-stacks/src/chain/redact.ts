/**
 * Credential redaction for anything the chain client shows: error messages, logs.
 * @module
 */

const REDACTED = '***';

// The words of a query parameter's name that say it carries a credential, whole (`x-api-key`, `client_secret`,
// `X-Amz-Signature`, `accessToken`, `apikey2`), not inside other words (`author`, `signal`, `keyword`).
const SECRET_WORDS: ReadonlySet<string> = new Set([
  'key',
  'apikey',
  'token',
  'secret',
  'password',
  'passwd',
  'pass',
  'auth',
  'authorization',
  'sig',
  'signature',
  'credential',
  'credentials',
  'sessionid',
]);

/** Whether a query parameter's name says it carries a credential: one of its words, or all of them joined. */
function isSecretParam(name: string): boolean {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .map((word) => word.replace(/\d+$/, ''));
  return words.some((word) => SECRET_WORDS.has(word)) || SECRET_WORDS.has(words.join(''));
}

const NO_PARAMS: ReadonlySet<string> = new Set();

// Shorter secrets are not replaced inside free text: replacing every "ab" would mangle the message, not protect it.
const MIN_SECRET_LENGTH = 4;

/**
 * A URL safe to show: user and password replaced by `***`, credential-like query parameters (`api_key`, `token`, …)
 * replaced by `***`, and every given secret (an API key, a password) replaced wherever it still appears.
 * Unparseable input is redacted as text.
 *
 * @param url The URL to show.
 * @param secrets Values that must not appear, for example the API key (plain or URL-encoded).
 * @param maskedParams Query parameters replaced by `***` whatever their names, such as those of a configured base URL,
 *   whose values may be credentials under any name.
 * @example
 * ```ts
 * import { redactUrl } from 'x402-stacks/chain';
 * redactUrl('https://alice:s3cret@node.example/v2/info?api_key=k'); // 'https://***@node.example/v2/info?api_key=***'
 * redactUrl('https://proxy.example/v2/info?id=k3y-123', ['k3y-123']); // 'https://proxy.example/v2/info?id=***'
 * ```
 */
export function redactUrl(
  url: string | URL,
  secrets: readonly string[] = [],
  maskedParams: ReadonlySet<string> = NO_PARAMS,
): string {
  const text = String(url);
  let redacted: string;
  try {
    const parsed = new URL(text);
    if (parsed.username !== '' || parsed.password !== '') {
      parsed.username = REDACTED;
      parsed.password = '';
    }
    for (const name of new Set(parsed.searchParams.keys())) {
      if (isSecretParam(name) || maskedParams.has(name)) parsed.searchParams.set(name, REDACTED);
    }
    redacted = parsed.href;
  } catch {
    // Not a URL: still drop anything that looks like `user:pass@` after a scheme or at the start.
    redacted = text.replace(/(^|\/\/)[^/?#\s@]*@/g, `$1${REDACTED}@`);
  }
  return redactSecrets(redacted, secrets);
}

/** A value of a configured base URL's query at least this long is hidden wherever it appears; shorter ones only in URLs. */
const QUERY_SECRET_LENGTH = 8;

/**
 * The values of a configured base URL's query to hide wherever they appear. A provider that authenticates by query may
 * name its parameter anything, so every one of them is hidden by name in the URLs shown (`redactUrl`'s
 * `maskedParams`) and wherever text repeats it as `name=value` ({@link redactQueryPairs}); anywhere else only a value
 * long enough to be a credential is, not a word (`testnet`, `main`) that would blot out the rest of the message.
 * Internal: the chain client and the facilitator client share it.
 * @example
 * ```ts
 * querySecrets(new URL('https://node.example/?network=testnet&id=k3y-in-url')); // ['k3y-in-url']
 * ```
 */
export function querySecrets(base: URL): string[] {
  // Decoded, and as written: a `+` in the URL decodes to a space, and text that echoes the URL shows the `+`.
  const written = base.search
    .slice(1)
    .split('&')
    .map((pair) => (pair.includes('=') ? pair.slice(pair.indexOf('=') + 1) : ''));
  const values = new Set([...base.searchParams.values(), ...written]);
  return [...values].filter((value) => value.length >= QUERY_SECRET_LENGTH);
}

/**
 * Hides the value of every `name=value` pair in free text whose name is one of `names`, however short the value: a
 * body or an error that repeats a URL of the configured base (a redirect's page, a proxy's message) shows its query
 * as it was sent. Internal: used with {@link querySecrets}.
 * @example
 * ```ts
 * redactQueryPairs('Redirecting to /settle?tenant=main&id=k3y', new Set(['tenant', 'id'])); // 'Redirecting to /settle?tenant=***&id=***'
 * ```
 */
export function redactQueryPairs(text: string, names: ReadonlySet<string>): string {
  if (names.size === 0) return text;
  const alternatives = [...names]
    .flatMap((name) => [name, encodeURIComponent(name)])
    .map((name) => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  // A pair starts a query or follows another (`?`, `&`, or `&amp;` in HTML), or stands after a space or a quote.
  const pair = new RegExp(`(^|[?&;\\s"'])(${alternatives.join('|')})=[^&#\\s"'<>]*`, 'g');
  return text.replace(pair, `$1$2=${REDACTED}`);
}

/**
 * Replaces each secret, and its URL-encoded form, with `***` in free text. Internal: used for error details.
 * @example
 * ```ts
 * redactSecrets('bad key k3y-123', ['k3y-123']); // 'bad key ***'
 * ```
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let result = text;
  const forms = secrets
    .filter((secret) => secret.length >= MIN_SECRET_LENGTH)
    .flatMap((secret) => [secret, encodeURIComponent(secret)])
    // Longest first, so a secret containing another is replaced whole.
    .sort((a, b) => b.length - a.length);
  for (const form of forms) result = result.split(form).join(REDACTED);
  return result;
}
