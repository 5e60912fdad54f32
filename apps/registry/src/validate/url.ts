/**
 * Step 1 of validation: the submitted URL itself, before anything is fetched.
 * @module
 */
import { isIP } from 'node:net';
import { redactUrl } from 'x402-stacks/chain';
import { type Finding, finding } from '../findings.js';

// Tunnels and preview hosts point at someone's laptop or a throwaway build: a listing there would rot within hours.
const TUNNEL_SUFFIXES = [
  'ngrok.io',
  'ngrok-free.app',
  'ngrok.app',
  'trycloudflare.com',
  'loca.lt',
  'localtunnel.me',
  'serveo.net',
  'localhost.run',
];

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Parses and checks a submitted URL: HTTPS (or loopback HTTP in local mode), no credentials, no tunnel host, and
 * an IP literal only for loopback in local mode. The fragment is dropped; the rest is the listing's key.
 * @example
 * ```ts
 * checkUrl('http://api.example.com/x', false); // { findings: [invalid_url (not_https)] }
 * checkUrl('https://api.example.com/x#top', false).url; // 'https://api.example.com/x'
 * ```
 */
export function checkUrl(
  input: string,
  allowInsecureLocal: boolean,
): { url?: string; findings: Finding[] } {
  const refuse = (detail: string, message: string, fix: string) => ({
    findings: [finding('invalid_url', { detail, path: 'url', message, fix })],
  });
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return refuse(
      'unparseable',
      'the URL cannot be parsed',
      'Submit an absolute URL such as https://api.example.com/weather.',
    );
  }
  const localHttp =
    allowInsecureLocal && url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol !== 'https:' && !localHttp) {
    return refuse(
      'not_https',
      `the URL uses ${url.protocol.replace(':', '')}, not HTTPS`,
      'Serve the endpoint over HTTPS and submit the https:// URL.',
    );
  }
  if (url.username !== '' || url.password !== '') {
    return refuse(
      'credentials',
      `the URL carries credentials (${redactUrl(url)})`,
      'Remove user:password@ from the URL; listings are public.',
    );
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0 && !localHttp) {
    return refuse(
      'ip_literal',
      'the URL names an IP address instead of a host name',
      'Register the endpoint under its DNS name.',
    );
  }
  if (TUNNEL_SUFFIXES.some((suffix) => host === suffix || host.endsWith(`.${suffix}`))) {
    return refuse(
      'tunnel_host',
      `${host} is a tunnel host`,
      'Register the production host; tunnel URLs stop working when the tunnel closes.',
    );
  }
  url.hash = '';
  return { url: url.href, findings: [] };
}

/** Two URLs name the same resource when they differ at most by a trailing slash. */
export function sameResource(a: string, b: string): boolean {
  const strip = (u: string) => u.replace(/\/+$/, '');
  return strip(a) === strip(b);
}
