/**
 * Whether a facilitator process is alive, as the ledger sees it: each process's keeper renews a lease named after it,
 * and every claim records the process that made it. A retry of a payment whose settle call went unanswered can then
 * tell a call that still runs (leave it the answer) from one whose process died (take its place at once, rather than
 * after the claim lease and the settle timeout).
 * @module
 */
import type { FacilitatorContext } from './context.js';
import type { SettlementRecord } from './ledger.js';

/** What the ledger says about the process that claimed a settlement. */
export type HolderLiveness =
  /** This process: its settle call is still running, or already answered. */
  | 'self'
  /** Another process whose lease is held. */
  | 'alive'
  /** Its lease lapsed: the process died (or stalled past the lease, and then its guarded writes fail). */
  | 'gone'
  /** No lease to go by (a claim from before leases, or a process that never ran its keeper). */
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
 * Reads the liveness of the process that claimed a settlement.
 * @example
 * ```ts
 * if ((await holderLiveness(context, record)) === 'gone') takeOver(record);
 * ```
 */
export async function holderLiveness(
  context: FacilitatorContext,
  record: SettlementRecord,
): Promise<HolderLiveness> {
  if (record.holder === undefined) return 'unknown';
  if (record.holder === context.processId) return 'self';
  const lease = await context.ledger.readLease(leaseName(record.holder));
  if (!lease || lease.holder !== record.holder) return 'unknown';
  return lease.expiresAt > context.now() ? 'alive' : 'gone';
}
