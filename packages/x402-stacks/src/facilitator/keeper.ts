/**
 * The keeper: the facilitator's background work, for the life of the service. Each round, per network, it
 * - expires claims whose holder died between claiming and broadcasting, so the payment can be settled again;
 * - follows broadcast settlements no live request is waiting on, and re-sends the identical bytes of any the node
 *   lost (same bytes, same txid: it can never pay twice);
 * - reads every sponsor key's nonces and balance, and fills a nonce gap that no sponsored payment reused in time with
 *   a 1 µSTX transfer of the key's own, so one evicted transaction never holds up the key for good;
 * - forgets sponsor fee records older than the limits' window.
 * Every round, and every interval while a round runs long, it also renews the process's own lease: the sign that its
 * settle calls may still answer (see liveness.ts).
 * Several processes on one ledger take turns through a lease per network: one keeper works at a time, never two. Two
 * prunes are not per network and are idempotent, so every process runs them each round, after the mechanisms' rounds:
 * discovery entries no payment refreshed within their window, and `payment-identifier` ids past their window (the id
 * of a payment that may still be served stays longer: `prunePaymentIds` below).
 * @module
 */
import type { ChainClient } from '../chain/client.js';
import type { StacksNetwork } from '../stacks/networks.js';
import { abandonedBefore, type FacilitatorContext } from './context.js';
import type { SettlementRecord } from './ledger.js';
import { renewProcessLease } from './liveness.js';
import type { AttachedMechanism } from './mechanism.js';
import { possibleGaps } from './nonce-gaps.js';
import type { SponsorPool } from './sponsor-pool.js';
import { readStatuses } from './status-poller.js';
import type { Observation, Tracker } from './track.js';

/** Settlements the keeper looks at with one status read and one renewal of its lease (`tx/multiple` takes 50). */
const LOOKS_PER_READ = 50;
/** The longest a settlement pending past `trackForMs` waits between two of the keeper's looks. */
const MAX_LOOK_GAP_MS = 60_000;
/** How long a sponsored settlement is pending before the keeper asks whether its payer's nonce went elsewhere. */
const STRANDED_CHECK_AFTER_MS = 30_000;
/** What a stranded transaction reads: still pending, or replaced by a filler that was not mined (see track.ts). */
const STRANDED_STATUSES: ReadonlySet<string> = new Set(['pending', 'dropped_replace_by_fee']);

/**
 * What one round did.
 * @example
 * ```ts
 * const report: KeeperReport = { expired: 1, followed: 2, gapsFilled: 1, strandedReplaced: 0 };
 * ```
 */
export type KeeperReport = {
  /** Abandoned claims dropped. */
  readonly expired: number;
  /** Broadcast settlements looked at. */
  readonly followed: number;
  /** Sponsor nonce gaps filled by the keeper's own transfer. */
  readonly gapsFilled: number;
  /**
   * Sponsored transactions stranded in the mempool (their payer's nonce spent by another transaction) for which the
   * node took the keeper's replacement on their sponsor nonce.
   */
  readonly strandedReplaced: number;
};

/**
 * The keeper of one facilitator.
 * @example
 * ```ts
 * facilitator.keeper.start();
 * process.on('SIGTERM', () => facilitator.keeper.stop());
 * ```
 */
export type Keeper = {
  /** Runs a round every `keeper.intervalMs` until `stop()`. The timer does not keep the process alive. */
  start(): void;
  /**
   * Stops the rounds, the renewals of this process's lease, and the following of pending settlements (as
   * `Facilitator.drain()` does: a settle call waiting on a confirmation answers `settlement_pending`, and each
   * settlement stays `broadcast` in the ledger for the next start). Waits for the round under way. For good: a keeper
   * is not started again.
   */
  stop(): Promise<void>;
  /** Runs one round now (tests, and a start that should not wait for the first interval). */
  runOnce(): Promise<KeeperReport>;
};

export function createKeeper(
  context: FacilitatorContext,
  pool: SponsorPool,
  tracker: Tracker,
  mechanisms: readonly Pick<AttachedMechanism, 'keeperRound'>[] = [],
): Keeper {
  const holder = context.processId;
  /**
   * `<network>|<sponsor>|<nonce>` → when a possible gap may be filled: `gapFillDelayMs` after it was first seen free,
   * so a sponsored payment may reuse its nonce first. A nonce a settlement in flight holds has no entry: its delay
   * starts once it is free.
   */
  const fillableAt = new Map<string, number>();
  /** `<network>|<sponsor>|<nonce>` → this keeper's filler for it, and when the node accepted it. */
  const fillersSent = new Map<string, { txid: string; at: number }>();
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<KeeperReport> | undefined;
  /** Where this keeper's last prune of payment ids left the window: the ids past it were judged then. */
  let idsJudgedBefore: number | undefined;
  /**
   * txid → when a settlement still pending past `trackForMs` is looked at next, and the gap before that look: it
   * doubles with each look that finds it pending, so one that never confirms (behind a payer's transaction that is
   * never mined) costs a read every `MAX_LOOK_GAP_MS` at most, not one a round.
   */
  const nextLook = new Map<string, { at: number; gapMs: number }>();
  /** txid → when a sponsored settlement still pending is next asked about, spaced as `nextLook`. */
  const nextStrandCheck = new Map<string, { at: number; gapMs: number }>();

  /**
   * Ids past their window replay nothing any more: forgotten, they hold no storage either. The id of a payment that
   * may still be served stays up to `keepUnservedMs` from its first use, for its buyer's retry once the payment
   * confirms. This process judges each id once, as it leaves the window (and every id past its window at its first
   * round after a start).
   */
  async function prunePaymentIds(): Promise<void> {
    if (!context.paymentIds) return;
    const { ledger, windowMs, keepUnservedMs } = context.paymentIds;
    const now = context.now();
    const before = now - windowMs;
    await ledger.prunePaymentIds(before, {
      unservedBefore: now - keepUnservedMs,
      ...(idsJudgedBefore === undefined ? {} : { judgedFrom: idsJudgedBefore }),
    });
    idsJudgedBefore = before;
  }

  async function runOnce(): Promise<KeeperReport> {
    round ??= (async () => {
      const totals = { expired: 0, followed: 0, gapsFilled: 0, strandedReplaced: 0 };
      try {
        await renewProcessLease(context);
        // Draining for a stop: the lease above keeps this process's running calls its own, and nothing new is started
        // that the stop would cut (a read per followed settlement, a filler, a batch claim).
        if (tracker.isStopped()) return totals;
        for (const { network, chain } of context.chains.values()) {
          if (!(await holdsLease(network))) continue;
          const report = await keep(network, chain);
          totals.expired += report.expired;
          totals.followed += report.followed;
          totals.gapsFilled += report.gapsFilled;
          totals.strandedReplaced += report.strandedReplaced;
        }
        // Each mechanism takes its own leases for what must run in one process at a time.
        for (const mechanism of mechanisms) await mechanism.keeperRound?.();
        // Not per network, and idempotent: every process prunes, whichever keeper holds the leases. A prune that fails
        // is tried again next round (the ids' judgement starts where the last one that succeeded left it).
        await context.discovery?.prune(context.now()).catch(() => undefined);
        await prunePaymentIds().catch(() => undefined);
      } finally {
        round = undefined;
      }
      return totals;
    })();
    return round;
  }

  /**
   * Takes or renews this keeper's lease on a network. Renewed before each piece of work, not once a round: one slow
   * chain read could outlast it, and another process's keeper would then work beside this one.
   */
  function holdsLease(network: StacksNetwork): Promise<boolean> {
    return context.ledger.acquireLease(
      `keeper:${network.caip2}`,
      holder,
      context.leaseMs,
      context.now(),
    );
  }

  async function keep(network: StacksNetwork, chain: ChainClient): Promise<KeeperReport> {
    let expired = 0;
    let followed = 0;
    const cutoff = abandonedBefore(context);
    const unfinished = await context.ledger.unfinished();
    const due: SettlementRecord[] = [];
    for (const record of unfinished) {
      if (record.network !== network.caip2) continue;
      if (record.state === 'claimed') {
        if (record.updatedAt >= cutoff) continue;
        if (!(await holdsLease(network)))
          return { expired, followed, gapsFilled: 0, strandedReplaced: 0 };
        if (await context.ledger.expireClaim(record.paymentTxid, cutoff)) expired++;
        continue;
      }
      if (tracker.isFollowing(record.txid) || (nextLook.get(record.txid)?.at ?? 0) > context.now())
        continue;
      due.push(record);
    }
    // Looked at together, one status read and one lease renewal for each `LOOKS_PER_READ`, not one of each apiece.
    for (let start = 0; start < due.length; start += LOOKS_PER_READ) {
      if (!(await holdsLease(network)))
        return { expired, followed, gapsFilled: 0, strandedReplaced: 0 };
      const looking = due.slice(start, start + LOOKS_PER_READ);
      const reads = await readStatuses(
        chain,
        looking.map((record) => record.txid),
      );
      for (const record of looking) {
        const seen = await tracker
          .observe(record, chain, { read: reads.get(record.txid) })
          .catch(() => undefined);
        lookAgainLater(record, seen);
        followed++;
      }
    }
    const open = new Set(unfinished.map((record) => record.txid));
    for (const txid of nextLook.keys()) if (!open.has(txid)) nextLook.delete(txid);
    const strandedReplaced = context.sponsor
      ? await replaceStranded(network, chain, unfinished)
      : 0;
    const gapsFilled = context.sponsor
      ? await fillGaps(network, chain, heldSponsorNonces(unfinished, network))
      : 0;
    if (context.sponsor) {
      await context.ledger.pruneSponsorFees(context.now() - context.sponsor.limits.windowMs);
    }
    return { expired, followed, gapsFilled, strandedReplaced };
  }

  /**
   * Sponsored transactions stranded in the mempool: pending while their payer's nonce was spent by another transaction
   * (the payer sent one through a node that never saw this one). Never to be mined, each holds its sponsor nonce, and
   * every later one of that key, until the node drops it. The keeper sends a filler on its sponsor nonce that pays more
   * and writes nothing: where the node takes the filler, the stranded transaction is replaced, and its settlement's
   * own tracking fails it once the filler is mined (the nonce left to the filler, the payer charged); until then it is
   * asked about again and the filler sent again, so one the node dropped is replaced. Where the transaction was mined
   * after all (a `/nonces` read ahead of the status read), the node refuses the filler for its spent nonce (or drops it
   * once it sees the block), and the tracking records the success. One `/nonces` read per payer, for settlements
   * pending past `STRANDED_CHECK_AFTER_MS`, each asked about less and less often.
   */
  async function replaceStranded(
    network: StacksNetwork,
    chain: ChainClient,
    unfinished: readonly SettlementRecord[],
  ): Promise<number> {
    const now = context.now();
    const confirmed = new Map<string, Promise<bigint | undefined>>();
    let replaced = 0;
    for (const record of unfinished) {
      if (
        record.network !== network.caip2 ||
        record.state !== 'broadcast' ||
        record.sponsor === undefined ||
        record.sponsorNonce === undefined ||
        now - record.updatedAt < STRANDED_CHECK_AFTER_MS ||
        (nextStrandCheck.get(record.txid)?.at ?? 0) > now
      )
        continue;
      nextStrandCheck.set(record.txid, spacedAfter(nextStrandCheck.get(record.txid)));
      if (!confirmed.has(record.payer)) {
        const read = chain.getNonces(record.payer).then(
          (nonces) => nonces.confirmedNext,
          () => undefined,
        );
        confirmed.set(record.payer, read);
      }
      const confirmedNext = await confirmed.get(record.payer);
      if (confirmedNext === undefined || confirmedNext <= record.nonce) continue;
      // Still pending; or replaced by fee and still broadcast here, its tracking waiting for a filler sent before to be
      // mined (one dropped is sent again: the same fee, so the same bytes).
      const tx = await chain.getTransaction(record.txid).catch(() => undefined);
      if (tx?.indexed !== true || !STRANDED_STATUSES.has(tx.status)) continue;
      // Replaced by fee: sent again only over a filler of the sponsor key's. One the payer sent leaves the nonce to its
      // tracking, which hands it to the next payment: a filler then would replace that payment.
      if (tx.status === 'dropped_replace_by_fee') {
        const replacement = await tracker.replacementOf(record, tx, chain);
        if (replacement === 'unreadable' || replacement?.by !== 'sponsor') continue;
      }
      const filler = await pool
        .signFiller(network, chain, record.sponsor, record.sponsorNonce, tx.fee)
        .catch(() => undefined);
      if (!filler) continue;
      if (!(await holdsLease(network))) return replaced;
      // Still this claim's, and still broadcast, just before the filler goes: another process's tracking may have ended
      // it meanwhile, and handed its sponsor nonce to a payment the filler would then replace. The hold keeps the
      // nonce from any payment from here on, however the settlement ends.
      if (!(await stillStranded(record))) continue;
      const sent = await chain.broadcast(filler.transaction).catch(() => undefined);
      if (sent?.accepted) replaced++;
    }
    const open = new Set(unfinished.map((record) => record.txid));
    for (const txid of nextStrandCheck.keys()) if (!open.has(txid)) nextStrandCheck.delete(txid);
    return replaced;
  }

  /** Whether a filler may still go over `record`'s sponsor nonce, held from now on where the ledger can. */
  async function stillStranded(record: SettlementRecord): Promise<boolean> {
    const { ledger } = context;
    if (ledger.holdStrandedNonce)
      return ledger.holdStrandedNonce(record.paymentTxid, record.createdAt);
    const current = await ledger.get(record.txid);
    return current?.state === 'broadcast' && current.createdAt === record.createdAt;
  }

  /**
   * Spaces the looks at a settlement found still pending long after it was sent (past `trackForMs`, the time its own
   * follow gives it); a younger one, or one the node does not know (its bytes are sent again), is looked at every round.
   */
  function lookAgainLater(record: SettlementRecord, seen: Observation | undefined): void {
    if (seen !== 'pending' || context.now() - record.updatedAt < context.trackForMs) {
      nextLook.delete(record.txid);
      return;
    }
    nextLook.set(record.txid, spacedAfter(nextLook.get(record.txid)));
  }

  /** The next look after `last`: its gap doubled, from two keeper intervals up to `MAX_LOOK_GAP_MS`. */
  function spacedAfter(last: { gapMs: number } | undefined): { at: number; gapMs: number } {
    const gapMs = Math.min(
      Math.max(2 * (last?.gapMs ?? 0), 2 * context.keeperIntervalMs),
      MAX_LOOK_GAP_MS,
    );
    return { at: context.now() + gapMs, gapMs };
  }

  /**
   * @param held `<sponsor>|<nonce>` of the sponsor nonces that settlements in flight held when this round read them:
   *   such a nonce is not a gap, and is passed over without asking the ledger under its lock. Read before the round,
   *   it may be stale either way; `takeSponsorGap`, under the lock, still decides every filler.
   */
  async function fillGaps(
    network: StacksNetwork,
    chain: ChainClient,
    held: ReadonlySet<string>,
  ): Promise<number> {
    const settings = context.sponsor!;
    let filled = 0;
    const keys = await pool.refresh(network, chain).catch(() => undefined);
    // Without a read, nothing is known to have closed: what was seen stays seen.
    if (!keys) return 0;
    const stillMissing = new Set<string>();
    for (const key of keys) {
      for (const nonce of possibleGaps(key.nonces)) {
        const id = `${network.caip2}|${key.address}|${nonce}`;
        stillMissing.add(id);
        // A filler this keeper sent stays pending until a block takes it: it is not sent again within
        // `rebroadcastAfterMs`, the spacing of the tracker's re-sends.
        const sentBefore = fillersSent.get(id);
        if (sentBefore !== undefined && context.now() - sentBefore.at < context.rebroadcastAfterMs)
          continue;
        if (held.has(`${key.address}|${nonce}`)) {
          // Its delay starts once it is free: a payment dropped meanwhile hands the nonce to the next sponsored
          // payment first, as for any gap, and the keeper fills it a delay later, not a re-send spacing later.
          fillableAt.delete(id);
          continue;
        }
        const at = fillableAt.get(id);
        if (at === undefined) {
          fillableAt.set(id, context.now() + settings.gapFillDelayMs);
          if (settings.gapFillDelayMs > 0) continue;
        } else if (context.now() < at) continue;
        const account = { network: network.caip2, sponsor: key.address };
        if (!(await holdsLease(network))) return filled;
        if (!(await context.ledger.takeSponsorGap(account, nonce))) {
          // A payment in flight took it since the round's read (another process's, or one sponsored meanwhile): the
          // next rounds' reads pass it over while it is held, and its delay starts again once it is free.
          fillableAt.set(id, context.now() + settings.gapFillDelayMs);
          continue;
        }
        const filler = await pool.signFiller(network, chain, key.address, nonce);
        const sent = await chain.broadcast(filler.transaction).catch(() => undefined);
        if (sent?.accepted) {
          // The same filler sent again (its block has not come) is a re-send, not another gap filled.
          if (sentBefore?.txid !== filler.txid) filled++;
          fillersSent.set(id, { txid: filler.txid, at: context.now() });
        }
        fillableAt.delete(id);
      }
    }
    for (const seen of [fillableAt, fillersSent]) {
      for (const id of seen.keys()) {
        if (id.startsWith(`${network.caip2}|`) && !stillMissing.has(id)) seen.delete(id);
      }
    }
    return filled;
  }

  return {
    start() {
      if (timer) return;
      void renewProcessLease(context).catch(() => undefined);
      timer = setInterval(() => {
        // A round held up by a stalled node must not let the process look dead.
        if (round) void renewProcessLease(context).catch(() => undefined);
        void runOnce().catch(() => undefined);
      }, context.keeperIntervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      tracker.stop();
      await round?.catch(() => undefined);
    },
    runOnce,
  };
}

/** `<sponsor>|<nonce>` of every sponsor nonce the settlements in flight on `network` hold. */
function heldSponsorNonces(
  unfinished: readonly SettlementRecord[],
  network: StacksNetwork,
): ReadonlySet<string> {
  const held = new Set<string>();
  for (const record of unfinished) {
    if (
      record.network === network.caip2 &&
      record.sponsor !== undefined &&
      record.sponsorNonce !== undefined
    )
      held.add(`${record.sponsor}|${record.sponsorNonce}`);
  }
  return held;
}
