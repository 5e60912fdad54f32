/**
 * The facilitator's side of the bazaar extension. After a payment settles successfully (a payment is the price of a
 * listing), the bazaar declaration its payload carries is checked, bounded and recorded in the catalog; the catalog is
 * served as the discovery list. Recording never changes the settle answer: a refused or failed write is reported to
 * the caller's hook and the buyer is served all the same.
 * @module
 */
import { discoveryEntryOf } from '../extensions/bazaar/catalog-entry.js';
import { BAZAAR_MAX_DECLARATION_BYTES } from '../extensions/bazaar/check.js';
import type {
  DiscoveryListQuery,
  DiscoveryListResponse,
} from '../extensions/bazaar/discovery-list.js';
import type { BazaarReasonCode } from '../extensions/bazaar/reasons.js';
import type { SettleResponse } from '../protocol/v2.js';
import type { DiscoveryCaps, DiscoveryCatalog, DiscoveryRecord } from './discovery-catalog.js';
import { InMemoryDiscoveryCatalog } from './memory-discovery-catalog.js';
import { parsePaymentPayload, parsePaymentRequirements } from './parsed-payment.js';

/**
 * How the facilitator catalogs bazaar declarations. `false` turns the extension off (and out of `/supported`).
 * @example
 * ```ts
 * const discovery: DiscoveryOptions = { catalog, maxPerPayTo: 20, maxTotal: 10_000, ttlMs: 30 * 86_400_000 };
 * ```
 */
export type DiscoveryOptions = {
  /** Where entries are kept. Default: in memory (the HTTP service passes its ledger's table). */
  catalog?: DiscoveryCatalog;
  /** Largest declaration recorded, bytes of JSON. Default 16,384. */
  maxDeclarationBytes?: number;
  /** Most entries one payTo may hold. Default 20. */
  maxPerPayTo?: number;
  /** Most entries in all. Default 10,000. */
  maxTotal?: number;
  /** An entry not refreshed by a new payment for this long is pruned by the keeper. Default 30 days. */
  ttlMs?: number;
  /** Told of every declaration not recorded, with its reason (logs, metrics). */
  onRefused?: (refusal: DiscoveryRefusal) => void;
};

/**
 * A declaration the catalog did not record.
 * @example
 * ```ts
 * const refusal: DiscoveryRefusal = { reason: 'bazaar_declaration_too_large', message: '…', payTo: 'ST…' };
 * ```
 */
export type DiscoveryRefusal = {
  readonly reason: BazaarReasonCode | 'bazaar_catalog_error';
  readonly message: string;
  readonly payTo?: string;
};

/** The resolved discovery settings the engine works with. */
export type Discovery = {
  /** Records the declaration of a payment whose settle answered `answer`. Never throws. */
  record(payload: unknown, requirements: unknown, answer: SettleResponse): Promise<void>;
  list(query: DiscoveryListQuery): Promise<DiscoveryListResponse>;
  /** Drops entries older than the window; the keeper calls it every round. */
  prune(now: number): Promise<number>;
};

const DAY_MS = 86_400_000;
// A route paid again within this long is not written again: the entry is as fresh as the pruning needs, and a busy
// route does not cost a database commit per payment.
const REFRESH_AFTER_MS = 60 * 60_000;
// Routes whose last write this process remembers; past it the oldest is forgotten (and written again when next paid).
const MAX_REMEMBERED = 1_000;

/**
 * Resolves the options; pushes a line per problem into `issues`.
 * @example
 * ```ts
 * const discovery = createDiscovery({ maxPerPayTo: 5 }, Date.now, issues);
 * ```
 */
export function createDiscovery(
  options: DiscoveryOptions | false | undefined,
  now: () => number,
  issues: string[],
): Discovery | undefined {
  if (options === false) return undefined;
  const given = options ?? {};
  const positive = (value: number | undefined, fallback: number, name: string) => {
    if (value === undefined) return fallback;
    if (!Number.isSafeInteger(value) || value <= 0) {
      issues.push(`discovery.${name}: expected a positive integer`);
      return fallback;
    }
    return value;
  };
  const maxBytes = positive(
    given.maxDeclarationBytes,
    BAZAAR_MAX_DECLARATION_BYTES,
    'maxDeclarationBytes',
  );
  const caps: DiscoveryCaps = {
    maxPerPayTo: positive(given.maxPerPayTo, 20, 'maxPerPayTo'),
    maxTotal: positive(given.maxTotal, 10_000, 'maxTotal'),
  };
  const ttlMs = positive(given.ttlMs, 30 * DAY_MS, 'ttlMs');
  const catalog = given.catalog ?? new InMemoryDiscoveryCatalog();
  const written = new Map<string, { at: number; json: string }>();
  const refused = (refusal: DiscoveryRefusal) => {
    try {
      given.onRefused?.(refusal);
    } catch {
      // A hook that throws must not turn a served payment into an error.
    }
  };

  return {
    async record(rawPayload, rawRequirements, answer) {
      // Most payments declare nothing: they cost one property read here, not a second parse of the payload.
      const declared = (rawPayload as { extensions?: { bazaar?: unknown } } | null)?.extensions;
      if (typeof declared !== 'object' || declared === null || declared.bazaar === undefined)
        return;
      const payload = parsePaymentPayload(rawPayload);
      const requirements = parsePaymentRequirements(rawRequirements);
      if (!payload.success || !requirements.success) return;
      const payTo = requirements.data.payTo;
      if (!answer.success) {
        refused({
          reason: 'bazaar_payment_not_settled',
          message: `not recorded: the settlement answered ${answer.errorReason ?? 'a failure'}`,
          payTo,
        });
        return;
      }
      const found = discoveryEntryOf(payload.data, requirements.data, { maxBytes });
      if (found.status === 'absent') return;
      if (found.status === 'refused') {
        refused({ reason: found.reason, message: found.message, payTo });
        return;
      }
      const at = now();
      const json = JSON.stringify(found.entry);
      const last = written.get(found.entry.key);
      if (last && last.json === json && at - last.at < REFRESH_AFTER_MS) return;
      try {
        const outcome = await catalog.record(found.entry, answer.transaction, caps, at);
        if (!outcome.recorded) {
          refused({ reason: outcome.reason, message: `not recorded: ${outcome.reason}`, payTo });
          return;
        }
        written.delete(found.entry.key);
        written.set(found.entry.key, { at, json });
        if (written.size > MAX_REMEMBERED) written.delete(written.keys().next().value!);
      } catch (error) {
        refused({
          reason: 'bazaar_catalog_error',
          message: error instanceof Error ? error.message.split('\n')[0]! : String(error),
          payTo,
        });
      }
    },
    async list(query) {
      const { items, total } = await catalog.list(query);
      return {
        x402Version: 2,
        items: items.map(asListed),
        pagination: { limit: query.limit, offset: query.offset, total },
      };
    },
    prune: (at) => catalog.prune(at - ttlMs),
  };
}

function asListed(record: DiscoveryRecord) {
  return {
    resource: record.resource,
    type: record.type,
    x402Version: 2,
    accepts: [...record.accepts],
    lastUpdated: new Date(record.lastUpdated).toISOString(),
    ...(record.description !== undefined ? { description: record.description } : {}),
    ...(record.mimeType !== undefined ? { mimeType: record.mimeType } : {}),
    ...(record.serviceName !== undefined ? { serviceName: record.serviceName } : {}),
    ...(record.tags !== undefined ? { tags: [...record.tags] } : {}),
    extensions: { bazaar: record.declaration },
  };
}
