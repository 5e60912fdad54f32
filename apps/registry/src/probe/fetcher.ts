/**
 * The probe: an HTTP client that is safe to point at URLs strangers submit. It resolves the host itself, refuses
 * any answer in non-public space, and connects to exactly the address it checked (so DNS cannot change its mind
 * between the check and the connection). Redirects are followed by hand and every hop is checked again. One
 * deadline covers the whole exchange, and the headers and the body have size caps.
 * @module
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { redactUrl } from 'x402-stacks/chain';
import { checkAddress } from './addresses.js';

/** One DNS answer. */
export type ResolvedAddress = { readonly address: string; readonly family: 4 | 6 };

/**
 * Resolves a host name to every address it has; injectable so tests control DNS.
 * @example
 * ```ts
 * const resolve: Resolver = async () => [{ address: '93.184.215.14', family: 4 }];
 * const fetcher = createSafeFetcher({ resolve });
 * ```
 */
export type Resolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

/**
 * What a probe saw: the final URL, status, headers and (capped) body, and how long the exchange took.
 * @example
 * ```ts
 * const { status, headers, body, latencyMs } = await fetcher({ url: 'https://api.example.com/w', method: 'GET' });
 * ```
 */
export type ProbeResponse = {
  /** The URL that answered, after redirects. */
  readonly url: string;
  readonly status: number;
  /** Lower-case names; repeated headers joined with ', '. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly latencyMs: number;
};

/**
 * A request to probe.
 * @example
 * ```ts
 * const request: ProbeRequest = { url: 'https://api.example.com/weather', method: 'POST' };
 * ```
 */
export type ProbeRequest = {
  readonly url: string;
  readonly method: string;
};

/**
 * Anything that can probe a URL; the registry and the scheduler take one, so tests can substitute their own.
 * @example
 * ```ts
 * const fetcher: Fetcher = async ({ url }) => ({ url, status: 410, headers: {}, body: Buffer.alloc(0), latencyMs: 1 });
 * ```
 */
export type Fetcher = (request: ProbeRequest) => Promise<ProbeResponse>;

/**
 * Why a probe failed: stable values, shown to sellers as the finding's detail.
 * @example
 * ```ts
 * PROBE_FAILURES.includes('timeout'); // true
 * ```
 */
export const PROBE_FAILURES = [
  'ssrf_blocked',
  'insecure_url',
  'dns_failed',
  'connection_failed',
  'timeout',
  'headers_too_large',
  'body_too_large',
  'too_many_redirects',
] as const;

/**
 * A reason from {@link PROBE_FAILURES}.
 * @example
 * ```ts
 * const reason: ProbeFailure = 'ssrf_blocked';
 * ```
 */
export type ProbeFailure = (typeof PROBE_FAILURES)[number];

/**
 * A probe that did not get a complete answer. The message names the URL with credentials redacted.
 * @example
 * ```ts
 * try { await fetcher({ url, method: 'GET' }); } catch (error) {
 *   if (error instanceof ProbeError && error.reason === 'ssrf_blocked') console.log(error.message);
 * }
 * ```
 */
export class ProbeError extends Error {
  override name = 'ProbeError';
  constructor(
    readonly reason: ProbeFailure,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Options of {@link createSafeFetcher}: its deadline and size caps, redirects, DNS and local-development mode.
 * @example
 * ```ts
 * const options: SafeFetcherOptions = { timeoutMs: 5_000, maxRedirects: 1, userAgent: 'my-registry/1.0' };
 * ```
 */
export type SafeFetcherOptions = {
  /** Whole-exchange deadline, in milliseconds. Default 10 000. */
  timeoutMs?: number;
  /** Largest body read, in bytes. Default 256 KiB. */
  maxBodyBytes?: number;
  /** Largest header block, in bytes. Default 128 KiB: some sellers put the whole challenge in a header. */
  maxHeaderBytes?: number;
  /** Redirects followed before giving up. Default 3. */
  maxRedirects?: number;
  /** DNS; default the system resolver. */
  resolve?: Resolver;
  /** Allows http:// and loopback addresses, for local development only. Default false. */
  allowInsecureLocal?: boolean;
  /** Sent as User-Agent. */
  userAgent?: string;
};

const systemResolver: Resolver = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((answer) => ({
    address: answer.address,
    family: answer.family === 6 ? 6 : 4,
  }));

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Creates the SSRF-safe fetcher.
 * @example
 * ```ts
 * const fetcher = createSafeFetcher({ timeoutMs: 5000 });
 * const response = await fetcher({ url: 'https://api.example.com/weather', method: 'GET' });
 * response.status; // 402
 * ```
 */
export function createSafeFetcher(options: SafeFetcherOptions = {}): Fetcher {
  const settings = {
    timeoutMs: options.timeoutMs ?? 10_000,
    maxBodyBytes: options.maxBodyBytes ?? 256 * 1024,
    maxHeaderBytes: options.maxHeaderBytes ?? 128 * 1024,
    maxRedirects: options.maxRedirects ?? 3,
    resolve: options.resolve ?? systemResolver,
    allowInsecureLocal: options.allowInsecureLocal ?? false,
    userAgent: options.userAgent ?? 'x402-stacks-registry/0.1',
  };
  return async function safeFetch(request) {
    const started = performance.now();
    const deadline = started + settings.timeoutMs;
    let url = request.url;
    let method = request.method.toUpperCase();
    for (let hop = 0; ; hop++) {
      const target = parseTarget(url, settings.allowInsecureLocal);
      const answer = await exchange(target, method, deadline, settings);
      const location = answer.headers.location;
      if (!REDIRECTS.has(answer.status) || location === undefined) {
        return { ...answer, url, latencyMs: Math.round(performance.now() - started) };
      }
      if (hop >= settings.maxRedirects) {
        throw new ProbeError('too_many_redirects', `more than ${settings.maxRedirects} redirects`);
      }
      url = new URL(location, url).href;
      // A 303, and by old convention a 301/302 after POST, turn the next request into a GET.
      if (answer.status === 303 || (answer.status <= 302 && method === 'POST')) method = 'GET';
    }
  };
}

function parseTarget(url: string, allowInsecureLocal: boolean): URL {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new ProbeError('insecure_url', `not a URL: ${redactUrl(url)}`);
  }
  const schemes = allowInsecureLocal ? ['https:', 'http:'] : ['https:'];
  if (!schemes.includes(target.protocol)) {
    throw new ProbeError('insecure_url', `only HTTPS URLs are fetched, not ${redactUrl(url)}`);
  }
  return target;
}

type Settings = Required<Omit<SafeFetcherOptions, 'userAgent'>> & { userAgent: string };

async function exchange(
  target: URL,
  method: string,
  deadline: number,
  settings: Settings,
): Promise<Omit<ProbeResponse, 'url' | 'latencyMs'>> {
  const hostname = target.hostname.replace(/^\[|\]$/g, '');
  const pinned = await pickAddress(hostname, settings);
  const lookup: LookupFunction = (_host, lookupOptions, callback) => {
    if (lookupOptions.all) callback(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };
  const client = target.protocol === 'https:' ? https : http;
  const remaining = deadline - performance.now();
  if (remaining <= 0) throw new ProbeError('timeout', `no answer within ${settings.timeoutMs} ms`);
  return new Promise((resolve, reject) => {
    const fail = (error: ProbeError) => {
      clearTimeout(timer);
      req.destroy();
      reject(error);
    };
    const req = client.request(
      target,
      {
        method,
        lookup,
        maxHeaderSize: settings.maxHeaderBytes,
        headers: {
          accept: 'application/json',
          'user-agent': settings.userAgent,
          ...(method === 'POST'
            ? { 'content-type': 'application/json', 'content-length': '2' }
            : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > settings.maxBodyBytes) {
            fail(
              new ProbeError('body_too_large', `the body is over ${settings.maxBodyBytes} bytes`),
            );
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          clearTimeout(timer);
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(res.headers)) {
            if (value !== undefined)
              headers[name] = Array.isArray(value) ? value.join(', ') : value;
          }
          resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks) });
        });
        res.on('error', () =>
          fail(new ProbeError('connection_failed', 'the connection broke mid-body')),
        );
      },
    );
    const timer = setTimeout(
      () => fail(new ProbeError('timeout', `no answer within ${settings.timeoutMs} ms`)),
      remaining,
    );
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'HPE_HEADER_OVERFLOW') {
        fail(
          new ProbeError(
            'headers_too_large',
            `the response headers are over ${settings.maxHeaderBytes} bytes`,
          ),
        );
      } else {
        fail(
          new ProbeError('connection_failed', `could not connect: ${error.code ?? error.message}`),
        );
      }
    });
    req.end(method === 'POST' ? '{}' : undefined);
  });
}

/** Resolves the host and refuses it unless every answer is public: one private answer is enough to refuse. */
async function pickAddress(hostname: string, settings: Settings): Promise<ResolvedAddress> {
  const literal = isIP(hostname);
  let answers: readonly ResolvedAddress[];
  if (literal !== 0) {
    answers = [{ address: hostname, family: literal === 6 ? 6 : 4 }];
  } else {
    try {
      answers = await settings.resolve(hostname);
    } catch {
      throw new ProbeError('dns_failed', `${hostname} does not resolve`);
    }
    if (answers.length === 0) throw new ProbeError('dns_failed', `${hostname} has no addresses`);
  }
  for (const answer of answers) {
    const verdict = checkAddress(answer.address, { allowLoopback: settings.allowInsecureLocal });
    if (!verdict.allowed) {
      throw new ProbeError(
        'ssrf_blocked',
        `${hostname} resolves to ${answer.address}, a ${verdict.why} address; only public addresses are probed`,
      );
    }
  }
  return answers[0]!;
}
