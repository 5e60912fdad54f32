/**
 * What a facilitator catalogs from one settled payment: the bazaar declaration the payload carries, under the
 * canonical resource (origin and path, or origin and `routeTemplate`), keyed so that a repeat refreshes the entry
 * instead of adding one. Pure: the facilitator decides when (after a successful settle) and where (its ledger).
 * @module
 */
import type { PaymentRequirements } from '../../protocol/v2.js';
import { checkBazaarDeclaration } from './check.js';
import { type BazaarDeclaration, methodOf, toolOf } from './info.js';
import type { BazaarReasonCode } from './reasons.js';

/**
 * One catalog entry: a resource, how to call it, and the terms it was paid on.
 * @example
 * ```ts
 * const entry: DiscoveryEntry = discoveryEntryOf(payload, requirements).entry;
 * ```
 */
export type DiscoveryEntry = {
  /** `http <METHOD> <resource>` or `mcp <tool> <resource>`: one entry per callable thing. */
  readonly key: string;
  readonly resource: string;
  readonly type: 'http' | 'mcp';
  readonly payTo: string;
  readonly network: string;
  readonly accepts: readonly PaymentRequirements[];
  readonly description?: string;
  readonly mimeType?: string;
  readonly serviceName?: string;
  readonly tags?: readonly string[];
  readonly declaration: BazaarDeclaration;
  /** Size of the declaration's JSON, as checked. */
  readonly bytes: number;
};

/**
 * What {@link discoveryEntryOf} found in a payload.
 * @example
 * ```ts
 * const found: DiscoveryEntryResult = { status: 'absent' };
 * ```
 */
export type DiscoveryEntryResult =
  | { readonly status: 'absent' }
  | { readonly status: 'entry'; readonly entry: DiscoveryEntry }
  | { readonly status: 'refused'; readonly reason: BazaarReasonCode; readonly message: string };

/** The parts of a v2 payment payload the catalog reads. */
type PayloadView = {
  readonly resource?: {
    url?: unknown;
    description?: unknown;
    mimeType?: unknown;
    serviceName?: unknown;
    tags?: unknown;
  } | null;
  readonly extensions?: Readonly<Record<string, unknown>> | null;
};

const MAX_URL_LENGTH = 2_048;
// The spec's soft-drop rules for service metadata: printable ASCII, 32 characters, 5 tags.
const PRINTABLE_32 = /^[\x20-\x7e]{1,32}$/;
const MAX_TAGS = 5;

/**
 * Reads the bazaar declaration of a payment payload into a catalog entry, checked and bounded.
 * @example
 * ```ts
 * const found = discoveryEntryOf(paymentPayload, paymentRequirements, { maxBytes: 16_384 });
 * if (found.status === 'entry') await catalog.record(found.entry, caps, Date.now());
 * ```
 */
export function discoveryEntryOf(
  payload: PayloadView,
  requirements: PaymentRequirements,
  options: { maxBytes?: number } = {},
): DiscoveryEntryResult {
  const raw = payload.extensions?.bazaar;
  if (raw === undefined) return { status: 'absent' };
  const checked = checkBazaarDeclaration(raw, options);
  if (!checked.ok) return { status: 'refused', reason: checked.reason, message: checked.message };
  const { declaration, bytes } = checked;
  const url = httpUrlOf(payload.resource?.url);
  if (!url)
    return {
      status: 'refused',
      reason: 'bazaar_resource_invalid',
      message: 'resource.url must be an absolute http(s) URL of at most 2048 characters',
    };
  const resource = `${url.origin}${declaration.routeTemplate ?? url.pathname}`;
  const type = declaration.info.input.type;
  const key =
    type === 'mcp'
      ? `mcp ${toolOf(declaration.info)} ${resource}`
      : `http ${methodOf(declaration.info)} ${resource}`;
  const { description, mimeType, serviceName, tags } = payload.resource ?? {};
  const keptTags = Array.isArray(tags)
    ? [...new Set(tags.filter((tag) => typeof tag === 'string' && PRINTABLE_32.test(tag)))].slice(
        0,
        MAX_TAGS,
      )
    : [];
  return {
    status: 'entry',
    entry: {
      key,
      resource,
      type,
      payTo: requirements.payTo,
      network: requirements.network,
      accepts: [requirements],
      ...(typeof description === 'string' ? { description: description.slice(0, 1_000) } : {}),
      ...(typeof mimeType === 'string' ? { mimeType: mimeType.slice(0, 200) } : {}),
      ...(typeof serviceName === 'string' && PRINTABLE_32.test(serviceName) ? { serviceName } : {}),
      ...(keptTags.length > 0 ? { tags: keptTags } : {}),
      declaration,
      bytes,
    },
  };
}

function httpUrlOf(value: unknown): URL | undefined {
  if (typeof value !== 'string' || value.length > MAX_URL_LENGTH) return undefined;
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    if (url.username !== '' || url.password !== '') return undefined;
    return url;
  } catch {
    return undefined;
  }
}
