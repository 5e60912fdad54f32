/**
 * The audit: what the chain, the ledger and the buyers' records say once the run is over. Honest requests are matched
 * to the chain by (payer, asset, amount), which is unique per request in a run; a transfer "moved" when a mined
 * transaction with status success carries that transfer event to the seller.
 */
import type { DevnetChain, TransactionRecord } from '@x402-stacks/devnet';
import type { HonestRequest } from './honest-buyer.js';
import type { LedgerView } from './ledger-view.js';
import { SBTC_ASSET_ID } from './payments.js';

export type AuditInput = {
  readonly chain: DevnetChain;
  /** Blocks mined from the start of the load to the end of settling: the throughput denominator. */
  readonly blocks: number;
  readonly seller: string;
  readonly sponsors: readonly string[];
  readonly requests: readonly HonestRequest[];
  readonly attackAttempts: number;
  readonly ledger: LedgerView;
};

export type Audit = {
  readonly honestRequests: number;
  readonly served: number;
  /** Must be empty: a request whose money moved twice, or that got two successes. */
  readonly paidTwice: readonly string[];
  /** Must be empty: money moved on chain, the buyer never got success, and nothing is pending any more. */
  readonly movedRefused: readonly string[];
  /** Must be empty: answered success, no transfer on chain. */
  readonly servedUnpaid: readonly string[];
  /** Must be empty: settlements unfinished in the ledger, or our transactions still in the mempool. */
  readonly pending: readonly string[];
  /** Must be empty: sponsor keys with nonces missing below their highest pending one. */
  readonly frozen: readonly string[];
  readonly attackAttempts: number;
  /** Fees of sponsored transactions mined without success (the sponsor paid for nothing). */
  readonly sponsorFeesLost: bigint;
  readonly failedSponsored: number;
  readonly ledgerFailedFees: bigint;
  /** The keeper's 1 µSTX gap fillers: how often a hole had to be filled, and what it cost. */
  readonly fillers: number;
  readonly fillerFees: bigint;
  readonly blocks: number;
  readonly honestConfirmed: number;
  readonly sponsoredConfirmed: number;
  /** Honest requests by how they ended. */
  readonly outcomes: Map<string, number>;
};

export function audit(input: AuditInput): Audit {
  const { chain, sponsors, seller } = input;
  const sponsorSet = new Set(sponsors);
  const transfers = new Map<string, string[]>();
  let sponsorFeesLost = 0n;
  let failedSponsored = 0;
  let fillers = 0;
  let fillerFees = 0n;
  let sponsoredConfirmed = 0;
  for (let height = 1; height <= chain.height; height++) {
    for (const txid of chain.block(height)!.txids) {
      const record = chain.transaction(txid)!;
      const { admitted } = record;
      if (admitted.sponsor && sponsorSet.has(admitted.sponsor)) {
        if (record.status === 'success') sponsoredConfirmed++;
        else {
          failedSponsored++;
          sponsorFeesLost += admitted.fee;
        }
      } else if (sponsorSet.has(admitted.origin)) {
        fillers++;
        fillerFees += admitted.fee;
      }
      if (record.status !== 'success') continue;
      for (const event of record.execution?.events ?? []) {
        if (event.event_type === 'smart_contract_log') continue;
        if (event.asset.recipient !== seller) continue;
        const asset = event.event_type === 'stx_asset' ? 'STX' : event.asset.asset_id;
        const key = `${event.asset.sender}|${asset}|${event.asset.amount}`;
        transfers.set(key, [...(transfers.get(key) ?? []), txid]);
      }
    }
  }

  const paidTwice: string[] = [];
  const movedRefused: string[] = [];
  const servedUnpaid: string[] = [];
  const outcomes = new Map<string, number>();
  let honestConfirmed = 0;
  for (const request of input.requests) {
    outcomes.set(request.outcome, (outcomes.get(request.outcome) ?? 0) + 1);
    const asset = request.asset === 'STX' ? 'STX' : SBTC_ASSET_ID;
    const onChain = transfers.get(`${request.payer}|${asset}|${request.amount}`) ?? [];
    if (onChain.length > 0) honestConfirmed++;
    const served = request.successes > 0;
    const stillPending = chain.mempool.some(
      (r) =>
        r.admitted.origin === request.payer &&
        request.payments.some((p) => p.nonce === r.admitted.originNonce),
    );
    const story = describeRequest(request, onChain, input.ledger);
    if (onChain.length > 1 || request.successes > 1) paidTwice.push(story);
    if (onChain.length > 0 && !served && !stillPending) movedRefused.push(story);
    if (served && onChain.length === 0) servedUnpaid.push(story);
  }

  const payers = new Set(input.requests.map((r) => r.payer));
  return {
    honestRequests: input.requests.length,
    served: input.requests.filter((r) => r.successes > 0).length,
    paidTwice,
    movedRefused,
    servedUnpaid,
    pending: pendingNow(chain, input.ledger, sponsorSet, payers),
    frozen: frozenSponsors(chain, sponsors),
    attackAttempts: input.attackAttempts,
    sponsorFeesLost,
    failedSponsored,
    ledgerFailedFees: input.ledger.failedFees,
    fillers,
    fillerFees,
    blocks: input.blocks,
    honestConfirmed,
    sponsoredConfirmed,
    outcomes,
  };
}

/** Settlements the ledger has not finished, and our transactions (sponsored, fillers, honest) still in the mempool. */
export function pendingNow(
  chain: DevnetChain,
  ledger: LedgerView,
  sponsors: ReadonlySet<string>,
  payers: ReadonlySet<string>,
): string[] {
  const ours = (record: TransactionRecord) =>
    (record.admitted.sponsor !== undefined && sponsors.has(record.admitted.sponsor)) ||
    sponsors.has(record.admitted.origin) ||
    payers.has(record.admitted.origin);
  return [
    ...ledger.unfinished.map(
      (row) =>
        `ledger ${row.state} payment ${short(row.paymentTxid)} (payer ${short(row.payer)} nonce ${row.nonce}` +
        `${row.sponsor ? `, sponsor ${short(row.sponsor)} nonce ${row.sponsorNonce}` : ''}) on-chain txid ${short(row.txid)}`,
    ),
    ...chain.mempool
      .filter(ours)
      .map(
        ({ admitted }) =>
          `mempool ${short(admitted.txid)} origin ${short(admitted.origin)} nonce ${admitted.originNonce}` +
          `${admitted.sponsor ? ` sponsor ${short(admitted.sponsor)} nonce ${admitted.sponsorNonce}` : ''}`,
      ),
  ];
}

function frozenSponsors(chain: DevnetChain, sponsors: readonly string[]): string[] {
  return sponsors.flatMap((sponsor) => {
    const { missing } = chain.nonces(sponsor);
    return missing.length > 0 ? [`${sponsor} missing nonces ${missing.join(', ')}`] : [];
  });
}

function describeRequest(
  request: HonestRequest,
  onChain: readonly string[],
  ledger: LedgerView,
): string {
  const payments = request.payments
    .map((p) => {
      const row = ledger.settlements.get(p.paymentTxid);
      const recorded = row
        ? `ledger ${row.state}${row.errorMessage ? ` (${row.errorMessage})` : ''} as ${short(row.txid)}`
        : 'not in the ledger';
      return `nonce ${p.nonce} payment ${short(p.paymentTxid)}: ${p.answers.join(' → ')}; ${recorded}`;
    })
    .join('; ');
  return (
    `request #${request.id} ${request.asset} ${request.amount} from ${short(request.payer)} ` +
    `[${request.outcome}; ${request.successes} success answer(s); on chain ${onChain.map(short).join(', ') || 'none'}] ${payments}`
  );
}

const short = (id: string) => (id.length > 14 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id);
