/**
 * Settlement, as numbered steps: verify again (on chain state read for it, or shared where `settleMayShare` says that
 * is safe), claim the payment atomically, sponsor it, write ahead, broadcast, and track. Every refusal is an answer
 * with a reason code; what throws is a chain that cannot be reached before anything was sent.
 * @module
 */
import { ChainRequestError } from '../chain/errors.js';
import type { AccountNonces } from '../chain/types.js';
import type { SettleResponse } from '../protocol/v2.js';
import { resolveNetwork, type StacksNetwork } from '../stacks/networks.js';
import { checkChainState } from '../stacks/payment/check.js';
import { signedTransactionIdOf } from '../stacks/payment/signed-transaction.js';
import { resourceOf } from './bound-terms.js';
import type { PayerKey } from './chain-state.js';
import { abandonedBefore, type FacilitatorContext } from './context.js';
import type { NewSettlement, SendClaimResult, SettlementRecord } from './ledger.js';
import type { NonceStanding, NonceWaitOutcome } from './nonce-watch.js';
import { answerOnce, answerRetry } from './one-answer.js';
import { duplicate, failure, type Refusal, refuse } from './outcomes.js';
import { parsePaymentPayload } from './parsed-payment.js';
import { bindToClaim, conflictAnswer, paymentIdNamed } from './payment-id.js';
import { type SettleLap, settleStopwatch } from './settle-steps.js';
import type { SponsorPool } from './sponsor-pool.js';
import type { Tracker } from './track.js';
import {
  type ExaminedPayment,
  examinePayment,
  fundsInFlightProblem,
  readPayerState,
} from './verify.js';

/** How many times a payment is sponsored again after the node refused the sponsor's nonce (our doing, not the payer's). */
const SPONSOR_ATTEMPTS = 2;

/**
 * Settles one payment.
 * @example
 * ```ts
 * const settled = await settlePayment(context, pool, tracker, payload, requirements);
 * ```
 */
export async function settlePayment(
  context: FacilitatorContext,
  pool: SponsorPool,
  tracker: Tracker,
  payloadInput: unknown,
  requirementsInput: unknown,
  signal?: AbortSignal,
): Promise<SettleResponse> {
  // A payment already claimed is answered from the ledger, whatever the chain says now: a claim whose holder died is
  // dropped and this request settles the payment afresh; one broadcast but never answered (its settle call died) is
  // followed; anything else is a duplicate.
  const named = paymentIdNamed(context, payloadInput);
  if (!named.ok) {
    return failure(named.payer ?? '', networkOf(requirementsInput), named.reason, named.message);
  }
  const paymentId = named.id;
  const lap = settleStopwatch(context.onSettleStep);
  const replay = await claimedAlready(context, payloadInput);
  lap('replay_check');
  if (replay) {
    const answer = await answerRetry(
      context,
      tracker,
      replay,
      payloadInput,
      requirementsInput,
      paymentId,
      signal,
    );
    lap('retry');
    if (answer) return answer;
  }

  // 1. Verify again. The replay read above is this step's too: the claim below is the atomic check.
  const examined = await examinePayment(context, pool, payloadInput, requirementsInput, 'settle');
  lap('verify');
  if (!examined.ok) {
    // A concurrent settle of the same payment may have claimed it meanwhile: that is a replay, not a bad payment.
    const claimedMeanwhile = await claimedAlready(context, payloadInput);
    if (claimedMeanwhile) return duplicate(claimedMeanwhile);
    return failure(
      examined.payer ?? '',
      networkOf(requirementsInput),
      examined.reason,
      examined.message,
    );
  }
  return settleExaminedPayment(
    context,
    pool,
    tracker,
    examined,
    paymentId,
    resourceOf(payloadInput),
    signal,
    lap,
  );
}

/**
 * Steps 2–8 for a payment that passed verification, sponsored afresh when the node refused the sponsor's nonce: what
 * a scheme mechanism's signed transaction (a batch-settlement deposit) goes through too. The examined check's amount,
 * asset and fee must be everything the transaction can take from the payer: once it succeeds, the payer's next
 * settlement may be judged on the state it was judged on, less those.
 * @example
 * ```ts
 * const answer = await settleExaminedPayment(context, pool, tracker, examined, undefined, resource, signal);
 * ```
 * @param lap the settlement's stopwatch, when its earlier steps were timed on it; else one starts here.
 */
export async function settleExaminedPayment(
  context: FacilitatorContext,
  pool: SponsorPool,
  tracker: Tracker,
  examined: ExaminedPayment,
  paymentId: string | undefined,
  resource: string | undefined,
  signal: AbortSignal | undefined,
  lap: SettleLap = settleStopwatch(context.onSettleStep),
): Promise<SettleResponse> {
  // The settle's whole wait, for its nonce and then for its confirmation, over every attempt: a seller's settle call
  // allows for one.
  const answerBy = context.now() + context.settleTimeoutMs;
  for (let attempt = 1; ; attempt++) {
    const outcome = await settleExamined(
      context,
      pool,
      tracker,
      examined,
      { paymentId, resource, answerBy, lap },
      signal,
    );
    if (outcome !== 'sponsor_nonce_refused') return outcome;
    if (attempt >= SPONSOR_ATTEMPTS) {
      return failure(
        examined.check.payer,
        examined.network,
        'broadcast_failed',
        'the node refused the sponsor nonce twice; retry the payment',
      );
    }
    // Another attempt past the deadline would only claim and give back: the payment is fine, the time is gone.
    if (context.now() >= answerBy) {
      return failure(
        examined.check.payer,
        examined.network,
        'broadcast_failed',
        "the node refused the sponsor nonce and the settle call's time ran out; retry the payment",
      );
    }
  }
}

/** What one attempt at a payment settles it under: its id and resource, and when the settle call must answer. */
type SettleTerms = {
  readonly paymentId: string | undefined;
  readonly resource: string | undefined;
  readonly answerBy: number;
  /** The settlement's stopwatch: each step below ends with its lap. */
  readonly lap: SettleLap;
};

async function settleExamined(
  context: FacilitatorContext,
  pool: SponsorPool,
  tracker: Tracker,
  examined: ExaminedPayment,
  { paymentId, resource, answerBy, lap }: SettleTerms,
  signal: AbortSignal | undefined,
): Promise<SettleResponse | 'sponsor_nonce_refused'> {
  const { ledger } = context;
  const { check, transaction, network, chain } = examined;
  // A payment of the payer's fee at a nonce already reached, with no id to bind, waits for nothing between its claim
  // and its broadcast: where the ledger can, it is claimed, checked against the payer's money in flight and marked in
  // one step (steps 2, 3 and 6), and nothing else happens between them.
  const claimToSend = ledger.claimToSend?.bind(ledger);
  const direct =
    claimToSend !== undefined &&
    !check.sponsored &&
    check.nonce <= examined.state.nonce &&
    paymentId === undefined;
  if (direct && signal?.aborted) return cancelled(check.payer, network, check.nonce);
  // 2. Claim the txid and (payer, nonce) atomically: from here on, no other settle can move this payment.
  const claim = await claimPayment(
    context,
    examined,
    resource,
    direct
      ? (settlement) =>
          claimToSend(settlement, (inFlight) =>
            // A caller that hung up while the claim waited for the ledger (see step 6) gets nothing recorded and
            // nothing sent, as of the last time the ledger asks: a ledger may ask before it waits for a connection and
            // its last round trip, as step 6 does. Once marked, it is not given back: another process's keeper may send
            // marked bytes.
            signal?.aborted
              ? refuse('settlement_cancelled', cancelledMessage(check.nonce))
              : fundsInFlightProblem(check, examined.state, inFlight),
          )
      : (settlement) => ledger.claim(settlement),
  );
  lap('claim');
  if (!claim.claimed) {
    if ('refused' in claim)
      return failure(check.payer, network, claim.refused.reason, claim.refused.message);
    if (claim.conflict === 'txid') return duplicate(claim.existing);
    return failure(
      check.payer,
      network,
      'invalid_exact_stacks_payload_nonce_reused',
      `nonce ${check.nonce} is already claimed by transaction ${claim.existing.txid}`,
    );
  }
  if (direct)
    return broadcastAndTrack(context, tracker, examined, claim.record, { answerBy, lap }, signal);
  const claimedAt = claim.record.createdAt;

  // 3. Funds, now that the claim is in the ledger: two settles of one payer racing past step 1 each see the other here,
  // so together they can never take more than the payer holds.
  const short = fundsInFlightProblem(
    check,
    examined.state,
    claim.inFlight ?? (await ledger.inFlight(network.caip2, check.payer)),
  );
  lap('funds_check');
  if (short) {
    await ledger.release(check.txid, claimedAt);
    return failure(check.payer, network, short.reason, short.message);
  }
  // 4. A payment chained ahead of the payer's next nonce waits for the ones before it to reach the mempool.
  // Broadcast now, it could sit there and execute long after this request gave up, charging for nothing served.
  // A sponsored payment waits until every nonce below it is confirmed: behind a pending one, it would hold the sponsor's
  // nonce, and every later transaction of that sponsor key, for as long as the payer kept that one from being mined.
  const waits = check.sponsored || check.nonce > examined.state.nonce;
  const reached = waits
    ? await nonceReached(context, examined, answerBy, signal).catch(async (error) => {
        await ledger.release(check.txid, claimedAt);
        throw error;
      })
    : 'reached';
  if (waits) lap('nonce_wait');
  if (reached === 'busy') {
    await ledger.release(check.txid, claimedAt);
    return failure(
      check.payer,
      network,
      'nonce_wait_capacity_exhausted',
      `nonce ${check.nonce} waits for the payer's earlier nonces, and this facilitator holds as many waiting payments as it allows (this payer's fair share of them, or one for each payer waiting); retry once the payer's earlier payments are in the mempool (confirmed, for a sponsored payment)`,
    );
  }
  if (reached === 'cancelled') {
    await ledger.release(check.txid, claimedAt);
    return cancelled(check.payer, network, check.nonce);
  }
  if (reached !== 'reached') {
    await ledger.release(check.txid, claimedAt);
    return failure(
      check.payer,
      network,
      'invalid_exact_stacks_payload_nonce',
      reached === 'taken'
        ? `another transaction of the payer took nonce ${check.nonce} while this payment waited, so it was not broadcast`
        : check.sponsored
          ? `nonce ${check.nonce} did not become the payer's confirmed next nonce in time, and a sponsored payment goes out only there, so it was not broadcast`
          : `the payer's earlier nonces never reached the chain, so nonce ${check.nonce} was not broadcast`,
    );
  }

  // 4a. A sponsored payment that waited for the payer's earlier nonces to confirm is judged again on the payer's money
  // as it is now: one of those may have spent what step 3 counted on (a token transfer the node admits without looking
  // at the balance would then fail on chain, at the sponsor's cost). At the confirmed next nonce the read is exact.
  if (check.sponsored && examined.state.confirmedNonce < check.nonce) {
    const spent = await fundsAfterWait(context, examined).catch(async (error) => {
      await ledger.release(check.txid, claimedAt);
      throw error;
    });
    lap('funds_check');
    if (spent) {
      await ledger.release(check.txid, claimedAt);
      return failure(check.payer, network, spent.reason, spent.message);
    }
  }

  // 4b. Bind the payment's id to it, now that it is ours and fundable (a payment refused above binds nothing, so ids
  // cost a payment that passed every check): an id the payer bound to another payment within its window is refused,
  // and the claim given back, before anything is spent.
  if (paymentId !== undefined) {
    const bound = await bindToClaim(context, network.caip2, check.payer, paymentId, check.txid);
    lap('payment_id');
    if (!bound) {
      await ledger.release(check.txid, claimedAt);
      return conflictAnswer(check.payer, network, paymentId);
    }
  }

  // 5. Sponsor-sign a sponsored payment: the on-chain txid is the sponsored transaction's.
  let onChain = { txid: check.txid, transaction };
  if (check.sponsored) {
    const signed = await pool
      .sponsor(
        {
          paymentTxid: check.txid,
          claimedAt,
          payer: check.payer,
          transaction,
          byteLength: check.byteLength,
        },
        network,
        chain,
      )
      .catch(async (error) => {
        await ledger.release(check.txid, claimedAt);
        throw error;
      });
    lap('sponsor');
    if (!signed.ok) {
      await ledger.release(check.txid, claimedAt);
      return failure(check.payer, network, signed.reason, signed.message);
    }
    onChain = { txid: signed.txid, transaction: signed.transaction };
  }

  // 6. Write ahead: once marked broadcast, a restart tracks this transaction and never sends it again. If the guard
  // fails, the claim expired and another request took the payment over: sending now could settle it twice. A caller
  // that hung up by now gets nothing sent: it would charge the payer for a resource nobody serves.
  if (signal?.aborted) {
    await ledger.release(check.txid, claimedAt);
    return cancelled(check.payer, network, check.nonce);
  }
  // Only a sponsored payment changes its txid and bytes here; setting them unchanged would still make SQLite rewrite
  // the txid index's entry.
  const marked = await ledger.update(
    check.txid,
    check.sponsored
      ? { state: 'broadcast', txid: onChain.txid, transaction: onChain.transaction }
      : { state: 'broadcast' },
    ['claimed'],
    claimedAt,
  );
  lap('write_ahead');
  if (!marked) {
    const current = await ledger.get(check.txid);
    if (current) return duplicate(current);
    return failure(
      check.payer,
      network,
      'unexpected_settle_error',
      'the claim expired before broadcast; retry',
    );
  }

  return broadcastAndTrack(context, tracker, examined, marked, { answerBy, lap }, signal);
}

/**
 * Steps 7 and 8 for a payment marked broadcast: sends the marked bytes (the sponsored transaction, for a sponsored
 * payment) and follows them to the answer.
 */
async function broadcastAndTrack(
  context: FacilitatorContext,
  tracker: Tracker,
  examined: ExaminedPayment,
  marked: SettlementRecord,
  { answerBy, lap }: Pick<SettleTerms, 'answerBy' | 'lap'>,
  signal: AbortSignal | undefined,
): Promise<SettleResponse | 'sponsor_nonce_refused'> {
  const { check, network, chain } = examined;
  const answer = (outcome: SettleResponse) => answerOnce(context, marked, outcome, signal);
  // 7. Broadcast.
  let result: Awaited<ReturnType<typeof chain.broadcast>>;
  try {
    result = await chain.broadcast(marked.transaction);
  } catch (error) {
    if (error instanceof ChainRequestError && error.txid === undefined) {
      // The request provably never reached the node: forget the claim so the payment can be settled again.
      await context.ledger.release(check.txid, marked.createdAt);
      throw error;
    }
    // The node may hold it: never send other bytes, track these (the keeper re-sends them if the node lost them).
    lap('broadcast');
    const followed = await tracker.track(marked.txid, check.payer, network, chain, {
      record: marked,
      until: answerBy,
      answer,
    });
    lap('confirm');
    return followed;
  }
  if (!result.accepted) {
    // Whatever the payer's last settlement here left may be what misled this one (the payer spent the nonce
    // elsewhere): its next settlement reads the chain.
    context.chainState.forget(payerKey(examined));
    // The sponsor's nonce was at fault (spent by something else, or too far ahead): the payment itself is fine, so it
    // is claimed afresh.
    const sponsorsFault = await tracker.refused(marked, result, chain);
    // The refusal's judgement is the broadcast's: a payment sponsored afresh then reports its steps from the claim on.
    lap('broadcast');
    if (sponsorsFault) return 'sponsor_nonce_refused';
    return failure(
      check.payer,
      network,
      'broadcast_failed',
      `the node refused the transaction: ${result.reason}`,
      marked.txid,
    );
  }
  lap('broadcast');
  // The payer's chained payments waiting here may go out now, without waiting for their next round.
  context.nonceWatch.nudge(waitKey(network.caip2, check.payer));
  // 8. Track it to a final status, or answer settlement_pending; either answer is given once per payment. The node's
  // acceptance is the admission: the first status read waits for the tracker's next round, shared with every other
  // settlement being followed.
  const answered = await tracker.track(marked.txid, check.payer, network, chain, {
    record: marked,
    until: answerBy,
    answer,
  });
  lap('confirm');
  // What this payment leaves of the payer's state may judge the settlement of its next nonce without a read (only
  // when this call answered it: a duplicate's payer reads the chain again, which costs a read, never a wrong answer).
  if (answered.success) rememberSettled(context, examined);
  return answered;
}

/** The answer to a settle call whose caller hung up before its payment was sent: nothing was, and its claim is free. */
function cancelled(payer: string, network: StacksNetwork, nonce: bigint): SettleResponse {
  return failure(payer, network, 'settlement_cancelled', cancelledMessage(nonce));
}

function cancelledMessage(nonce: bigint): string {
  return `the settle call was cancelled before the payment at nonce ${nonce} was sent; nothing was sent`;
}

/** The key the payer's chain state is read under for this payment (as `readPayerState` reads it). */
function payerKey({ check, network }: ExaminedPayment): PayerKey {
  return {
    network: network.caip2,
    payer: check.payer,
    token: check.asset === 'STX' ? undefined : check.asset,
  };
}

function rememberSettled(context: FacilitatorContext, examined: ExaminedPayment) {
  const { check, state } = examined;
  const paysStx = check.asset === 'STX';
  context.chainState.settled(payerKey(examined), state, {
    nonce: check.nonce,
    stx: check.fee + (paysStx ? check.amount : 0n),
    token: paysStx ? 0n : check.amount,
  });
}

/**
 * Claims the payment with `claim` (`Ledger.claim`, or `Ledger.claimToSend` with its check); a claim or nonce held by
 * a settle that died before broadcasting is expired first.
 */
async function claimPayment(
  context: FacilitatorContext,
  examined: ExaminedPayment,
  resource: string | undefined,
  claim: (settlement: NewSettlement) => Promise<SendClaimResult<Refusal>>,
): Promise<SendClaimResult<Refusal>> {
  const { check } = examined;
  const settlement = {
    paymentTxid: check.txid,
    txid: check.txid,
    network: examined.network.caip2,
    payer: check.payer,
    nonce: check.nonce,
    amount: check.amount,
    asset: check.asset,
    payTo: examined.payTo,
    ...(resource === undefined ? {} : { resource }),
    transaction: examined.transaction,
    holder: context.processId,
  };
  const first = await claim(settlement);
  if (first.claimed || 'refused' in first || !(await expireAbandoned(context, first.existing))) {
    return first;
  }
  return claim(settlement);
}

/** Drops a claim whose holder died between claiming and broadcasting. */
async function expireAbandoned(
  context: FacilitatorContext,
  record: SettlementRecord,
): Promise<boolean> {
  const cutoff = abandonedBefore(context);
  if (record.state !== 'claimed' || record.updatedAt >= cutoff) return false;
  return (await context.ledger.expireClaim(record.paymentTxid, cutoff)) !== undefined;
}

/** The settlement that already holds this payload's transaction, unless it was abandoned (then it is expired). */
async function claimedAlready(
  context: FacilitatorContext,
  payloadInput: unknown,
): Promise<SettlementRecord | undefined> {
  const payload = parsePaymentPayload(payloadInput);
  const txid = payload.success ? signedTransactionIdOf(payload.data.payload) : undefined;
  if (!txid) return undefined;
  const existing = await context.ledger.get(txid);
  if (!existing || (await expireAbandoned(context, existing))) return undefined;
  return existing;
}

/**
 * Whether the payment's nonce is reached now, or else waits for it in the process's shared watch until `until`, and is
 * never judged reached after it: `reached`, `taken`, `timeout`, `busy` when the watch has no room, or `cancelled` when
 * `signal` aborts (the caller hung up) while it waits. A payment the payer pays the fee of needs the payer's next
 * possible nonce to reach its own. A sponsored payment asks more, since a refusal of its broadcast, or a wait behind a
 * transaction that is never mined, would cost the sponsor: its nonce must be the payer's confirmed next one and still
 * free ({@link sponsoredNonceState}), and when another transaction of the payer took it meanwhile the answer is `taken`
 * at once.
 */
async function nonceReached(
  context: FacilitatorContext,
  { chain, check, network }: ExaminedPayment,
  until: number,
  signal: AbortSignal | undefined,
): Promise<NonceWaitOutcome> {
  const judge = (nonces: AccountNonces): NonceStanding =>
    check.sponsored
      ? sponsoredNonceState(nonces, check.nonce)
      : nonces.possibleNext >= check.nonce
        ? 'reached'
        : 'waiting';
  const first = await judge(await chain.getNonces(check.payer));
  // A slow read (the chain client's retries) may end past the deadline: nothing is sent after it.
  if (context.now() >= until) return 'timeout';
  if (first !== 'waiting') return first;
  return context.nonceWatch.wait({
    chain,
    key: waitKey(network.caip2, check.payer),
    payer: check.payer,
    judge,
    nonce: check.nonce,
    until,
    ...(signal ? { signal } : {}),
  });
}

/**
 * Where a sponsored payment's nonce stands among the payer's nonces as the mempool sees them. It is reached only at the
 * payer's confirmed next nonce: any transaction pending below it, even one this facilitator sent, can be replaced by fee
 * with one that is never mined (too costly for a block, or its fee drained away), and the sponsored transaction would
 * hold its sponsor's nonce, and every later one of that key, behind it; or with one that drains the payer, and the
 * sponsor would pay for a payment that fails. A payer's chained sponsored payments so go out a block apart.
 */
function sponsoredNonceState(
  { confirmedNext, possibleNext, missing }: AccountNonces,
  nonce: bigint,
): NonceStanding {
  if (confirmedNext > nonce || possibleNext - 1n === nonce) return 'taken';
  if (possibleNext > nonce) {
    // Below the highest pending nonce it is held unless listed as a gap, and the Stacks API lists the gaps only once
    // the account has a confirmed transaction: before that, whether it is held is unknown until the chain moves.
    if (confirmedNext === 0n) return 'waiting';
    if (!missing.includes(nonce)) return 'taken';
  }
  return confirmedNext === nonce ? 'reached' : 'waiting';
}

/**
 * The funds check of step 3 again, on a fresh read of the payer's balance: what a sponsored payment that waited for
 * its nonce is sent on.
 */
async function fundsAfterWait(
  context: FacilitatorContext,
  examined: ExaminedPayment,
): Promise<Refusal | undefined> {
  const { check, chain, network } = examined;
  const state = await readPayerState(context, chain, payerKey(examined), 'settle', check);
  const balance = { stx: state.stx, ...(state.token === undefined ? {} : { token: state.token }) };
  const alone = checkChainState(check, { balance });
  if (!alone.isValid) return refuse(alone.invalidReason, alone.invalidMessage, check.payer);
  return fundsInFlightProblem(
    check,
    state,
    await context.ledger.inFlight(network.caip2, check.payer),
  );
}

/** Names one payer's waits in the process's nonce watch. */
function waitKey(network: string, payer: string): string {
  return `${network} ${payer}`;
}

function networkOf(input: unknown): string {
  try {
    return resolveNetwork(String((input as { network?: unknown })?.network)).caip2;
  } catch {
    return '';
  }
}
