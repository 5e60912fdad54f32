/**
 * Whether a facilitator process is alive, as the ledger sees it: each process's keeper renews a lease named after it,
 * and every claim records the process that made it. A retry of a payment whose settle call went unanswered can then
 * tell a call that still runs (leave it the answer) from one whose process died (take its place within seconds,
 * rather than after the claim lease and the settle timeout).
 *
 * Death is judged without comparing clocks: a lease whose expiry this process watched stay unchanged for a whole lease
 * was not renewed, whatever the renewer's clock says. Two hosts whose clocks disagree by more than a lease cannot then
 * take a live call's payment from it.
 * @module
 */
import type { FacilitatorContext } from './context.js';
import type { SettlementRecord } from './ledger.js';

/** What the ledger says about the process that claimed a settlement. */
export type HolderLiveness =
  /** This process: its settle call is still running, or already answered. */
  | 'self'
  /** Another process whose lease was renewed within the last lease. */
  | 'alive'
  /** Its lease went unrenewed for a whole lease: the process died (or stalled that long, and then its guarded writes fail). */
  | 'gone'
  /** No lease to go by (a claim from before leases, a process that never ran its keeper, a ledger without leases). */
  | 'unknown';

const leaseName = (processId: string) => `process:${processId}`;

/**
 * Renews this process's lease; the keeper calls it every interval.
 * @example
 * ```ts
 * await renewProcessLease(context);
 * ```
 */
export function renewProcessLease(context: FacilitatorContext): Promise<boolean> {
  const { ledger, processId, leaseMs } = context;
  return ledger.acquireLease(leaseName(processId), processId, leaseMs, context.now());
}

/**
 * Watches the process that claimed a settlement: each call reads its lease once. The first reading of a held lease is
 * `alive`; `gone` comes only after this watcher saw the lease unchanged for `leaseMs` of its own time.
 * @example
 * ```ts
 * const liveness = watchHolder(context, record);
 * while ((await liveness()) === 'alive') await context.sleep(500);
 * ```
 */
export function watchHolder(
  context: FacilitatorContext,
  record: SettlementRecord,
): () => Promise<HolderLiveness> {
  let unchangedSince: { expiresAt: number; at: number } | undefined;
  return async () => {
    if (record.holder === undefined) return 'unknown';
    if (record.holder === context.processId) return 'self';
    // Optional on the interface: a Ledger written before leases still works, with the time bound alone.
    const lease = await context.ledger.readLease?.(leaseName(record.holder));
    if (!lease || lease.holder !== record.holder) return 'unknown';
    const now = context.now();
    if (unchangedSince?.expiresAt !== lease.expiresAt) {
      unchangedSince = { expiresAt: lease.expiresAt, at: now };
      return 'alive';
    }
    return now - unchangedSince.at >= context.leaseMs ? 'gone' : 'alive';
  };
}
