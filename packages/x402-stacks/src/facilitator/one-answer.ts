/**
 * One answer per payment: at most one settle call answers success or `settlement_pending` about a payment, so at most
 * one request is served for it, however often it is retried. The call that claimed the payment answers; a retry
 * takes its place only once that call can no longer answer and never did.
 * @module
 */
import type { SettleResponse } from '../protocol/v2.js';
import type { StacksNetwork } from '../stacks/networks.js';
import { sameResource, sameTerms } from './bound-terms.js';
import type { FacilitatorContext } from './context.js';
import type { SettlementRecord } from './ledger.js';
import { watchHolder } from './liveness.js';
import { duplicate, failedBefore, success } from './outcomes.js';
import {
  answerAgain,
  conflictAnswer,
  namesAnotherPayment,
  namesThisPayment,
} from './payment-id.js';
import { minedAfterDrop, type Tracker } from './track.js';

/**
 * Gives a success or `settlement_pending` answer only if no settle call gave one about this payment before (a retry
 * of the same payment may be racing this call); any other outcome passes through.
 *
 * A success for a caller that hung up (`signal` aborted: its settle call timed out) is recorded as `pending`: nobody
 * received it, so nobody served it, and the first retry of the same payment under the same terms may claim it once
 * (see {@link answerRetry}). A caller that hangs up after the record is written loses the answer; that window is
 * one ledger write wide.
 * @example
 * ```ts
 * return answerOnce(context, record, await tracker.track(txid, payer, network, chain), signal);
 * ```
 */
export async function answerOnce(
  context: FacilitatorContext,
  record: SettlementRecord,
  outcome: SettleResponse,
  signal?: AbortSignal,
): Promise<SettleResponse> {
  const answer = outcome.success
    ? signal?.aborted
      ? 'pending'
      : 'success'
    : outcome.errorReason === 'settlement_pending'
      ? 'pending'
      : undefined;
  if (!answer) return outcome;
  const given = await context.ledger.recordAnswer(record.paymentTxid, answer, record.createdAt);
  return given ? duplicate((await context.ledger.get(record.paymentTxid)) ?? record) : outcome;
}

/**
 * Answers a retry of a payment the ledger already holds.
 * - A retry naming a `payment-identifier` id that names another payment of the payer is refused
 *   (`payment_identifier_conflict`); one naming the id bound to this payment, once the first call answered, gets the
 *   stored outcome again within the id's window and replays (`payment-id.ts`), for the resource the payment was
 *   settled for when the ledger recorded one.
 * - While the call that claimed it may still answer, the payment is that call's: a replay by anyone who read the
 *   transaction in the mempool must not race the buyer's own request for the answer. The retry waits, at most about
 *   one lease, and is a duplicate.
 * - Once that call can no longer answer (its process's lease went unrenewed, or the claim lease and the settle timeout
 *   passed) and never did, the retry takes its place: a claim is dropped and settled afresh (undefined), a broadcast
 *   is followed to a success or a `settlement_pending` of its own.
 * - A drop found mined since (track.ts) that no call answered is served to the first retry naming its payment id, for
 *   its resource, without waiting for its call (which answered the failure, died, or still waits: then the two race
 *   for the one answer): whether the retry finds it so at once, after its wait, or after following the payment
 *   itself. Any other retry is a duplicate.
 * - A payment whose transaction was dropped from the mempool unmined is forgotten and settled afresh (undefined): a
 *   buyer who signs the same nonce and amount again sends the identical bytes, so repeating the failure would leave
 *   it unable to pay that nonce ever again. One that failed on chain (an abort: its nonce spent) gets that failure
 *   again.
 * - A payment answered `settlement_pending` and confirmed since is served once: the first retry under the same
 *   terms, for the same resource and under the payment id bound at its claim (a stranger copying the bytes from the
 *   chain cannot name it) turns the ledger's answer into `success` (atomically, across processes) and
 *   answers success; every other retry is a duplicate (or an id's counted replay, above). This is how a seller serves a buyer whose settle call gave
 *   only `settlement_pending` or timed out: the facilitator, not the seller's memory, decides who is served.
 * - A sponsored payment the node refused, recorded failed before the chain read that judges whose nonce conflicted
 *   and never judged (its process died during that read), has its judgement finished once the call that recorded it
 *   is past its time: when the sponsor's nonce was at fault, it is settled afresh (undefined).
 * - Anything else (answered, refused by the node, retried under other terms) is a duplicate.
 * @example
 * ```ts
 * const answer = await answerRetry(context, tracker, existing, payload, requirements, paymentId, signal);
 * if (answer) return answer; // else settle the payment afresh
 * ```
 */
export async function answerRetry(
  context: FacilitatorContext,
  tracker: Tracker,
  record: SettlementRecord,
  payloadInput: unknown,
  requirementsInput: unknown,
  paymentId?: string,
  signal?: AbortSignal,
): Promise<SettleResponse | undefined> {
  const connection = context.chains.get(record.network);
  if (
    paymentId !== undefined &&
    (await namesAnotherPayment(
      context,
      record.network,
      record.payer,
      paymentId,
      record.paymentTxid,
    ))
  ) {
    return conflictAnswer(record.payer, record.network, paymentId);
  }
  if (!connection || !sameTerms(record, requirementsInput, context)) return duplicate(record);
  // A drop found mined since (track.ts), with no answer recorded: its call answered the failure, died, or still waits
  // (then it and the retry naming the payment id race for the one answer, in answerOnce). Nobody else is served.
  const toNamedRetry = async (mined: SettlementRecord) =>
    (await promotePending(context, mined, connection.network, payloadInput, paymentId, signal)) ??
    duplicate(mined);
  const { ledger } = context;
  const forNamedRetryOnly = async (settled: SettlementRecord) =>
    minedAfterDrop(settled) &&
    (await ledger.answerOf(settled.paymentTxid, settled.createdAt)) === undefined;
  if (await forNamedRetryOnly(record)) return toNamedRetry(record);
  const waited = await untilUnanswerable(context, record);
  if (waited.outcome === 'vanished') return undefined;
  const current = waited.record;
  if (await forNamedRetryOnly(current)) return toNamedRetry(current);
  // A refusal whose judgement a death cut short: once found to be the sponsor's doing, the payment is settled afresh.
  if (await tracker.judgeAgain(current, connection.chain)) return undefined;
  // A node's refusal may be a passing state (a sponsor nonce taken: the payment is sponsored again), so only a
  // failure on chain or a drop is final.
  if (current.state === 'failed' && current.errorReason === 'transaction_failed') {
    // Dropped, the bytes spent nothing: settle them afresh, from the verify on. Someone may have sent the same bytes
    // to the node since (they are public once broadcast); the fresh settle still moves the money at most once and
    // serves at most once. Mined meanwhile, or pending again, the payer's next possible nonce is past them: the
    // verify refuses them before any claim. Pending but not yet seen by the API, the verify and claim pass and the
    // node takes the identical bytes as the one transaction it holds (one txid, one transfer): the settle follows
    // it, and its success or pending answer is given once (answerOnce). Other bytes spending the nonce (a
    // replacement) make the node refuse these. Concurrent retries: forgetDropped lets one through, and the claim
    // after it is atomic, so the others are duplicates.
    if (!ledger.forgetDropped) return failedBefore(current);
    if (await ledger.forgetDropped(current.paymentTxid, current.createdAt)) return undefined;
    // Not forgotten by this call: another retry forgot it first (its claim, or the one after it, decides); or it is
    // still this failure (on chain, or a drop still giving its nonces back); or the drop's bytes were found mined since
    // (track.ts), or a call whose read was ahead answered its success. Money moved in those last two, so they are no
    // failure.
    const latest = await ledger.get(current.paymentTxid);
    if (latest?.createdAt !== current.createdAt) return undefined;
    // Found mined since: answered as a drop found mined is, above.
    if (latest.state === 'success') {
      return answerRetry(
        context,
        tracker,
        latest,
        payloadInput,
        requirementsInput,
        paymentId,
        signal,
      );
    }
    const served = (await ledger.answerOf(latest.paymentTxid, latest.createdAt)) === 'success';
    return served ? duplicate(latest) : failedBefore(latest);
  }
  if (waited.outcome === 'answered') {
    // A pending answer confirmed since is served once, to the retry naming its id: its first serve is that turn, not
    // an id replay.
    const promote = () =>
      promotePending(context, current, connection.network, payloadInput, paymentId, signal);
    const promoted = await promote();
    if (promoted) return promoted;
    // The buyer's own retry, under the id it bound to this payment (its response was lost): the stored outcome again,
    // as often as the id's window and replays allow, and only for the resource the payment was settled for (when
    // recorded), so an id's replays never unlock another route at the same price.
    if (
      paymentId !== undefined &&
      (current.resource === undefined || sameResource(current, payloadInput))
    ) {
      const again = await answerAgain(context, tracker, current, paymentId, connection, promote);
      if (again) return again;
    }
    return duplicate(current);
  }
  if (waited.outcome !== 'unanswerable') return duplicate(current);
  if (current.state === 'claimed') {
    // Only the claim this retry judged: not one made since, and not one that moved on meanwhile.
    await ledger.expireClaim(current.paymentTxid, current.updatedAt + 1);
    return undefined;
  }
  if (current.state !== 'broadcast' && current.state !== 'success') return duplicate(current);
  // Taking the place of a call that never answered gives this retry the payment: only for the resource it was
  // claimed for, when the ledger knows it, so a payment for one route never serves another at the same price.
  if (current.resource !== undefined && !sameResource(current, payloadInput)) {
    return duplicate(current);
  }
  const outcome =
    current.state === 'success'
      ? success(current.txid, current.payer, connection.network)
      : await tracker.track(current.txid, current.payer, connection.network, connection.chain, {
          record: current,
        });
  // Followed to a success that was a drop meanwhile: written by other processes, or turned by this follow's read.
  if (outcome.success && current.state !== 'success') {
    const latest = await ledger.get(current.paymentTxid);
    if (latest && (await forNamedRetryOnly(latest))) return toNamedRetry(latest);
  }
  // A pending answer, like a success, goes to this request alone: only its seller follows the status.
  return answerOnce(context, current, outcome, signal);
}

/**
 * The success of a payment answered `settlement_pending` and confirmed since, for the one retry that turns the answer
 * (undefined for the others, and while it is not confirmed). The terms were checked by the caller; the resource is
 * checked here, so a confirmed payment for one route never unlocks another route at the same price. Why here and
 * not in a status lookup: a status is read by anyone, any number of times, while the turn of the answer is one
 * atomic write in the shared ledger, so two sellers (or two processes of one) cannot both serve the payment, and a
 * dropped payment settled afresh under the same txid gets one answer in all.
 *
 * The retry must also name the payment id bound to the payment when it was claimed. Once broadcast, a payment's
 * bytes are public (the mempool, the block) and its route's requirements are in the route's 402: without the id, a
 * stranger copying them would be served in the buyer's place, and the buyer's own retry refused. The id is known to
 * the buyer and its seller alone. A payment no id names is never turned: its pending answer stands.
 * A caller that hung up does not turn it either.
 *
 * A drop found mined since (track.ts) that no call answered is served the same way, to the one retry naming its id,
 * whose answer is then recorded (`answerOnce`): the call that claimed it answered the drop's failure, and nobody was
 * served. A call of the claim still waiting (its reads behind) may take it first: one answer in all.
 */
async function promotePending(
  context: FacilitatorContext,
  record: SettlementRecord,
  network: StacksNetwork,
  payloadInput: unknown,
  paymentId: string | undefined,
  signal: AbortSignal | undefined,
): Promise<SettleResponse | undefined> {
  const { ledger } = context;
  if (!sameResource(record, payloadInput)) return undefined;
  if (paymentId === undefined || !(await namesThisPayment(context, record, paymentId)))
    return undefined;
  // The record read while waiting may predate the confirmation: read the state now.
  const latest = await ledger.get(record.paymentTxid);
  if (latest?.state !== 'success' || latest.createdAt !== record.createdAt) return undefined;
  // A caller that hung up (a seller past its own timeout) would take the one serve to nobody: the answer stays
  // pending for the retry that follows, as answerOnce keeps a success found too late.
  if (signal?.aborted) return undefined;
  const served = success(latest.txid, latest.payer, network);
  if (minedAfterDrop(latest) && !(await ledger.answerOf(latest.paymentTxid, latest.createdAt))) {
    const answered = await answerOnce(context, latest, served, signal);
    return answered.success ? answered : undefined;
  }
  if (!(await ledger.promoteAnswer?.(latest.paymentTxid, latest.createdAt))) return undefined;
  return served;
}

type Waited =
  /** The claim was dropped meanwhile (its call released it, or a retry expired it): settle afresh. */
  | { readonly outcome: 'vanished' }
  /** Its call answered, or the payment failed: nothing is left to answer. */
  | { readonly outcome: 'answered'; readonly record: SettlementRecord }
  /** Its call can no longer answer and never did. */
  | { readonly outcome: 'unanswerable'; readonly record: SettlementRecord }
  /** Its call may still answer: its process lives (or cannot be told) and its time is not over. */
  | { readonly outcome: 'still_running'; readonly record: SettlementRecord };

/** Retries of one payment waiting in this process share one watch: a burst of replays costs the ledger one reader. */
const watches = new WeakMap<FacilitatorContext, Map<string, Promise<Waited>>>();

function untilUnanswerable(context: FacilitatorContext, record: SettlementRecord): Promise<Waited> {
  const byPayment = watches.get(context) ?? new Map<string, Promise<Waited>>();
  watches.set(context, byPayment);
  const key = `${record.paymentTxid}|${record.createdAt}`;
  let watch = byPayment.get(key);
  if (!watch) {
    watch = watchCall(context, record).finally(() => byPayment.delete(key));
    byPayment.set(key, watch);
  }
  return watch;
}

/**
 * Waits for the call that claimed a payment to answer or to be provably unable to, at most one lease and one keeper
 * interval: a process killed a moment before the buyer's retry leaves a lease that still looks renewed until a whole
 * lease has passed without a renewal.
 */
async function watchCall(context: FacilitatorContext, initial: SettlementRecord): Promise<Waited> {
  // A renewal comes every keeper interval: looking twice as often sees each one, and no more often spares the ledger.
  const interval = Math.max(50, Math.min(context.pollIntervalMs, context.keeperIntervalMs / 2));
  // Counted in looks as well as time, so a clock that does not move cannot hold a request forever.
  const looks = Math.ceil((context.leaseMs + context.keeperIntervalMs) / interval) + 1;
  const liveness = watchHolder(context, initial);
  let record = initial;
  for (let look = 0; ; look++) {
    // An answer about this claim: a pending one about a claim released before it served nobody (Ledger.recordAnswer).
    if (
      record.state === 'failed' ||
      (await context.ledger.answerOf(record.paymentTxid, record.createdAt))
    ) {
      return { outcome: 'answered', record };
    }
    const timeIsOver =
      context.now() >= record.createdAt + context.claimLeaseMs + context.settleTimeoutMs;
    const holder = timeIsOver ? 'gone' : await liveness();
    if (holder === 'gone') return { outcome: 'unanswerable', record };
    // This process's own call, or one whose process cannot be told alive or dead: only the time bound frees it.
    if (holder !== 'alive' || look >= looks) return { outcome: 'still_running', record };
    await context.sleep(interval);
    const latest = await context.ledger.get(record.paymentTxid);
    if (!latest || latest.createdAt !== record.createdAt) return { outcome: 'vanished' };
    record = latest;
  }
}
