/**
 * The Ledger: what a facilitator must remember so that money moves at most once. It holds settlement claims (one per
 * transaction id and one per (network, payer, nonce)), their states, and the sponsor nonces it hands out. Every
 * method is atomic: implementations over a shared database make the same guarantees across processes.
 * @module
 */
import type { StacksNetworkId } from '../stacks/networks.js';

/**
 * Where a settlement stands.
 * - `claimed`: claimed, not yet handed to the node (a restart must broadcast it);
 * - `broadcast`: the node may hold it, or is about to (a restart must only track it, never broadcast other bytes for
 *   it; the tracker sends its own bytes again when the node does not know them);
 * - `success`: final;
 * - `failed`: final, but for a drop from the mempool whose bytes a look already under way then found mined: that one
 *   becomes `success` (`clearErrorReason`).
 * @example
 * ```ts
 * const finalStates: readonly SettlementState[] = ['success', 'failed'];
 * const done = record !== undefined && finalStates.includes(record.state);
 * ```
 */
export type SettlementState = 'claimed' | 'broadcast' | 'success' | 'failed';

/**
 * A settlement as the ledger keeps it. Amounts and nonces are bigints; times are epoch milliseconds.
 * @example
 * ```ts
 * const record: SettlementRecord | undefined = await ledger.get(txid); // the payment txid or the on-chain one
 * if (record?.state === 'failed') console.log(record.errorReason, record.errorMessage);
 * ```
 */
export type SettlementRecord = {
  /** The id of the bytes the client signed. Claims are keyed on it. */
  readonly paymentTxid: string;
  /** The id that goes on chain: after sponsoring, the sponsored transaction's id; otherwise `paymentTxid`. */
  readonly txid: string;
  readonly network: StacksNetworkId;
  readonly payer: string;
  readonly nonce: bigint;
  readonly sponsor?: string;
  readonly sponsorNonce?: bigint;
  readonly amount: bigint;
  /** `'STX'` or `'<contract id>::<asset name>'`. */
  readonly asset: string;
  readonly payTo: string;
  /**
   * The URL of the resource the payment was settled for, as the seller named it in the settle request's
   * `paymentPayload.resource`, in its bound form (a URL over 2,048 characters as `sha256:<hex>`; see
   * `boundResource`). What binds a later status or retry to one route. Absent on settlements recorded before ledgers
   * kept it, and when the request named none: such a settlement cannot be bound, so a `settlement_pending` answer
   * about it never turns into a success.
   */
  readonly resource?: string;
  /** The hex to broadcast (sponsored when the facilitator pays the fee), kept so a restart can finish the job. */
  readonly transaction: string;
  readonly state: SettlementState;
  readonly errorReason?: string;
  readonly errorMessage?: string;
  readonly blockHeight?: number;
  /**
   * The facilitator process that claimed it. While that process's lease (`process:<holder>`, see `readLease`) is
   * held, its settle call may still answer; once the lease lapses, a retry of the same payment takes the call's place.
   */
  readonly holder?: string;
  readonly createdAt: number;
  readonly updatedAt: number;
};

/**
 * What a new claim carries.
 * @example
 * ```ts
 * const settlement: NewSettlement = { paymentTxid: txid, txid, network: 'stacks:2147483648', payer, nonce: 3n,
 *   amount: 1000n, asset: 'STX', payTo, transaction: hex };
 * const result = await ledger.claim(settlement);
 * ```
 */
export type NewSettlement = Omit<SettlementRecord, 'state' | 'createdAt' | 'updatedAt'>;

/**
 * The outcome of a claim: ours, or the settlement that already holds the txid or the (payer, nonce).
 * @example
 * ```ts
 * const result: ClaimResult = await ledger.claim(settlement);
 * if (!result.claimed) console.log(result.conflict, result.existing.state); // 'txid': the same payment again
 * ```
 */
export type ClaimResult =
  | {
      readonly claimed: true;
      readonly record: SettlementRecord;
      /**
       * The payer's settlements in flight on the network, this claim among them, when the ledger read them in the same
       * step as the claim, with the guarantee an `inFlight` read right after it has: the facilitator's funds check then
       * needs no read of its own.
       */
      readonly inFlight?: readonly SettlementRecord[];
    }
  | {
      readonly claimed: false;
      /** `txid`: the same payment again. `nonce`: another transaction spending the same (payer, nonce). */
      readonly conflict: 'txid' | 'nonce';
      readonly existing: SettlementRecord;
    };

/**
 * The outcome of {@link Ledger.claimToSend}: the claim, already `broadcast`; the settlement that already holds the txid
 * or the (payer, nonce); or the refusal `admit` returned, with nothing recorded.
 * @example
 * ```ts
 * const result: SendClaimResult<'too_many'> | undefined = await ledger.claimToSend?.(settlement,
 *   (inFlight) => (inFlight.length > 10 ? 'too_many' : undefined));
 * if (result && 'refused' in result) console.log(result.refused); // nothing was recorded
 * ```
 */
export type SendClaimResult<R> = ClaimResult | { readonly claimed: false; readonly refused: R };

/**
 * How {@link Ledger.release} drops a claim.
 * @example
 * ```ts
 * const options: ReleaseOptions = { from: ['claimed'], reuseSponsorNonce: true };
 * await ledger.release(record.paymentTxid, record.createdAt, options);
 * ```
 */
export type ReleaseOptions = {
  /** Drops it only while in one of these states (any state when omitted). */
  readonly from?: readonly SettlementState[];
  /**
   * False when something else spent its sponsor nonce, or may have: the nonce is then never handed out again (a gap it
   * leaves is the keeper's to fill). Default true.
   */
  readonly reuseSponsorNonce?: boolean;
};

/**
 * How {@link Ledger.releaseSponsorship} ends a sponsor nonce's hold.
 * @example
 * ```ts
 * // The payer replaced its sponsored transaction by fee: the nonce goes back, and the payer is charged a failure.
 * await ledger.releaseSponsorship(record.paymentTxid, true, record.createdAt, { chargePayerAt: Date.now() });
 * ```
 */
export type ReleaseSponsorshipOptions = {
  /**
   * The payer took the nonce back itself (it replaced the sponsored transaction by fee): from this time (the clock
   * `reserveSponsorship` is given), the settlement counts against its payer as a failed sponsorship, at no fee, for the
   * limits' window. Not charged when omitted.
   */
  readonly chargePayerAt?: number;
};

/**
 * Fields a state change may set.
 * @example
 * ```ts
 * const update: SettlementUpdate = { state: 'success', blockHeight: 1234 };
 * const updated = await ledger.update(record.txid, update, ['broadcast'], record.createdAt); // undefined: guard failed
 * ```
 */
export type SettlementUpdate = Partial<
  Pick<
    SettlementRecord,
    | 'txid'
    | 'transaction'
    | 'sponsor'
    | 'sponsorNonce'
    | 'errorReason'
    | 'errorMessage'
    | 'blockHeight'
  >
> & {
  readonly state: SettlementState;
  /**
   * Frees the settlement's (network, payer, nonce) in the same step, keeping its txid claimed: for a transaction that
   * can no longer spend the nonce (refused by the node, or dropped). One step, so no process death can leave a
   * settlement still `broadcast` whose nonce another payment already took (its bytes, sent again, would replace that
   * payment), nor one `failed` still holding the nonce (every later payment on it refused for good).
   */
  readonly releaseNonce?: true;
  /**
   * Clears `errorReason` in the same step, keeping `errorMessage`: for a drop the chain contradicted, a success read of
   * the same txid after the settlement was recorded `failed` (one node's mempool let the transaction go while another
   * node's block held it). The message kept says so: a facilitator serves a success with a drop's message, and no
   * answer recorded, only to the retry naming the payment's id.
   */
  readonly clearErrorReason?: true;
};

/**
 * What a settle call answered about a payment: `success` (its caller may serve), or `settlement_pending` (its caller
 * follows the status). At most one settle call gives either, so at most one request is served for a payment, however
 * many times it is retried.
 * @example
 * ```ts
 * const given: SettlementAnswer | undefined =
 *   await ledger.recordAnswer(record.paymentTxid, 'pending', record.createdAt);
 * if (given !== undefined) return duplicate(record); // answered before: this call serves nothing
 * ```
 */
export type SettlementAnswer = 'success' | 'pending';

/**
 * A `payment-identifier` id, scoped to the payer that signed the payment it names: the payer is read from the signed
 * transaction, so one buyer cannot take another's ids.
 * @example
 * ```ts
 * const key: PaymentIdKey = { network: 'stacks:2147483648', payer, id: 'pay_0123456789abcdef' };
 * const bound = await ledger.bindPaymentId?.(key, paymentTxid, Date.now(), 600_000);
 * ```
 */
export type PaymentIdKey = {
  readonly network: StacksNetworkId;
  readonly payer: string;
  readonly id: string;
};

/**
 * A payment id and the payment it names, as the ledger keeps it.
 * @example
 * ```ts
 * const binding: PaymentIdBinding | undefined = await ledger.paymentIdBinding?.(key);
 * if (binding && binding.paymentTxid !== paymentTxid) refuse('payment_identifier_conflict');
 * ```
 */
export type PaymentIdBinding = {
  /** The payment txid the id names. */
  readonly paymentTxid: string;
  /** When the id was first bound (epoch ms): its window of replays runs from here. */
  readonly boundAt: number;
  /** How many times the stored outcome was answered again for it. */
  readonly replays: number;
};

/**
 * Which ids past their window `Ledger.prunePaymentIds` keeps for a payment that may still be served.
 * @example
 * ```ts
 * const keep: PaymentIdRetention = { unservedBefore: now - 86_400_000, judgedFrom: lastBefore };
 * await ledger.prunePaymentIds?.(now - 600_000, keep);
 * ```
 */
export type PaymentIdRetention = {
  /** Ids bound before this go whatever their payment's state. */
  readonly unservedBefore: number;
  /**
   * Only ids bound at or after this are judged; those bound before it were judged by an earlier call and kept, and
   * stay until `unservedBefore` passes them. So a caller judges each id once, as it leaves its window, not on every
   * call.
   * Default: every id past its window is judged.
   */
  readonly judgedFrom?: number;
};

/**
 * What `replayPaymentId` decided.
 * @example
 * ```ts
 * const replay: PaymentIdReplay | undefined = await ledger.replayPaymentId?.(key, paymentTxid, now, 600_000, 3);
 * if (replay === 'conflict') refuse('payment_identifier_conflict');
 * ```
 */
export type PaymentIdReplay =
  /** Counted: answer the stored outcome again. */
  | 'replayed'
  /** The id names this payment but its window passed or its replays are used up: answer `duplicate_settlement`. */
  | 'exhausted'
  /** The id names another payment of this payer: answer `payment_identifier_conflict`. */
  | 'conflict'
  /** The id names nothing (never bound, or pruned). */
  | 'unbound';

/**
 * A sponsor account on one network.
 * @example
 * ```ts
 * const account: SponsorAccount = { network: 'stacks:2147483648', sponsor: sponsorAddress };
 * if (await ledger.takeSponsorGap(account, 17n)) await sendFiller(17n);
 * ```
 */
export type SponsorAccount = { readonly network: StacksNetworkId; readonly sponsor: string };

/**
 * A sponsor key that may sponsor a payment, with its nonces as the chain reported them.
 * @example
 * ```ts
 * const candidate: SponsorCandidate = { sponsor: sponsorAddress, confirmedNext: 12n, possibleNext: 14n };
 * // the next block needs nonce 12; the mempool holds nonces up to 13
 * ```
 */
export type SponsorCandidate = {
  readonly sponsor: string;
  /** The nonce the sponsor's next block transaction needs (one past its last confirmed one). */
  readonly confirmedNext: bigint;
  /** One past the sponsor's highest nonce in the mempool. */
  readonly possibleNext: bigint;
};

/**
 * Bounds on what one payer, and everyone together, may cost the sponsors. Fees are µSTX; a window is rolling.
 * @example
 * ```ts
 * const limits: SponsorLimits = { ...DEFAULT_SPONSOR_LIMITS, maxFailedPerPayer: 3 };
 * const sponsor: SponsorOptions = { privateKeys: [KEY_A], limits: { maxFeesPerPayer: 2_000_000n } };
 * ```
 */
export type SponsorLimits = {
  /** Sponsored payments of one payer claimed or broadcast, not yet final. */
  readonly maxInFlightPerPayer: number;
  /** Sponsor fees committed for one payer within the window. */
  readonly maxFeesPerPayer: bigint;
  /** Sponsor fees committed for everyone within the window. */
  readonly maxFeesTotal: bigint;
  /** Sponsored transactions of one payer that failed on chain (the sponsor paid for nothing) within the window. */
  readonly maxFailedPerPayer: number;
  readonly windowMs: number;
};

/**
 * What a sponsored settlement asks of the pool.
 * @example
 * ```ts
 * const request: SponsorshipRequest = { paymentTxid: record.paymentTxid, claimedAt: record.createdAt,
 *   network: record.network, payer: record.payer, fee: 3_000n, candidates, capacity: 25n, limits };
 * const result = await ledger.reserveSponsorship(request, Date.now());
 * ```
 */
export type SponsorshipRequest = {
  /** The claimed settlement that will carry the sponsorship; it must still be `claimed`. */
  readonly paymentTxid: string;
  /** When that claim was made (its `createdAt`): a later claim of the same payment is not this one. */
  readonly claimedAt: number;
  readonly network: StacksNetworkId;
  readonly payer: string;
  readonly fee: bigint;
  /** The keys that may sponsor, each with its chain nonces; keys the caller judged unusable are left out. */
  readonly candidates: readonly SponsorCandidate[];
  /** Pending transactions the node chains per account (25): a key with that many pending has no room. */
  readonly capacity: bigint;
  readonly limits: SponsorLimits;
};

/**
 * The pool's answer: a key and a nonce, recorded on the settlement, or why not.
 * @example
 * ```ts
 * const result: SponsorshipResult = await ledger.reserveSponsorship(request, Date.now());
 * if (!result.granted) return refuse(result.reason, result.message); // e.g. 'sponsor_capacity_exhausted'
 * ```
 */
export type SponsorshipResult =
  | { readonly granted: true; readonly sponsor: string; readonly nonce: bigint }
  | {
      readonly granted: false;
      readonly reason: 'sponsor_capacity_exhausted' | 'sponsor_limit_exceeded' | 'claim_lost';
      readonly message: string;
    };

/**
 * Storage for settlements and sponsor nonces. Implementations must make each method atomic, across processes when
 * the storage is shared.
 *
 * Sponsor nonces: a settlement holds one from `reserveSponsorship` until its transaction is final. When the
 * transaction provably can no longer spend it (refused by the node, dropped from the mempool, or never broadcast),
 * `releaseSponsorship` hands it back, and the next sponsorship on that key reuses it before taking a new one, so the
 * key's nonces stay without gaps.
 *
 * @example
 * ```ts
 * import { InMemoryLedger } from 'x402-stacks/facilitator';
 * const ledger: Ledger = new InMemoryLedger();
 * const result = await ledger.claim(settlement);
 * if (!result.claimed) return { success: false, errorReason: 'duplicate_settlement', transaction: result.existing.txid };
 * ```
 */
export interface Ledger {
  /** Claims a payment's txid and its (network, payer, nonce) together, or reports which one is taken. */
  claim(settlement: NewSettlement): Promise<ClaimResult>;
  /**
   * Claims a payment that nothing stands between and its broadcast, and marks it `broadcast` (the write-ahead mark),
   * in one step. `admit` is given the payer's settlements in flight on the network, this claim among them (what
   * `inFlight` reads right after `claim`), and returns undefined to keep the claim, or a refusal: then nothing is
   * recorded and the refusal is returned. `admit` is synchronous and must not call the ledger; if it throws, nothing
   * is recorded and the error is thrown. It may be asked more than once, about lists the ledger would have read: first
   * about this claim alone, say, before the ledger finds nothing else in flight and keeps the claim without asking
   * again. So it must answer the same about the same list, but for a refusal that comes with time (a caller that hung
   * up), which counts from the last time it was asked.
   *
   * What a facilitator relies on: the call resolves only once the claim, marked, is durable (the caller broadcasts on
   * it), and a refusal only once what this process wrote that it was judged on is; and it is atomic with every other
   * claim of the payer, in any process: of two claims of one payer, made either way, the later one's `admit` (or
   * `inFlight` read after its `claim`) sees the earlier. Optional: without it, the facilitator claims, reads and marks
   * in three steps.
   * @example
   * ```ts
   * const claim = await ledger.claimToSend?.(settlement, (inFlight) => (inFlight.length > 10 ? 'too_many' : undefined));
   * if (claim?.claimed) await chain.broadcast(claim.record.transaction);
   * ```
   */
  claimToSend?<R>(
    settlement: NewSettlement,
    admit: (inFlight: readonly SettlementRecord[]) => R | undefined,
  ): Promise<SendClaimResult<R>>;
  /** A settlement by its payment txid or its on-chain txid. */
  get(txid: string): Promise<SettlementRecord | undefined>;
  /**
   * Moves a settlement to a new state. `from` guards the change: it applies only while the settlement is in one of
   * those states, so two processes cannot both finish or both broadcast it. `claimedAt` guards it further: only the
   * claim made at that time, not a later claim of the same payment after this one expired.
   * @param txid The payment txid or the on-chain txid (they differ once a sponsor signed).
   * @returns the updated record, or undefined when the guard did not hold (or the settlement is unknown).
   */
  update(
    txid: string,
    update: SettlementUpdate,
    from: readonly SettlementState[],
    claimedAt?: number,
  ): Promise<SettlementRecord | undefined>;
  /**
   * Drops a claim whose transaction provably spent nothing (it never reached the node, or the node refused the
   * sponsor's nonce), so the same payment may be settled again. Either txid. Its sponsor nonce, if it holds one, goes
   * back to the pool in the same step, unless `options.reuseSponsorNonce` is false. `claimedAt` limits it to the claim
   * made at that time: a holder that stalled past its lease must not drop the claim that took its payment over.
   * @example
   * ```ts
   * await ledger.release(record.paymentTxid, record.createdAt, { from: ['failed'], reuseSponsorNonce: false });
   * ```
   */
  release(txid: string, claimedAt?: number, options?: ReleaseOptions): Promise<void>;
  /**
   * Drops a `claimed` settlement last updated before `updatedBefore`: its holder died or gave up between claiming and
   * broadcasting. Its sponsor nonce goes back to the pool.
   * @returns the dropped record, or undefined when it is not such a claim (any more).
   */
  expireClaim(txid: string, updatedBefore: number): Promise<SettlementRecord | undefined>;
  /**
   * Forgets a settlement whose transaction was dropped from the mempool unmined, so that its identical bytes (a
   * buyer re-signing the same nonce and amount gets the same txid) may be settled again. Deletes it, and the answer a
   * settle call gave about it, only when it is the claim made at `claimedAt`, in `failed` with `transaction_failed`,
   * and its nonces were given back (the drop's mark: its (network, payer, nonce) released and no sponsor nonce or
   * fee held), and no call answered it `success` (one whose read, ahead of the drop's, found it mined). A failure on
   * chain keeps both nonces, so it is never forgotten.
   * Optional for ledgers written before it: without it, a dropped payment's retry hears the failure again.
   * @returns whether it was forgotten; of concurrent calls, at most one gets true.
   * @example
   * ```ts
   * if (await ledger.forgetDropped(record.paymentTxid, record.createdAt)) return undefined; // settle afresh
   * ```
   */
  forgetDropped?(paymentTxid: string, claimedAt: number): Promise<boolean>;
  /** Settlements in `claimed` or `broadcast`: what a restarted facilitator must finish. */
  unfinished(): Promise<SettlementRecord[]>;
  /** One payer's settlements in `claimed` or `broadcast` on a network: the money it has in flight here. */
  inFlight(network: StacksNetworkId, payer: string): Promise<SettlementRecord[]>;
  /**
   * `get(txid)` and `inFlight(network, payer)` in one read: what verifying a payment asks of the ledger.
   * @returns the settlement holding `txid`, if any, and the payer's settlements in flight (that one included when it is).
   */
  lookup(
    txid: string,
    network: StacksNetworkId,
    payer: string,
  ): Promise<{ settled: SettlementRecord | undefined; inFlight: SettlementRecord[] }>;
  /**
   * Chooses the sponsor key with the most free room, hands out its next nonce (a returned one first, lowest first)
   * and records both on the claimed settlement, all at once; or refuses when a limit or every key's room is used up.
   */
  reserveSponsorship(request: SponsorshipRequest, now: number): Promise<SponsorshipResult>;
  /**
   * Ends a settlement's hold on its sponsor nonce without a fee spent. `reuse` hands the nonce back to the pool
   * (its transaction can no longer spend it); false forgets it (something else holds it, or may). Idempotent.
   * `claimedAt` limits it to the claim made at that time: a payment dropped and claimed afresh meanwhile keeps the
   * hold of its new claim. With `chargePayerAt` (the payer replaced its sponsored transaction by fee), the settlement
   * still counts against its payer as a failed sponsorship for the limits' window, at no fee, and that record stays
   * until the window passes (the payment is not forgotten meanwhile).
   */
  releaseSponsorship(
    txid: string,
    reuse: boolean,
    claimedAt?: number,
    options?: ReleaseSponsorshipOptions,
  ): Promise<void>;
  /** Records that a sponsored transaction failed on chain: its fee was spent for nothing, and counts against its payer. */
  recordSponsorFailure(txid: string): Promise<void>;
  /**
   * Takes a nonce missing on the chain for a sponsor key so that a filler transaction can spend it, unless a
   * settlement in flight holds it. Removes it from the returned nonces, and ends the hold of any `failed` settlement
   * whose transaction spent neither nonce (its payer nonce given back: refused, or dropped from the mempool) and that
   * has not released it yet: its release, a later step (after a chain read, for a refusal being judged), must not
   * hand the nonce out again once the filler has it. That settlement's fee stops counting toward the limits then,
   * as at its release. A filler that is then not sent leaves the nonce to a later keeper round, not to a payment.
   * @returns whether the caller may spend the nonce.
   */
  takeSponsorGap(account: SponsorAccount, nonce: bigint): Promise<boolean>;
  /**
   * Keeps a stranded settlement's sponsor nonce out of the pool for good, before the keeper sends a filler over its
   * transaction: every later `releaseSponsorship` or `release` of that settlement then forgets the nonce instead of
   * handing it back, so no payment is ever given a nonce a filler may replace. Only while the claim made at
   * `claimedAt` is `broadcast` and holds the nonce; atomic with the releases, in any process. Idempotent.
   * Optional for ledgers written before it: without it, the keeper reads the settlement just before it sends, and a
   * release in another process between that read and the filler can hand the nonce to a payment the filler replaces.
   * @returns whether the filler may go: false once the settlement was failed, released or claimed afresh.
   * @example
   * ```ts
   * if (await ledger.holdStrandedNonce?.(record.paymentTxid, record.createdAt)) await chain.broadcast(filler);
   * ```
   */
  holdStrandedNonce?(paymentTxid: string, claimedAt: number): Promise<boolean>;
  /**
   * Records the answer a settle call is about to give about a payment, unless one was given already.
   *
   * `claimedAt` names the claim the answer is about (the settlement's `createdAt`). A `pending` answer given about an
   * earlier claim of the same payment, one the ledger no longer holds (it was released, and the payment claimed
   * afresh), does not count then: nobody was served on it, and it can no longer be turned into a success (see
   * `promoteAnswer`). The answer about the claim held now takes its place, so a payment settled afresh is not refused
   * as a duplicate of an answer that served nobody. A `success` about any claim stands: that payment was served.
   * Without `claimedAt`, any answer given before counts, as for ledgers written before claims named their answers, and
   * the answer recorded names no claim: it counts for every claim, and never gives way. An answer about a claim no
   * longer held is still recorded when none is stored (the same bytes may have been mined: that answer may serve).
   * @returns undefined when this answer is recorded (give it), or the answer given before (give `duplicate_settlement`).
   * @example
   * ```ts
   * const given = await ledger.recordAnswer(record.paymentTxid, 'success', record.createdAt);
   * if (given) return duplicate(record);
   * ```
   */
  recordAnswer(
    paymentTxid: string,
    answer: SettlementAnswer,
    claimedAt?: number,
  ): Promise<SettlementAnswer | undefined>;
  /**
   * Turns the `pending` answer given about a payment into `success`, atomically: the one call that does may serve
   * the payment now that it is confirmed; every other call finds `success` recorded and is a duplicate. A payment
   * answered `success` already, or never answered, is left alone. With `claimedAt`, only an answer given about that
   * claim (or recorded without naming one) is turned.
   * Optional for ledgers written before it: without it, a pending payment is never served through a retry.
   * @returns whether this call turned it.
   * @example
   * ```ts
   * if (await ledger.promoteAnswer(record.paymentTxid, record.createdAt)) return success(record.txid, record.payer, network);
   * ```
   */
  promoteAnswer?(paymentTxid: string, claimedAt?: number): Promise<boolean>;
  /**
   * The answer given about a payment, if any. With `claimedAt`, a `pending` answer that names another claim of it is
   * no answer (whatever the ledger holds now: see `answerForClaim`), while a `success` about any claim is.
   * @example
   * ```ts
   * const answered = (await ledger.answerOf(record.paymentTxid, record.createdAt)) !== undefined;
   * ```
   */
  answerOf(paymentTxid: string, claimedAt?: number): Promise<SettlementAnswer | undefined>;
  /**
   * Binds a `payment-identifier` id to the payment it names, unless it names one already: an id bound before
   * `now - windowMs` has lapsed and is bound afresh. The `payment-identifier` methods (this, `paymentIdBinding`,
   * `replayPaymentId`, `prunePaymentIds`) are optional for ledgers written before them; a ledger without them makes
   * the facilitator leave the extension out of `/supported` and ignore ids.
   * @returns the binding as it stands after the call: ours when its `paymentTxid` is the one given.
   * @example
   * ```ts
   * const bound = await ledger.bindPaymentId({ network, payer, id }, txid, Date.now(), 600_000);
   * if (bound.paymentTxid !== txid) refuse('payment_identifier_conflict');
   * ```
   */
  bindPaymentId?(
    key: PaymentIdKey,
    paymentTxid: string,
    now: number,
    windowMs: number,
  ): Promise<PaymentIdBinding>;
  /** The payment an id names, if it is bound (lapsed or not). */
  paymentIdBinding?(key: PaymentIdKey): Promise<PaymentIdBinding | undefined>;
  /**
   * Counts one more answer of the stored outcome for `paymentTxid` under this id, atomically: only while the id names
   * that payment, was bound after `now - windowMs`, and has been replayed fewer than `maxReplays` times.
   */
  replayPaymentId?(
    key: PaymentIdKey,
    paymentTxid: string,
    now: number,
    windowMs: number,
    maxReplays: number,
  ): Promise<PaymentIdReplay>;
  /**
   * Forgets ids bound before `before`: past their window they replay nothing and conflict with nothing. With `keep`,
   * the id of a payment that may still be served is kept until `keep.unservedBefore`: its buyer retries under the id
   * once the payment confirms, and only the id tells that retry from a stranger replaying the bytes (`promotePending`
   * in one-answer.ts). Such a payment was claimed for a resource, no call was answered `success` about it, and it is
   * in flight, a success, or a drop (failed `transaction_failed` with its payer nonce given back, which a read of
   * another node may still find mined). Each is a payment in flight or sent to the chain.
   * @example
   * ```ts
   * await ledger.prunePaymentIds(now - 600_000, { unservedBefore: now - 86_400_000, judgedFrom: lastBefore });
   * ```
   */
  prunePaymentIds?(before: number, keep?: PaymentIdRetention): Promise<void>;
  /** Forgets sponsor fee records older than `before` (they no longer count against any window). */
  pruneSponsorFees(before: number): Promise<void>;
  /**
   * Takes or renews a named lease for `ttlMs`: true when `holder` now holds it. Background work that must run in one
   * process at a time (the keeper) runs only while its lease is held.
   */
  acquireLease(name: string, holder: string, ttlMs: number, now: number): Promise<boolean>;
  /**
   * A named lease as last taken or renewed (held or lapsed), or undefined when nobody ever took it. Optional for
   * ledgers written before it: without it, a retry of a payment whose process died waits for the time bound
   * (`claimLeaseMs` + `settleTimeoutMs` after the claim) instead of the process's lease.
   */
  readLease?(name: string): Promise<{ holder: string; expiresAt: number } | undefined>;
}
