import { answerForClaim, type StoredAnswer } from './claim-answer.js';
import type {
  ClaimResult,
  Ledger,
  NewSettlement,
  PaymentIdBinding,
  PaymentIdKey,
  PaymentIdReplay,
  PaymentIdRetention,
  ReleaseOptions,
  ReleaseSponsorshipOptions,
  SendClaimResult,
  SettlementAnswer,
  SettlementRecord,
  SettlementState,
  SettlementUpdate,
  SponsorAccount,
  SponsorshipRequest,
  SponsorshipResult,
} from './ledger.js';
import { chooseSponsorNonce, sponsorLimitProblem } from './sponsor-choice.js';

type SponsorNonces = { next: bigint; released: Set<bigint> };
/** A settlement's hold on a sponsor nonce, and the fee it commits. */
type SponsorFee = {
  readonly network: string;
  readonly payer: string;
  readonly sponsor: string;
  readonly nonce: bigint;
  readonly fee: bigint;
  readonly at: number;
  failed: boolean;
  /** The keeper sends fillers over this nonce (`holdStrandedNonce`): it is never handed back to the pool. */
  stranded?: true;
};

/** The nonce of a sponsor fee record that holds none: a payer's failure kept for the limits' window. */
const NO_NONCE = -1n;

/**
 * A Ledger in memory, for one process: tests, and sellers that settle in-process. Every method runs to completion
 * without awaiting, so each is atomic on Node's single thread. State is lost when the process exits; use the
 * facilitator service's SQLite or PostgreSQL ledger when settlements must survive a restart.
 *
 * @example
 * ```ts
 * import { InMemoryLedger } from 'x402-stacks/facilitator';
 * const ledger = new InMemoryLedger({ now: () => Date.now() });
 * ```
 */
export class InMemoryLedger implements Ledger {
  readonly #byPaymentTxid = new Map<string, SettlementRecord>();
  /** On-chain txid → payment txid, for settlements whose id changed when sponsored. */
  readonly #byChainTxid = new Map<string, string>();
  /** `<network>|<payer>|<nonce>` → payment txid. */
  readonly #byNonce = new Map<string, string>();
  readonly #sponsorNonces = new Map<string, SponsorNonces>();
  /** Payment txid → its sponsor fee: present while it holds the nonce or once the fee was spent. */
  readonly #sponsorFees = new Map<string, SponsorFee>();
  readonly #leases = new Map<string, { holder: string; expiresAt: number }>();
  /** The answer given about each payment, and the claim it was given about when the caller named one. */
  readonly #answers = new Map<string, StoredAnswer>();
  /** `<network>|<payer>|<id>` → the payment it names. */
  readonly #paymentIds = new Map<string, PaymentIdBinding>();
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  async claim(settlement: NewSettlement): Promise<ClaimResult> {
    return this.#claim(settlement, 'claimed');
  }

  async claimToSend<R>(
    settlement: NewSettlement,
    admit: (inFlight: readonly SettlementRecord[]) => R | undefined,
  ): Promise<SendClaimResult<R>> {
    const claim = this.#claim(settlement, 'broadcast');
    if (!claim.claimed) return claim;
    let refused: R | undefined;
    try {
      refused = admit(this.#inFlight(claim.record.network, claim.record.payer));
    } catch (error) {
      // As a rolled-back transaction would: a claim marked broadcast and never sent would be sent by a keeper.
      this.#drop(claim.record);
      throw error;
    }
    if (refused === undefined) return claim;
    this.#drop(claim.record);
    return { claimed: false, refused };
  }

  #claim(settlement: NewSettlement, state: 'claimed' | 'broadcast'): ClaimResult {
    const paymentTxid = normalize(settlement.paymentTxid);
    const txid = normalize(settlement.txid);
    const existing = this.#find(paymentTxid) ?? this.#find(txid);
    if (existing) return { claimed: false, conflict: 'txid', existing };
    const nonceKey = nonceKeyOf(settlement);
    const holder = this.#byNonce.get(nonceKey);
    if (holder)
      return { claimed: false, conflict: 'nonce', existing: this.#byPaymentTxid.get(holder)! };
    const now = this.#now();
    const record: SettlementRecord = Object.freeze({
      ...settlement,
      paymentTxid,
      txid,
      state,
      createdAt: now,
      updatedAt: now,
    });
    this.#byPaymentTxid.set(record.paymentTxid, record);
    this.#byChainTxid.set(record.txid, record.paymentTxid);
    this.#byNonce.set(nonceKey, record.paymentTxid);
    return { claimed: true, record };
  }

  async get(txid: string): Promise<SettlementRecord | undefined> {
    return this.#find(txid);
  }

  async update(
    txid: string,
    update: SettlementUpdate,
    from: readonly SettlementState[],
    claimedAt?: number,
  ): Promise<SettlementRecord | undefined> {
    const current = this.#find(txid);
    if (!current || !from.includes(current.state)) return undefined;
    if (claimedAt !== undefined && current.createdAt !== claimedAt) return undefined;
    return this.#set(current, update);
  }

  async release(txid: string, claimedAt?: number, options: ReleaseOptions = {}): Promise<void> {
    const record = this.#find(txid);
    if (
      record &&
      (claimedAt === undefined || record.createdAt === claimedAt) &&
      (options.from === undefined || options.from.includes(record.state))
    ) {
      this.#drop(record, options.reuseSponsorNonce);
    }
  }

  async expireClaim(txid: string, updatedBefore: number): Promise<SettlementRecord | undefined> {
    const record = this.#find(txid);
    if (record?.state !== 'claimed' || record.updatedAt >= updatedBefore) return undefined;
    this.#drop(record);
    return record;
  }

  async forgetDropped(paymentTxid: string, claimedAt: number): Promise<boolean> {
    const record = this.#byPaymentTxid.get(normalize(paymentTxid));
    if (
      record?.state !== 'failed' ||
      record.errorReason !== 'transaction_failed' ||
      record.createdAt !== claimedAt ||
      this.#byNonce.get(nonceKeyOf(record)) === record.paymentTxid ||
      this.#sponsorFees.has(record.paymentTxid) ||
      // Served already: a call whose read was ahead of the drop's found it mined.
      this.#answers.get(record.paymentTxid)?.answer === 'success'
    ) {
      return false;
    }
    this.#drop(record);
    this.#answers.delete(record.paymentTxid);
    return true;
  }

  async unfinished(): Promise<SettlementRecord[]> {
    return [...this.#byPaymentTxid.values()].filter(isInFlight);
  }

  async inFlight(network: string, payer: string): Promise<SettlementRecord[]> {
    return this.#inFlight(network, payer);
  }

  #inFlight(network: string, payer: string): SettlementRecord[] {
    return [...this.#byPaymentTxid.values()].filter(
      (record) => record.network === network && record.payer === payer && isInFlight(record),
    );
  }

  async lookup(txid: string, network: string, payer: string) {
    return { settled: this.#find(txid), inFlight: await this.inFlight(network, payer) };
  }

  async reserveSponsorship(request: SponsorshipRequest, now: number): Promise<SponsorshipResult> {
    const paymentTxid = normalize(request.paymentTxid);
    const claim = this.#byPaymentTxid.get(paymentTxid);
    if (claim?.state !== 'claimed' || claim.createdAt !== request.claimedAt) {
      return { granted: false, reason: 'claim_lost', message: 'the claim is no longer held' };
    }
    const since = now - request.limits.windowMs;
    let feesOfPayer = 0n;
    let feesTotal = 0n;
    let failedOfPayer = 0;
    for (const fee of this.#sponsorFees.values()) {
      if (fee.network !== request.network || fee.at < since) continue;
      feesTotal += fee.fee;
      if (fee.payer !== request.payer) continue;
      feesOfPayer += fee.fee;
      if (fee.failed) failedOfPayer++;
    }
    const inFlightOfPayer = [...this.#byPaymentTxid.values()].filter(
      (record) =>
        record.network === request.network &&
        record.payer === request.payer &&
        record.sponsor !== undefined &&
        isInFlight(record),
    ).length;
    const problem = sponsorLimitProblem(
      { inFlightOfPayer, feesOfPayer, feesTotal, failedOfPayer },
      request.fee,
      request.limits,
    );
    if (problem) return { granted: false, reason: 'sponsor_limit_exceeded', message: problem };
    const choice = chooseSponsorNonce(
      request.candidates,
      (sponsor) => {
        const book = this.#sponsor({ network: request.network, sponsor });
        return { next: book.next, released: [...book.released] };
      },
      request.capacity,
    );
    if (!choice) {
      return {
        granted: false,
        reason: 'sponsor_capacity_exhausted',
        message: `every sponsor key has ${request.capacity} transactions pending`,
      };
    }
    const book = this.#sponsor({ network: request.network, sponsor: choice.sponsor });
    for (const nonce of choice.stale) book.released.delete(nonce);
    if (choice.reused) book.released.delete(choice.nonce);
    book.next = choice.next;
    this.#sponsorFees.set(paymentTxid, {
      network: request.network,
      payer: request.payer,
      sponsor: choice.sponsor,
      nonce: choice.nonce,
      fee: request.fee,
      at: now,
      failed: false,
    });
    this.#set(claim, { state: 'claimed', sponsor: choice.sponsor, sponsorNonce: choice.nonce });
    return { granted: true, sponsor: choice.sponsor, nonce: choice.nonce };
  }

  async releaseSponsorship(
    txid: string,
    reuse: boolean,
    claimedAt?: number,
    { chargePayerAt }: ReleaseSponsorshipOptions = {},
  ): Promise<void> {
    const record = this.#find(txid);
    if (record && (claimedAt === undefined || record.createdAt === claimedAt)) {
      this.#releaseSponsorship(record.paymentTxid, reuse, chargePayerAt);
    }
  }

  async recordSponsorFailure(txid: string): Promise<void> {
    const record = this.#find(txid);
    const fee = record && this.#sponsorFees.get(record.paymentTxid);
    if (fee) fee.failed = true;
  }

  async takeSponsorGap(account: SponsorAccount, nonce: bigint): Promise<boolean> {
    const unspentHolders: string[] = [];
    for (const [paymentTxid, fee] of this.#sponsorFees) {
      if (fee.network !== account.network || fee.sponsor !== account.sponsor) continue;
      if (fee.nonce !== nonce) continue;
      const holder = this.#byPaymentTxid.get(paymentTxid);
      if (holder && isInFlight(holder)) return false;
      if (holder?.state === 'failed' && this.#byNonce.get(nonceKeyOf(holder)) !== paymentTxid) {
        unspentHolders.push(paymentTxid);
      }
    }
    // A failed settlement whose transaction spent neither nonce (refused, or dropped from the mempool) holds the nonce
    // only until its tracker releases it, a step after the failure (after a chain read, for a refusal being judged).
    // The hold goes now: that release, ending after this filler was sent, finds nothing to hand back.
    for (const paymentTxid of unspentHolders) this.#sponsorFees.delete(paymentTxid);
    const book = this.#sponsor(account);
    book.released.delete(nonce);
    if (nonce >= book.next) book.next = nonce + 1n;
    return true;
  }

  async holdStrandedNonce(paymentTxid: string, claimedAt: number): Promise<boolean> {
    const record = this.#byPaymentTxid.get(normalize(paymentTxid));
    if (record?.state !== 'broadcast' || record.createdAt !== claimedAt) return false;
    const fee = this.#sponsorFees.get(record.paymentTxid);
    if (!fee || fee.nonce === NO_NONCE) return false;
    fee.stranded = true;
    return true;
  }

  async recordAnswer(
    paymentTxid: string,
    answer: SettlementAnswer,
    claimedAt?: number,
  ): Promise<SettlementAnswer | undefined> {
    const key = normalize(paymentTxid);
    const given = this.#answers.get(key);
    const held = this.#byPaymentTxid.get(key);
    // A pending answer about a claim gone since (the one held now is the caller's) gives way: see Ledger.recordAnswer.
    const stale =
      given !== undefined &&
      held !== undefined &&
      held.createdAt === claimedAt &&
      answerForClaim(given, claimedAt) === undefined;
    if (given && !stale) return given.answer;
    this.#answers.set(key, { answer, claimedAt });
    return undefined;
  }

  async promoteAnswer(paymentTxid: string, claimedAt?: number): Promise<boolean> {
    const key = normalize(paymentTxid);
    const given = this.#answers.get(key);
    if (!given || answerForClaim(given, claimedAt) !== 'pending') return false;
    this.#answers.set(key, { ...given, answer: 'success' });
    return true;
  }

  async answerOf(paymentTxid: string, claimedAt?: number): Promise<SettlementAnswer | undefined> {
    return answerForClaim(this.#answers.get(normalize(paymentTxid)), claimedAt);
  }

  async bindPaymentId(
    key: PaymentIdKey,
    paymentTxid: string,
    now: number,
    windowMs: number,
  ): Promise<PaymentIdBinding> {
    const name = paymentIdKeyOf(key);
    const existing = this.#paymentIds.get(name);
    if (existing && existing.boundAt > now - windowMs) return existing;
    const bound = Object.freeze({ paymentTxid: normalize(paymentTxid), boundAt: now, replays: 0 });
    this.#paymentIds.set(name, bound);
    return bound;
  }

  async paymentIdBinding(key: PaymentIdKey): Promise<PaymentIdBinding | undefined> {
    return this.#paymentIds.get(paymentIdKeyOf(key));
  }

  async replayPaymentId(
    key: PaymentIdKey,
    paymentTxid: string,
    now: number,
    windowMs: number,
    maxReplays: number,
  ): Promise<PaymentIdReplay> {
    const name = paymentIdKeyOf(key);
    const bound = this.#paymentIds.get(name);
    if (!bound) return 'unbound';
    if (bound.paymentTxid !== normalize(paymentTxid)) return 'conflict';
    if (bound.boundAt <= now - windowMs || bound.replays >= maxReplays) return 'exhausted';
    this.#paymentIds.set(name, Object.freeze({ ...bound, replays: bound.replays + 1 }));
    return 'replayed';
  }

  async prunePaymentIds(before: number, keep?: PaymentIdRetention): Promise<void> {
    for (const [name, bound] of this.#paymentIds) {
      if (bound.boundAt >= before) continue;
      if (keep && bound.boundAt >= keep.unservedBefore) {
        const judged = keep.judgedFrom !== undefined && bound.boundAt < keep.judgedFrom;
        if (judged || this.#mayBeServed(bound.paymentTxid)) continue;
      }
      this.#paymentIds.delete(name);
    }
  }

  /** See `Ledger.prunePaymentIds`. */
  #mayBeServed(paymentTxid: string): boolean {
    const record = this.#byPaymentTxid.get(paymentTxid);
    if (!record || record.resource === undefined) return false;
    if (this.#answers.get(paymentTxid)?.answer === 'success') return false;
    if (record.state !== 'failed') return true;
    // A drop: its payer nonce given back (a failure on chain keeps it).
    return (
      record.errorReason === 'transaction_failed' &&
      this.#byNonce.get(nonceKeyOf(record)) !== record.paymentTxid
    );
  }

  async pruneSponsorFees(before: number): Promise<void> {
    for (const [paymentTxid, fee] of this.#sponsorFees) {
      const holder = this.#byPaymentTxid.get(paymentTxid);
      if (fee.at < before && !(holder && isInFlight(holder))) this.#sponsorFees.delete(paymentTxid);
    }
  }

  async acquireLease(name: string, holder: string, ttlMs: number, now: number): Promise<boolean> {
    const lease = this.#leases.get(name);
    if (lease && lease.holder !== holder && lease.expiresAt > now) return false;
    this.#leases.set(name, { holder, expiresAt: now + ttlMs });
    return true;
  }

  async readLease(name: string): Promise<{ holder: string; expiresAt: number } | undefined> {
    const lease = this.#leases.get(name);
    return lease && { ...lease };
  }

  #set(
    current: SettlementRecord,
    { releaseNonce, clearErrorReason, ...update }: SettlementUpdate,
  ): SettlementRecord {
    const merged: SettlementRecord = {
      ...current,
      ...update,
      ...(update.txid === undefined ? {} : { txid: normalize(update.txid) }),
      updatedAt: this.#now(),
    };
    const next = Object.freeze(clearErrorReason ? withoutErrorReason(merged) : merged);
    if (releaseNonce) {
      const key = nonceKeyOf(current);
      if (this.#byNonce.get(key) === current.paymentTxid) this.#byNonce.delete(key);
    }
    this.#byPaymentTxid.set(current.paymentTxid, next);
    if (next.txid !== current.txid) {
      this.#byChainTxid.delete(current.txid);
      this.#byChainTxid.set(next.txid, current.paymentTxid);
    }
    return next;
  }

  #drop(record: SettlementRecord, reuseSponsorNonce = true): void {
    this.#releaseSponsorship(record.paymentTxid, reuseSponsorNonce);
    this.#byPaymentTxid.delete(record.paymentTxid);
    this.#byChainTxid.delete(record.txid);
    const key = nonceKeyOf(record);
    if (this.#byNonce.get(key) === record.paymentTxid) this.#byNonce.delete(key);
  }

  #releaseSponsorship(paymentTxid: string, reuse: boolean, chargePayerAt?: number): void {
    const fee = this.#sponsorFees.get(paymentTxid);
    if (!fee || fee.nonce === NO_NONCE) return;
    if (chargePayerAt !== undefined) {
      // Kept, holding no nonce and no fee, as the payer's failure for the limits' window from the charge.
      this.#sponsorFees.set(paymentTxid, {
        ...fee,
        nonce: NO_NONCE,
        fee: 0n,
        failed: true,
        at: chargePayerAt,
      });
    } else {
      this.#sponsorFees.delete(paymentTxid);
    }
    if (!reuse || fee.stranded) return;
    const book = this.#sponsor({
      network: fee.network as SponsorAccount['network'],
      sponsor: fee.sponsor,
    });
    // Kept as released even when it is the highest handed out: lowering `next` instead would lose it to a chain view
    // that still counts it pending, and a gap would open below the next reservation.
    if (fee.nonce < book.next) book.released.add(fee.nonce);
  }

  #find(txid: string): SettlementRecord | undefined {
    const key = normalize(txid);
    return (
      this.#byPaymentTxid.get(key) ?? this.#byPaymentTxid.get(this.#byChainTxid.get(key) ?? '')
    );
  }

  #sponsor(account: SponsorAccount): SponsorNonces {
    const key = `${account.network}|${account.sponsor}`;
    let nonces = this.#sponsorNonces.get(key);
    if (!nonces) {
      nonces = { next: 0n, released: new Set() };
      this.#sponsorNonces.set(key, nonces);
    }
    return nonces;
  }
}

function isInFlight(record: SettlementRecord): boolean {
  return record.state === 'claimed' || record.state === 'broadcast';
}

function nonceKeyOf(settlement: Pick<SettlementRecord, 'network' | 'payer' | 'nonce'>): string {
  return `${settlement.network}|${settlement.payer}|${settlement.nonce}`;
}

function paymentIdKeyOf({ network, payer, id }: PaymentIdKey): string {
  return `${network}|${payer}|${id}`;
}

function normalize(txid: string): string {
  return (txid.startsWith('0x') ? txid.slice(2) : txid).toLowerCase();
}

/** A record without its error reason: `clearErrorReason` wins over one given with it, as in the SQL ledgers. */
function withoutErrorReason({ errorReason: _reason, ...rest }: SettlementRecord): SettlementRecord {
  return rest;
}
