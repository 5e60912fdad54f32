/**
 * Between listings and their rows: the columns a listing writes, the join that reads it back, and the JSON
 * documents, version rows and checks the store keeps beside it.
 * @module
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Kysely, Selectable, Transaction, Updateable } from 'kysely';
import type { Finding } from '../findings.js';
import type { ListingStatus, NormalizedListing } from '../listing.js';
import type { ListingsTable, RegistryDatabase } from './schema.js';
import { amountKey } from './search.js';
import type { Change, CheckResult, StoredListing } from './types.js';

export type ListingRow = Selectable<ListingsTable> & { document: string; findings: string };

/** Listings joined with their documents: everything a StoredListing needs. */
export function withDocument(db: Kysely<RegistryDatabase>) {
  return db
    .selectFrom('registry_listings')
    .innerJoin('registry_documents', 'registry_documents.listing_id', 'registry_listings.id')
    .selectAll('registry_listings')
    .select(['registry_documents.document', 'registry_documents.findings']);
}

export function documentColumns(listing: NormalizedListing, findings: readonly Finding[]) {
  return { document: JSON.stringify(listing), findings: JSON.stringify(findings) };
}

export function listingColumns(listing: NormalizedListing) {
  const first = listing.accepts[0]!;
  return {
    url: listing.url,
    method: listing.method,
    name: listing.name,
    description: listing.description,
    network: first.network,
    asset: first.asset,
    amount: first.amount,
    amount_key: amountKey(first.amount),
    pay_to: first.payTo,
    x402_version: listing.x402Version,
    paywall_verified: listing.paywallVerified ? 1 : 0,
  };
}

/**
 * Writes a listing's document over the stored one. A different schema hash (terms, input, output or the bazaar
 * schema) adds a version; a different set of payTo addresses is flagged, because a changed recipient is how a
 * hijacked listing would steal payments.
 */
export async function writeDocument(
  trx: Transaction<RegistryDatabase>,
  row: ListingRow,
  listing: NormalizedListing,
  findings: readonly Finding[],
  now: number,
): Promise<Change> {
  const hash = schemaHash(listing);
  const previous: NormalizedListing | undefined =
    row.version > 0 ? JSON.parse(row.document) : undefined;
  const versionChanged = hash !== row.schema_hash;
  const payToChanged = previous !== undefined && payTos(previous) !== payTos(listing);
  const version = versionChanged ? Number(row.version) + 1 : Number(row.version);
  await trx
    .updateTable('registry_listings')
    .set({
      ...listingColumns(listing),
      schema_hash: hash,
      version,
      ...(versionChanged ? { updated_at: now } : {}),
      ...(payToChanged ? { payto_changed_at: now } : {}),
    })
    .where('id', '=', row.id)
    .execute();
  await trx
    .updateTable('registry_documents')
    .set(documentColumns(listing, findings))
    .where('listing_id', '=', row.id)
    .execute();
  if (versionChanged) {
    const first = listing.accepts[0]!;
    await trx
      .insertInto('registry_versions')
      .values({
        listing_id: row.id,
        version,
        recorded_at: now,
        amount: first.amount,
        asset: first.asset,
        pay_to: first.payTo,
        schema_hash: hash,
        document: JSON.stringify(listing),
      })
      .execute();
    await trx.deleteFrom('registry_accepts').where('listing_id', '=', row.id).execute();
    await trx
      .insertInto('registry_accepts')
      .values(acceptRows(row.id, listing, { status: row.status, createdAt: row.created_at }))
      .execute();
  }
  return { version: versionChanged && previous !== undefined, payTo: payToChanged };
}

/**
 * The rows the payment filters search: one per option, each with copies of its listing's status, method, creation
 * time and sort price, so a filtered search never goes back to the listing row (see search-indexes.ts).
 */
export function acceptRows(
  listingId: string,
  listing: NormalizedListing,
  state: { status: string; createdAt: number | string | bigint },
) {
  const priceKey = amountKey(listing.accepts[0]!.amount);
  return listing.accepts.map((accept, position) => ({
    listing_id: listingId,
    position,
    network: accept.network,
    asset: accept.asset,
    symbol: accept.symbol,
    amount_key: amountKey(accept.amount),
    pay_to: accept.payTo,
    listing_status: state.status,
    listing_method: listing.method,
    listing_created_at: Number(state.createdAt),
    listing_price_key: priceKey,
  }));
}

/** Sets a listing's status, on its row and on the copies its payment options carry. */
export async function setListingStatus(
  trx: Transaction<RegistryDatabase>,
  listingId: string,
  status: ListingStatus,
  columns: Omit<Updateable<ListingsTable>, 'status'>,
): Promise<void> {
  await trx
    .updateTable('registry_listings')
    .set({ ...columns, status })
    .where('id', '=', listingId)
    .execute();
  await trx
    .updateTable('registry_accepts')
    .set({ listing_status: status })
    .where('listing_id', '=', listingId)
    .execute();
}

export async function insertCheck(
  trx: Transaction<RegistryDatabase>,
  listingId: string,
  now: number,
  result: Pick<CheckResult, 'outcome' | 'httpStatus' | 'latencyMs' | 'reason'>,
  statusAfter: ListingStatus,
): Promise<void> {
  await trx
    .insertInto('registry_checks')
    .values({
      id: randomUUID(),
      listing_id: listingId,
      checked_at: now,
      outcome: result.outcome,
      http_status: result.httpStatus,
      latency_ms: result.latencyMs,
      reason: result.reason,
      status_after: statusAfter,
    })
    .execute();
}

function payTos(listing: NormalizedListing): string {
  return [...new Set(listing.accepts.map((accept) => accept.payTo))].sort().join(',');
}

/**
 * A hash of what buyers depend on: the payment options, the call's input and output, and the bazaar declaration's
 * JSON Schema of the call when the seller declared one. A listing without a schema hashes as it did before schemas were
 * imported (an absent key is left out), so stored listings do not all turn into a new version on their next check.
 */
export function schemaHash(listing: NormalizedListing): string {
  return createHash('sha256')
    .update(
      canonicalJson({
        accepts: listing.accepts,
        input: listing.input,
        output: listing.output,
        schema: listing.schema,
      }),
    )
    .digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const nullableNumber = (value: number | string | bigint | null) =>
  value === null ? null : Number(value);

export function toStored(row: ListingRow): StoredListing {
  return {
    id: row.id,
    status: row.status as ListingStatus,
    listing: JSON.parse(row.document) as NormalizedListing,
    findings: JSON.parse(row.findings) as Finding[],
    version: Number(row.version),
    schemaHash: row.schema_hash,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    checkedAt: nullableNumber(row.checked_at),
    nextCheckAt: Number(row.next_check_at),
    consecutiveFailures: Number(row.consecutive_failures),
    failingSince: nullableNumber(row.failing_since),
    payToChangedAt: nullableNumber(row.payto_changed_at),
  };
}
