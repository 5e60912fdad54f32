/**
 * Tracking a broadcast settlement to its end: a success, a failure on chain, or a drop from the mempool. A transaction
 * the node does not know (lost in a restart, evicted without a trace) is sent again as the identical bytes: the same
 * bytes have the same txid, so this can never pay twice. The looks of every settlement followed here share one timer
 * and batched reads (`status-poller.ts`). The first comes at the poller's next round, not straight after the broadcast
 * (the node's acceptance already said what a read right then would: the txid, in the mempool), though that round may
 * fall moments later; or as soon as a block the chain client pushes holds the transaction.
 *
 * A drop is one node's view. Several processes read API nodes of their own, and one node may report a drop (its
 * mempool let the transaction go) while another's block holds it. A look that started from the settlement read as
 * `broadcast` (a follow, a settle call's wait, a keeper round) and finds the same txid mined after the drop was
 * written moves it from `failed` to `success`; its reason is cleared and its message kept ({@link minedAfterDrop}).
 * The call that heard the drop served nobody: a call of the claim still waiting may serve it, and past that only the
 * first retry naming the payment id bound at the claim, for its resource (one-answer.ts), never a stranger replaying
 * the mined bytes. Nothing looks at a failed settlement again otherwise: a drop whose bytes are mined later, with no
 * such look under way, stays `failed`, and so does one a retry forgot first (settled afresh, its bytes are refused on
 * the spent nonce). Failures on chain (aborts) and refusals never move. The nonces the drop gave back stay given
 * back: bytes spending either again are never mined (a sponsor nonce handed out again is refused and the payment
 * sponsored afresh), and the sponsor's fee for the mined transaction no longer counts in its limits.
 * @module
 */
import type { ChainClient } from '../chain/client.js';
import type { BroadcastRejected, IndexedTransaction } from '../chain/types.js';
import type { SettleResponse } from '../protocol/v2.js';
import type { StacksNetwork } from '../stacks/networks.js';
import type { FacilitatorContext } from './context.js';
import type { SettlementRecord, SettlementUpdate } from './ledger.js';
import { failure, pending, success } from './outcomes.js';
import type { RefusalJudgement, SponsoredNonces, SponsorPool } from './sponsor-pool.js';
import { createStatusPoller, type StatusRead } from './status-poller.js';

/** What a wait for a status read gives once the tracker stopped. */
const STOPPED = Symbol('stopped');
/** What a settle call's wait for a status read gives at its deadline, when the read has not come by then. */
const DEADLINE = Symbol('deadline');

/**
 * How long a sponsored transaction replaced by fee waits for its replacement to be read (whose it is decides what
 * becomes of its sponsor nonce) before it is failed as any drop, the nonce left a gap for the keeper.
 */
const UNREADABLE_REPLACEMENT_WAIT_MS = 120_000;

/** The failure of bytes the node never knew for the whole tracking time. */
const NEVER_SEEN = 'never_seen';

/**
 * Final statuses other than success. `dropped_*` leave the mempool unmined: they spent no nonce and no fee of their own
 * (a sponsored one the keeper's filler replaced leaves its sponsor nonce to the filler).
 */
const TERMINAL_FAILURES: ReadonlySet<string> = new Set([
  'abort_by_response',
  'abort_by_post_condition',
  'dropped_replace_by_fee',
  'dropped_replace_across_fork',
  'dropped_too_expensive',
  'dropped_stale_garbage_collect',
  'dropped_problematic',
  'problematic_skipped',
]);

/** Whether a failure's message says a node's mempool let the transaction go (`fail` with its nonces unspent). */
function namesDrop(errorMessage: string | undefined): boolean {
  return errorMessage?.startsWith('dropped_') === true || errorMessage === NEVER_SEEN;
}

/** A settlement failed because one node's mempool let its transaction go. */
function recordsDrop(record: SettlementRecord): boolean {
  return (
    record.state === 'failed' &&
    record.errorReason === 'transaction_failed' &&
    namesDrop(record.errorMessage)
  );
}

/**
 * A success found after its drop was recorded: it keeps the drop's message (its reason cleared), which is how a retry
 * knows that its call may have answered the failure, and serves it only under the payment's id (one-answer.ts).
 * @example
 * ```ts
 * const namedRetryOnly = minedAfterDrop(record) && !(await ledger.answerOf(record.paymentTxid, record.createdAt));
 * ```
 */
export function minedAfterDrop(record: SettlementRecord): boolean {
  return record.state === 'success' && namesDrop(record.errorMessage);
}

/** What one look at the chain found. */
export type Observation = 'success' | 'failed' | 'pending' | 'unknown';

/** What the ledger says of a settlement no longer `broadcast`: its success, its failure, or nothing (`unknown`). */
function endedInLedger(record: SettlementRecord | undefined): Observation {
  return record?.state === 'success' ? 'success' : record ? 'failed' : 'unknown';
}

/** What one look found, and for a success, the ledger write of it, under way: a settle call awaits it with its answer. */
type Sighting = { readonly seen: Observation; readonly written?: Promise<unknown> };

/** How a settle call follows its payment: see {@link Tracker.track}. */
export type TrackOptions = {
  /** The settlement as the caller just wrote or read it, which saves reading it again. */
  readonly record?: SettlementRecord;
  /** When the call must answer (default: `settleTimeoutMs` from now). */
  readonly until?: number;
  /**
   * Turns the outcome into the call's answer (`answerOnce`). For a success it starts in the same event-loop turn as
   * the success's ledger write, so a ledger that groups a turn's writes makes both durable together; once it gave
   * its answer, a failed write of the success no longer withholds it (the chain decided the success, and the payment
   * would be taken and never served): the settlement, still broadcast, is followed in the background, looked at again
   * each round until its success is written (past the follow's time, by the keeper or the next start). Without it,
   * such a failed write rejects, as before an answer.
   */
  readonly answer?: (outcome: SettleResponse) => Promise<SettleResponse>;
};

export type Tracker = {
  /**
   * Waits for a final status until `options.until`, then answers `settlement_pending` and goes on behind; a success
   * another process wrote meanwhile (its reads ahead of this one's) is the answer instead.
   */
  track(
    txid: string,
    payer: string,
    network: StacksNetwork,
    chain: ChainClient,
    options?: TrackOptions,
  ): Promise<SettleResponse>;
  /** Follows a broadcast settlement in the background until it is final (at most `trackForMs`). */
  follow(txid: string, chain: ChainClient): void;
  /**
   * Looks once: records a final status, re-sends bytes the node lost. `given` is a read already taken (by the
   * poller); without it the chain is asked now.
   */
  observe(
    record: SettlementRecord,
    chain: ChainClient,
    given?: { readonly read: StatusRead },
  ): Promise<Observation>;
  /**
   * Records a node's refusal of a broadcast settlement. A refusal of the sponsor's nonce drops the settlement, so the
   * payment may be sponsored afresh; any other fails it. Either way its payer nonce is freed, and its sponsor nonce
   * handed back unless something else holds it, or may hold it as far as the chain tells (it is then forgotten, for
   * the keeper to fill if it is a gap). Returns whether the refusal was about the sponsor's nonce.
   */
  refused(
    record: SettlementRecord,
    refusal: BroadcastRejected,
    chain: ChainClient,
  ): Promise<boolean>;
  /**
   * Finishes the judgement of a node's refusal of a sponsored settlement that was recorded failed before the chain
   * read that judges it, and never judged (its process died during that read), once the call that recorded it is past
   * its time (`claimLeaseMs` and `settleTimeoutMs` after the claim): drops it when the sponsor's nonce was at fault
   * (see `SponsorPool.judgeRefusal`), so that a retry of the payment is sponsored afresh. Returns whether it was
   * dropped.
   */
  judgeAgain(record: SettlementRecord, chain: ChainClient): Promise<boolean>;
  /** Whether this process is following the transaction. */
  isFollowing(txid: string): boolean;
  /**
   * Who replaced a sponsored transaction that reads `dropped_replace_by_fee`, and where that replacement stands (the
   * keeper sends its filler again only over its own).
   */
  replacementOf(
    record: SettlementRecord,
    tx: IndexedTransaction,
    chain: ChainClient,
  ): Promise<Replacement | 'unreadable' | undefined>;
  /** Whether `stop()` was called: the process is draining for a stop. */
  isStopped(): boolean;
  /**
   * Ends the following at once: a settle call waiting on a status read answers `settlement_pending` (its seller follows
   * the status, as after any pending answer), the background following ends, and pushed blocks are no longer heard.
   * The ledger keeps each settlement as broadcast, for the next start, or another process's keeper, to follow.
   */
  stop(): void;
  idle(): Promise<void>;
};

/**
 * A sponsored transaction's replacement by fee, when it is its payer's or its sponsor key's (the keeper's filler), and
 * where the replacement stands.
 */
export type Replacement = {
  readonly by: 'payer' | 'sponsor';
  readonly ended: 'pending' | 'mined' | 'dropped';
};

/**
 * @example
 * ```ts
 * const tracker = createTracker(context, pool);
 * return tracker.track(txid, payer, network, chain, { answer: (outcome) => answerOnce(context, record, outcome) });
 * ```
 */
export function createTracker(context: FacilitatorContext, pool: SponsorPool): Tracker {
  const { ledger } = context;
  const following = new Map<string, Promise<unknown>>();
  let stopped = false;
  /** The status reads being waited on, each able to end its wait without a read when the tracker stops. */
  const waitingReads = new Set<() => void>();
  /**
   * txid → when this sponsored transaction, replaced by fee, began waiting: for its replacement to be read, or for
   * the keeper's filler that replaced it to be mined (at most `trackForMs`; the keeper sends a dropped one again).
   */
  const waitingSince = new Map<string, number>();
  /** When this process last sent a transaction's bytes, so a lost one is sent again at most so often. */
  const sentAt = new Map<string, number>();
  const poller = createStatusPoller(context.pollIntervalMs, context.sleep, context.now);
  for (const { chain } of context.chains.values()) poller.watch(chain);

  async function observe(
    record: SettlementRecord,
    chain: ChainClient,
    given?: { readonly read: StatusRead },
  ): Promise<Observation> {
    const { seen, written } = await look(record, chain, given);
    await written;
    return seen;
  }

  /** `observe`, but a success's ledger write is returned under way, not awaited. */
  async function look(
    record: SettlementRecord,
    chain: ChainClient,
    given?: { readonly read: StatusRead },
  ): Promise<Sighting> {
    const tx = given ? given.read : await chain.getTransaction(record.txid).catch(() => undefined);
    if (tx === undefined) return { seen: 'pending' };
    // A status from a block off the canonical fork says nothing yet.
    const settled = tx?.indexed && tx.canonical !== false ? tx : undefined;
    if (settled?.status === 'success') {
      const blockHeight = settled.blockHeight;
      sentAt.delete(record.txid);
      waitingSince.delete(record.txid);
      const mined = {
        state: 'success',
        ...(blockHeight === undefined ? {} : { blockHeight }),
      } as const;
      // Only when the usual move from `broadcast` found nothing to move does a drop recorded before give way, so a
      // settlement's own success costs one write as before.
      const written = ledger
        .update(record.txid, mined, ['broadcast'])
        .then((moved) => moved ?? successAfterDrop(record.txid, mined));
      return { seen: 'success', written };
    }
    // A read that finds it failed or does not find it may be older than one that found it mined (another process's,
    // through an API node of its own): the success written stands.
    if (settled && TERMINAL_FAILURES.has(settled.status)) {
      const replacement = await replacementOf(record, settled, chain);
      // Replaced by the keeper's filler on the sponsor's nonce: failed only once the filler is mined, which proves this
      // one never can be (a node that took the filler may lag a block that mined this one, and then drop the filler:
      // a filler dropped proves nothing, and the keeper sends it again). A replacement that cannot be read yet is
      // waited for a while: until it is read, whose it is stays unknown.
      const waiting =
        replacement === 'unreadable'
          ? UNREADABLE_REPLACEMENT_WAIT_MS
          : replacement?.by === 'sponsor' && replacement.ended !== 'mined'
            ? context.trackForMs
            : undefined;
      let settleAs = replacement;
      if (waiting !== undefined) {
        const since = waitingSince.get(record.txid) ?? context.now();
        waitingSince.set(record.txid, since);
        if (context.now() - since < waiting) return { seen: 'pending' };
        // Waited out: failed as a plain drop, its sponsor nonce left a gap for the keeper (a filler may hold it).
        settleAs = 'unreadable';
      }
      waitingSince.delete(record.txid);
      if (await fail(record, settled.status, settled.status.startsWith('dropped_'), settleAs)) {
        return { seen: 'failed' };
      }
      return { seen: (await writtenSuccess(record)) ? 'success' : 'failed' };
    }
    if (tx !== null) return { seen: 'pending' };
    const current = await ledger.get(record.txid);
    if (current?.state !== 'broadcast') return { seen: endedInLedger(current) };
    // Bytes the node has not known for the whole tracking time were never taken: they spent nothing.
    if (context.now() - current.updatedAt >= context.trackForMs) {
      await fail(current, NEVER_SEEN, true);
      return { seen: 'failed' };
    }
    const since = sentAt.get(current.txid) ?? current.updatedAt;
    if (context.now() - since < context.rebroadcastAfterMs) return { seen: 'unknown' };
    sentAt.set(current.txid, context.now());
    // The identical bytes: the same txid, so this can never pay twice. A refusal here is not final: an API that lags
    // behind its node does not know a transaction already mined, and the node then refuses its nonce as used.
    await chain.broadcast(current.transaction).catch(() => undefined);
    return { seen: 'unknown' };
  }

  /**
   * Who replaced a sponsored transaction by fee, when it matters:
   * - `payer`: a transaction of its payer's, sent elsewhere, that no settlement here holds. The sponsor nonce it freed,
   *   left unused, is a gap the sponsor pays a filler for, so the payer is charged a failure (`releaseSponsorship`'s
   *   `chargePayerAt`), as for a payment that fails on chain. Not another payment of the payer's settled here (its
   *   buyer signed it at the same nonce), nor one of this facilitator's own sponsored ones on the sponsor's nonce (a
   *   transaction another node still held after this one's node dropped it).
   * - `sponsor`: a transaction of its own sponsor key that no settlement here holds: the keeper's filler, sent because
   *   the payer's nonce was spent elsewhere and the transaction stranded (keeper.ts). The filler holds the nonce now,
   *   so it is not handed back, and the payer is charged the failure, with the fee the filler cost.
   * With where the replacement stands (`mined`, once a canonical block holds it, failed or not), and `unreadable` when
   * it cannot be read (yet): whose it is is then unknown.
   */
  async function replacementOf(
    record: SettlementRecord,
    tx: IndexedTransaction,
    chain: ChainClient,
  ): Promise<Replacement | 'unreadable' | undefined> {
    if (record.sponsor === undefined || tx.status !== 'dropped_replace_by_fee') return undefined;
    if (tx.replacedBy === undefined || (await ledger.get(tx.replacedBy))) return undefined;
    const replacement = await chain.getTransaction(tx.replacedBy).catch(() => undefined);
    if (replacement?.indexed !== true) return 'unreadable';
    const ended =
      replacement.status === 'pending'
        ? 'pending'
        : replacement.status.startsWith('dropped_') || replacement.canonical === false
          ? 'dropped'
          : 'mined';
    if (replacement.sender === record.payer) return { by: 'payer', ended };
    return replacement.sender === record.sponsor ? { by: 'sponsor', ended } : undefined;
  }

  /**
   * Turns a drop recorded before a read that found the same txid mined into the success (see the module's doc): only
   * a drop (one node's mempool view), guarded by the claim it finds (whichever claim, the same bytes). Its reason is
   * cleared and its message kept ({@link minedAfterDrop}).
   */
  async function successAfterDrop(
    txid: string,
    mined: SettlementUpdate,
  ): Promise<SettlementRecord | undefined> {
    const current = await ledger.get(txid);
    if (!current || !recordsDrop(current)) return undefined;
    return ledger.update(txid, { ...mined, clearErrorReason: true }, ['failed'], current.createdAt);
  }

  /**
   * Marks a broadcast settlement failed; a transaction that never spent its nonces gives them back. Answers whether
   * it did: a settlement no longer `broadcast` under the same claim is left as it is.
   *
   * The payer's nonce goes back in the same ledger step as the state moves: a death between two steps could leave a
   * settlement `broadcast` with its nonce already taken by a later payment, whose bytes the next tracker would send
   * again over that payment's, or one `failed` still holding the nonce. The sponsor nonce goes back last, guarded by
   * the claim's time: once the settlement is failed with both nonces free, a keeper may take the sponsor nonce for a
   * filler first (ending this hold), the ledger may then forget the settlement (`forgetDropped`), and a retry may
   * claim the payment afresh and sponsor it again; this release must leave that new claim's nonce alone.
   */
  async function fail(
    record: SettlementRecord,
    status: string,
    noncesUnspent: boolean,
    replacement?: Replacement | 'unreadable',
  ): Promise<boolean> {
    const failed = await ledger.update(
      record.txid,
      {
        state: 'failed',
        errorReason: 'transaction_failed',
        errorMessage: status,
        ...(noncesUnspent ? { releaseNonce: true } : {}),
      },
      ['broadcast'],
      record.createdAt,
    );
    if (!failed) return false;
    sentAt.delete(failed.txid);
    const byPayer = replacement !== 'unreadable' && replacement?.by === 'payer';
    if (
      (replacement !== 'unreadable' && replacement?.by === 'sponsor') ||
      (!noncesUnspent && failed.sponsor)
    ) {
      // Spent for nothing: on chain, or by the keeper's filler, mined on the sponsor nonce (see look()).
      await ledger.recordSponsorFailure(failed.paymentTxid);
    } else if (noncesUnspent) {
      // A nonce that a replacement that cannot be read may hold is not handed to a payment: left a gap, the keeper
      // fills it.
      await ledger.releaseSponsorship(
        failed.paymentTxid,
        replacement !== 'unreadable',
        failed.createdAt,
        byPayer ? { chargePayerAt: context.now() } : {},
      );
    }
    return true;
  }

  async function refused(
    record: SettlementRecord,
    refusal: BroadcastRejected,
    chain: ChainClient,
  ): Promise<boolean> {
    sentAt.delete(record.txid);
    const sponsored = sponsoredNonces(record);
    const offline = sponsored && pool.judgeRefusalOffline(refusal, sponsored.sponsor);
    if (offline?.sponsorsNonce) {
      // The payment itself is fine: one step drops the settlement and its sponsor nonce, so no death in between can
      // leave it failed for a fault that was ours (its identical bytes would then be refused as a duplicate for good).
      await ledger.release(record.paymentTxid, record.createdAt, {
        from: ['broadcast'],
        reuseSponsorNonce: offline.nonceFree,
      });
      return true;
    }
    // Refused, the transaction spent neither nonce: the payer may use its nonce again (in the same step, as in `fail`).
    // Failed before any chain read: a settlement still `broadcast` would be sent again meanwhile (by a keeper, or a
    // retry following it), and could be taken and mined while this judgement was under way.
    const readsChain = sponsored !== undefined && offline === undefined;
    const failed = await ledger.update(
      record.paymentTxid,
      {
        state: 'failed',
        errorReason: 'broadcast_failed',
        errorMessage: readsChain ? `${refusal.reason}${BEING_JUDGED}` : refusal.reason,
        releaseNonce: true,
      },
      ['broadcast'],
      record.createdAt,
    );
    if (!failed || !sponsored) return false;
    if (offline) {
      await ledger.releaseSponsorship(failed.paymentTxid, offline.nonceFree, failed.createdAt);
      return false;
    }
    return settleJudgement(
      failed,
      refusal.reason,
      await pool.judgeRefusal(refusal, sponsored, chain),
    );
  }

  /**
   * The last steps of a refusal judged on a chain read: the settlement is dropped when the sponsor's nonce was at
   * fault (the payment is sponsored afresh); else its failure is marked judged, so that no retry opens it again, and
   * its sponsor nonce handed back. Both are guarded by its claim: a claim made since (the payment settled afresh
   * after another judgement) keeps its own sponsorship. Returns whether it was dropped.
   */
  async function settleJudgement(
    failed: SettlementRecord,
    reason: string,
    judged: RefusalJudgement,
  ): Promise<boolean> {
    if (judged.sponsorsNonce) {
      await ledger.release(failed.paymentTxid, failed.createdAt, {
        from: ['failed'],
        reuseSponsorNonce: judged.nonceFree,
      });
      return true;
    }
    const closed = await ledger.update(
      failed.paymentTxid,
      { state: 'failed', errorMessage: reason },
      ['failed'],
      failed.createdAt,
    );
    if (closed) {
      await ledger.releaseSponsorship(failed.paymentTxid, judged.nonceFree, failed.createdAt);
    }
    return false;
  }

  async function judgeAgain(record: SettlementRecord, chain: ChainClient): Promise<boolean> {
    const sponsored = sponsoredNonces(record);
    if (
      !sponsored ||
      record.state !== 'failed' ||
      record.errorReason !== 'broadcast_failed' ||
      !record.errorMessage?.endsWith(BEING_JUDGED)
    ) {
      return false;
    }
    // Not while the call that recorded it may still be judging it: two judgements read apart may disagree.
    if (context.now() < record.createdAt + context.claimLeaseMs + context.settleTimeoutMs) {
      return false;
    }
    const reason = record.errorMessage.slice(0, -BEING_JUDGED.length);
    const refusal = { accepted: false as const, reason };
    return settleJudgement(record, reason, await pool.judgeRefusal(refusal, sponsored, chain));
  }

  /**
   * @param answering a settle call waits: its deadline also ends a wait for a read, not only the look after one, and a
   *   success's ledger write comes back under way, for the call to await with its answer. Otherwise it is awaited.
   */
  async function poll(
    txid: string,
    chain: ChainClient,
    until: number,
    known?: SettlementRecord,
    answering = false,
  ): Promise<Sighting> {
    // Read once (or taken from the caller, who just wrote it): the chain says when it ends, and observe() reads the
    // ledger again before sending anything.
    const record = known?.txid === txid ? known : await ledger.get(txid);
    if (record?.state !== 'broadcast') return { seen: endedInLedger(record) };
    // A settle call past its deadline already (its nonce wait took the time) gets one look of its own, now, not one at
    // a status round up to a whole interval away.
    if (answering && !(until - context.now() > 0))
      return lastLook(await look(record, chain), record);
    for (;;) {
      const read = await nextRead(chain, record.txid, answering ? until : undefined);
      if (read === STOPPED) return { seen: 'pending' };
      if (read === DEADLINE) return lastLook({ seen: 'pending' }, record);
      const looked = await look(record, chain, { read });
      // Followed in the background, a success whose write failed is looked at again next round, until it is written
      // or the follow's time ends (the keeper, or the next start, takes it from there).
      if (
        !answering &&
        looked.written &&
        !(await looked.written.then(
          () => true,
          () => false,
        ))
      ) {
        if (context.now() >= until || stopped) return { seen: 'pending' };
        continue;
      }
      if (looked.seen === 'success' || looked.seen === 'failed') return looked;
      // Not only at the end: a success written elsewhere ends the wait now.
      if (answering && (await writtenSuccess(record))) return { seen: 'success' };
      if (context.now() >= until || stopped) return looked;
    }
  }

  /**
   * A settle call's last look before it answers. Its own reads may lag those of another process that found the
   * payment mined and wrote its success: that success is the answer, not `settlement_pending`.
   */
  async function lastLook(looked: Sighting, record: SettlementRecord): Promise<Sighting> {
    if (looked.seen === 'success' || looked.seen === 'failed') return looked;
    return (await writtenSuccess(record)) ? { seen: 'success' } : looked;
  }

  /** Whether the ledger holds `record`'s success, written by whichever process read it first. */
  async function writtenSuccess(record: SettlementRecord): Promise<boolean> {
    return (await ledger.get(record.txid).catch(() => undefined))?.state === 'success';
  }

  /**
   * The poller's next read of a transaction, or STOPPED as soon as the tracker stops (a stalled node included), or
   * DEADLINE at `until` when the read is not back by then: a status round further off than a settle call's time left,
   * or a read that outlasts it, must not hold the call past it. The deadline runs on a real timer, whatever clock the
   * context keeps.
   */
  function nextRead(
    chain: ChainClient,
    txid: string,
    until?: number,
  ): Promise<StatusRead | typeof STOPPED | typeof DEADLINE> {
    if (stopped) return Promise.resolve(STOPPED);
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const cut = () => {
        clearTimeout(timer);
        resolve(STOPPED);
      };
      waitingReads.add(cut);
      const left = until === undefined ? Number.NaN : until - context.now();
      if (left > 0) {
        // setTimeout takes at most 2^31 - 1 ms; a longer settle timeout is no deadline worth a timer.
        timer = setTimeout(
          () => {
            waitingReads.delete(cut);
            resolve(DEADLINE);
          },
          Math.min(left, 2 ** 31 - 1),
        );
        (timer as { unref?: () => void }).unref?.();
      }
      void poller.next(chain, txid).then((read) => {
        clearTimeout(timer);
        waitingReads.delete(cut);
        resolve(read);
      });
    });
  }

  function follow(txid: string, chain: ChainClient, known?: SettlementRecord): void {
    if (following.has(txid) || stopped) return;
    const background = poll(txid, chain, context.now() + context.trackForMs, known)
      .catch(() => undefined)
      .finally(() => {
        following.delete(txid);
        sentAt.delete(txid);
      });
    following.set(txid, background);
  }

  return {
    async track(txid, payer, network, chain, { record, until, answer } = {}) {
      sentAt.set(txid, context.now());
      const { seen, written } = await poll(
        txid,
        chain,
        until ?? context.now() + context.settleTimeoutMs,
        record,
        true,
      );
      if (seen === 'success') {
        sentAt.delete(txid);
        const outcome = success(txid, payer, network);
        if (!answer) {
          await written;
          return outcome;
        }
        // See TrackOptions.answer.
        const [answered] = await Promise.all([
          answer(outcome),
          written?.catch(() => follow(txid, chain, record)),
        ]);
        return answered;
      }
      const give = answer ?? (async (outcome: SettleResponse) => outcome);
      if (seen === 'failed') {
        sentAt.delete(txid);
        const record = await ledger.get(txid);
        const reason =
          record?.errorReason === 'broadcast_failed' ? 'broadcast_failed' : 'transaction_failed';
        return give(failure(payer, network, reason, record?.errorMessage ?? 'failed', txid));
      }
      follow(txid, chain, record);
      return give(pending(txid, payer, network));
    },
    follow: (txid, chain) => follow(txid, chain),
    observe,
    refused,
    judgeAgain,
    isFollowing: (txid) => following.has(txid),
    replacementOf,
    isStopped: () => stopped,
    stop() {
      stopped = true;
      poller.close();
      for (const cut of waitingReads) cut();
      waitingReads.clear();
    },
    async idle() {
      while (following.size > 0) await Promise.allSettled([...following.values()]);
    },
  };
}

/**
 * Ends the message of a refusal recorded failed before the chain read that judges whose nonce conflicted: until the
 * judgement replaces it, a retry of the payment may finish that judgement (its process may have died reading).
 */
const BEING_JUDGED = ': whose nonce conflicted is being judged';

/** The nonces a sponsored settlement spends; undefined for one whose payer pays its own fee. */
function sponsoredNonces(record: SettlementRecord): SponsoredNonces | undefined {
  return record.sponsor === undefined || record.sponsorNonce === undefined
    ? undefined
    : {
        payer: record.payer,
        nonce: record.nonce,
        sponsor: record.sponsor,
        sponsorNonce: record.sponsorNonce,
      };
}
