/**
 * Validation of an endpoint, end to end: the URL (step 1), the probe (steps 2–3, DNS and fetch through the
 * SSRF-safe fetcher), then the response (steps 4–18). A probe that answers 405 to GET is tried again with POST,
 * unless the seller named the method.
 * @module
 */
import { type Finding, type FindingCode, finding, primaryError } from '../findings.js';
import type { NormalizedListing } from '../listing.js';
import { type Fetcher, ProbeError, type ProbeResponse } from '../probe/fetcher.js';
import { validateResponse } from './document.js';
import { checkUrl } from './url.js';

/**
 * The verdict on an endpoint: whether it may be listed, every finding, and what the probe saw.
 * @example
 * ```ts
 * const validation: Validation = await registry.validate({ url: 'https://api.example.com/weather' });
 * if (!validation.valid) console.log(validation.error, validation.probeFailure);
 * ```
 */
export type Validation = {
  /** True when nothing refuses the registration. */
  readonly valid: boolean;
  /** The documented code when one applies, else the first error's code; absent when valid. */
  readonly error?: FindingCode;
  readonly findings: readonly Finding[];
  readonly listing?: NormalizedListing;
  /** What the probe saw, when it got an answer. */
  readonly probe?: { readonly status: number; readonly latencyMs: number };
  /** The probe's failure, when it got none: `timeout`, `ssrf_blocked`, … */
  readonly probeFailure?: string;
};

/** Options of {@link validateEndpoint}. */
export type ValidateOptions = {
  readonly fetcher: Fetcher;
  /** Accept http://127.0.0.1 and localhost URLs. */
  readonly allowInsecureLocal?: boolean;
};

/**
 * Validates an endpoint and returns every finding.
 * @example
 * ```ts
 * const result = await validateEndpoint({ url: 'https://api.example.com/weather' }, { fetcher: createSafeFetcher() });
 * if (!result.valid) console.log(result.error, result.findings);
 * ```
 */
export async function validateEndpoint(
  request: { url: string; method?: string | undefined },
  options: ValidateOptions,
): Promise<Validation> {
  const checked = checkUrl(request.url, options.allowInsecureLocal ?? false);
  if (!checked.url) return verdict(checked.findings);
  const url = checked.url;
  const methods = request.method ? [request.method.toUpperCase()] : ['GET', 'POST'];
  let response: ProbeResponse | undefined;
  let method = methods[0]!;
  for (const candidate of methods) {
    method = candidate;
    try {
      response = await options.fetcher({ url, method });
    } catch (error) {
      if (!(error instanceof ProbeError)) throw error;
      return { ...verdict([probeFinding(error)]), probeFailure: error.reason };
    }
    if (response.status !== 405) break;
  }
  const probe = { status: response!.status, latencyMs: response!.latencyMs };
  let result = validateResponse({ url, method }, response!);
  if (result.findings.some((f) => f.code === 'invalid_name' && f.detail === 'missing')) {
    const title = await originTitle(url, options.fetcher);
    if (title) result = validateResponse({ url, method }, response!, title);
  }
  return { ...verdict(result.findings, result.listing), probe };
}

/** The `<title>` of the URL's origin page, fetched with the same safe fetcher; undefined on any failure. */
async function originTitle(url: string, fetcher: Fetcher): Promise<string | undefined> {
  try {
    const page = await fetcher({ url: new URL('/', url).href, method: 'GET' });
    if (page.status !== 200) return undefined;
    const title = /<title[^>]*>([^<]{1,200})<\/title>/i.exec(page.body.toString('utf8'))?.[1];
    return title ? decodeEntities(title).replace(/\s+/g, ' ').trim() || undefined : undefined;
  } catch {
    return undefined;
  }
}

function decodeEntities(text: string): string {
  const named: Record<string, string> = {
    amp: '&',
    lt: '<',
    gt: '>',
    quot: '"',
    apos: "'",
    '#39': "'",
  };
  return text.replace(/&(amp|lt|gt|quot|apos|#39);/g, (_, name: string) => named[name]!);
}

function verdict(findings: readonly Finding[], listing?: NormalizedListing): Validation {
  const error = primaryError(findings);
  return {
    valid: error === undefined && listing !== undefined,
    ...(error === undefined ? {} : { error }),
    findings,
    ...(listing && error === undefined ? { listing } : {}),
  };
}

function probeFinding(error: ProbeError): Finding {
  if (error.reason === 'ssrf_blocked' || error.reason === 'insecure_url') {
    return finding('invalid_url', {
      detail: error.reason,
      path: 'url',
      message: error.message,
      fix:
        error.reason === 'ssrf_blocked'
          ? 'The host must resolve to public addresses only (also after redirects).'
          : 'Redirects must stay on HTTPS.',
    });
  }
  const fixes: Record<string, string> = {
    dns_failed: 'Check the host name; it must resolve in public DNS.',
    connection_failed: 'Make sure the server is up and reachable on the URL’s port over HTTPS.',
    timeout: 'Answer an unpaid request within the probe’s time limit (10 s by default).',
    headers_too_large: 'Keep the response headers under 128 KiB.',
    body_too_large: 'Keep the 402 body small; the challenge is a few kilobytes at most.',
    too_many_redirects: 'Register the final URL, or redirect at most three times.',
  };
  return finding('fetch_failed', {
    detail: error.reason,
    message: error.message,
    fix: fixes[error.reason] ?? 'Make the endpoint reachable.',
  });
}
