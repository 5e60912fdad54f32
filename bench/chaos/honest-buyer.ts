/**
 * An honest buyer: one request at a time, each paid by a sponsored payment at the payer's next nonce, with a unique
 * amount so the audit can find its transfer on chain. What it does with each answer is what a resource server built
 * on this library does, plus the retry a real buyer makes after a timeout:
 * - success: served;
 * - no answer (process killed, connection refused, deadline, 5xx): the same signed bytes again, to any process;
 * - settlement_pending: follows GET /settlements/:txid, bounded; on success there, the same bytes again, served only
 *   if that settle answers success (the facilitator gives it once per payment);
 * - sponsor_capacity_exhausted, unexpected_settle_error: the same bytes again after a pause (nothing was sent);
 * - transaction_failed, broadcast_failed, nonce refusals: the payment provably did not move money (dropped, refused),
 *   so after a pause a new payment is signed for the same request at the chain's next nonce, same amount;
 * - duplicate_settlement and any other refusal: final, the request is not served (the library's server answers 402).
 */
import type { StacksAccount } from 'x402-stacks';
import { type Asset, type SignedPayment, signPayment, sponsoredRequirements } from './payments.js';
import type { RunContext } from './run-context.js';
import { settleVia, statusVia } from './settle-client.js';
import { sleep } from './stop-signal.js';

/** A buyer waits this long for one settle answer: longer than the service's SETTLE_TIMEOUT_MS. */
const SETTLE_DEADLINE_MS = 20_000;
/** One request gets at most this many settle calls and this much time, whatever happens. */
const MAX_CALLS_PER_REQUEST = 10;
const REQUEST_BUDGET_MS = 45_000;
/** Following settlement_pending: a look every 500 ms for at most 30 s. */
const FOLLOW_LOOKS = 60;
const FOLLOW_INTERVAL_MS = 500;
/** No buyer makes more requests than this in one run, however fast the chain is. */
const MAX_REQUESTS_PER_BUYER = 2_000;

const SAME_BYTES_AGAIN = new Set(['sponsor_capacity_exhausted', 'unexpected_settle_error']);
const SIGN_AGAIN = new Set([
  'transaction_failed',
  'broadcast_failed',
  'invalid_exact_stacks_payload_nonce',
  'invalid_exact_stacks_payload_nonce_reused',
]);

/** One request of an honest buyer and everything that happened to it. */
export type HonestRequest = {
  readonly id: number;
  readonly payer: string;
  readonly asset: Asset;
  readonly amount: bigint;
  /** Each payment signed for this request, with the answers it got, in order. */
  readonly payments: { paymentTxid: string; nonce: bigint; answers: string[] }[];
  /** Success answers (from settle or from following pending): more than one is a double payment. */
  successes: number;
  /** How the request ended: `served`, or why not. */
  outcome: string;
};

export type RequestIds = { next(): number };

export async function runHonestBuyer(
  context: RunContext,
  account: StacksAccount,
  asset: Asset,
  ids: RequestIds,
  requests: HonestRequest[],
): Promise<void> {
  for (let made = 0; made < MAX_REQUESTS_PER_BUYER && !context.stop.stopped; made++) {
    const id = ids.next();
    // Unique per run: the request's transfer is the one on chain with this payer, asset and amount.
    const amount = asset === 'STX' ? 1_000n + BigInt(id) : 100n + BigInt(id);
    const request: HonestRequest = {
      id,
      payer: account.address,
      asset,
      amount,
      payments: [],
      successes: 0,
      outcome: 'unfinished',
    };
    requests.push(request);
    await pay(context, account, request);
  }
}

async function pay(context: RunContext, account: StacksAccount, request: HonestRequest) {
  const requirements = sponsoredRequirements(
    request.asset,
    request.amount,
    context.seller,
    context.namedSponsor,
  );
  const sign = async (): Promise<SignedPayment> => {
    // What a wallet reads from /extended/v1/address/:principal/nonces, read in process.
    const nonce = context.devnet.chain.nonces(account.address).possibleNext;
    const signed = await signPayment(account, requirements, nonce);
    request.payments.push({ paymentTxid: signed.paymentTxid, nonce, answers: [] });
    return signed;
  };
  let payment = await sign();
  const note = (answer: string) => request.payments.at(-1)!.answers.push(answer);
  const deadline = Date.now() + REQUEST_BUDGET_MS;
  for (let call = 0; call < MAX_CALLS_PER_REQUEST; call++) {
    if (Date.now() > deadline) {
      request.outcome = 'gave up: request budget spent';
      return;
    }
    const outcome = await settleVia(context, payment.body, SETTLE_DEADLINE_MS);
    if (outcome.kind === 'no-answer') {
      note(outcome.why);
      await sleep(300 + context.random.next() * 300);
      continue;
    }
    const { answer } = outcome;
    note(answer.success ? 'success' : (answer.errorReason ?? 'failure'));
    if (answer.success) {
      request.successes++;
      request.outcome = 'served';
      return;
    }
    let reason = answer.errorReason ?? '';
    if (reason === 'settlement_pending') {
      const followed = await follow(context, answer.transaction);
      note(`status ${followed}`);
      // As the library's seller does: a status serves nothing by itself; the same settle again is answered success
      // for one request only.
      if (followed === 'success') continue;
      if (followed !== 'failed') {
        request.outcome = 'gave up: still pending';
        return;
      }
      reason = 'transaction_failed';
    }
    if (SAME_BYTES_AGAIN.has(reason)) {
      await sleep(500 + context.random.next() * 500);
      continue;
    }
    if (SIGN_AGAIN.has(reason)) {
      // A pause first: the nonce may still be held by a claim a killed process left behind until its lease ends.
      await sleep(500 + context.random.next() * 500);
      payment = await sign();
      continue;
    }
    request.outcome = `refused: ${reason}`;
    return;
  }
  request.outcome = 'gave up: too many calls';
}

async function follow(context: RunContext, txid: string): Promise<string> {
  let last = 'unknown';
  for (let look = 0; look < FOLLOW_LOOKS; look++) {
    await sleep(FOLLOW_INTERVAL_MS);
    const status = await statusVia(context, txid, 5_000);
    if (!status) continue;
    last = status.state;
    if (last === 'success' || last === 'failed') return last;
  }
  return last;
}
