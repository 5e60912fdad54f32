/**
 * The headers a request's credentials travel in, and whether a retry stays on the origin they were given for. fetch
 * and axios both drop these on a redirect to another origin; a paid or signed-in retry sent to the URL a redirect led
 * to must drop them too, or it hands the first site's token or session to the second.
 * @module
 */

/** Lower-case names of the headers that carry the caller's credentials for one origin. */
export const CREDENTIAL_HEADERS: readonly string[] = [
  'authorization',
  'cookie',
  'proxy-authorization',
];

/**
 * Whether two URLs share an origin (scheme, host and port). A relative URL (axios in a browser) is read against the
 * page's location; `false` when either does not parse, so an unknown origin never keeps the credentials.
 */
export function isSameOrigin(a: string, b: string): boolean {
  const page = (globalThis as { location?: { href?: string } }).location?.href;
  try {
    return new URL(a, page).origin === new URL(b, page).origin;
  } catch {
    return false;
  }
}
