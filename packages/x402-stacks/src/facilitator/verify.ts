/**
 * Verification, as numbered steps: everything that can be known about a payment without moving it. `verify` answers
 * with it; `settle` runs it again before it claims anything, on chain state read for it or shared where that is safe
 * for money. Read-only.
 * @module
 */
import type { ChainClient } from '../chain/client.js';
import type { PaymentRequirements } from '../protocol/v2.js';
import { assetKey, isSameAsset, type ResolveAssetOptions } from '../stacks/assets.js';
import { resolveNetwork, type StacksNetwork } from '../stacks/networks.js';
import { checkChainState, type ValidPaymentCheck } from '../stacks/payment/check.js';
import { signedTransactionOf } from '../stacks/payment/signed-transaction.js';
import { isTermsProblem, resolvePaymentTerms } from '../stacks/payment/terms.js';
import type { PayerChainState } from './chain-state.js';
import type { FacilitatorContext } from './context.js';
import { inFlightTotals } from './in-flight.js';
import type { SettlementRecord } from './ledger.js';
import { type Refusal, refuse } from './outcomes.js';
import { parsePaymentPayload, parsePaymentRequirements } from './parsed-payment.js';
import type { SponsorPool } from './sponsor-pool.js';

/** A payment that passed every step, with what settling it needs. */
export type ExaminedPayment = {
  readonly ok: true;
  readonly check: ValidPaymentCheck;
  readonly transaction: string;
  readonly payTo: string;
  readonly network: StacksNetwork;
  readonly chain: ChainClient;
  /** The payer's chain state as step 7 read it. */
  readonly state: PayerChainState;
};

/**
 * Who examines: `verify` answers with every step; `settle` claims right after, atomically, so it leaves the ledger
 * steps (7 and 9) to the claim and to the funds check that follows it, and shares chain reads only where safe.
 */
export type Examiner = 'verify' | 'settle';

/**
 * Steps 1–9 of verification.
 * @example
 * ```ts
 * const examined = await examinePayment(context, pool, payload, requirements, 'verify');
 * if (!examined.ok) return invalid(examined);
 * ```
 */
export async function examinePayment(
  context: FacilitatorContext,
  pool: SponsorPool,
  payloadInput: unknown,
  requirementsInput: unknown,
  examiner: Examiner,
): Promise<ExaminedPayment | Refusal> {
  // 1. Shapes.
  const payload = parsePaymentPayload(payloadInput);
  if (!payload.success)
    return refuse('invalid_payload', 'the payment payload does not match the x402 v2 schema');
  const requirements = parsePaymentRequirements(requirementsInput);
  if (!requirements.success) {
    return refuse(
      'invalid_payment_requirements',
      'the requirements do not match the x402 v2 schema',
    );
  }
  // 2. Scheme and network.
  if (requirements.data.scheme !== 'exact')
    return refuse('unsupported_scheme', 'only the exact scheme is supported');
  const terms = resolvePaymentTerms(requirements.data, context.checkOptions.tokens);
  if (isTermsProblem(terms)) return refuse(terms.reason, terms.message);
  const connection = context.chains.get(terms.network.caip2);
  if (!connection)
    return refuse('invalid_network', `this facilitator does not serve ${terms.network.caip2}`);
  // 3. The payment accepts exactly these requirements.
  const mismatch = acceptedMismatch(
    payload.data.accepted,
    requirements.data,
    terms.network,
    context.checkOptions.tokens,
  );
  if (mismatch) return refuse('invalid_payment_requirements', mismatch);
  // 4. The signed transaction.
  const transaction = signedTransactionOf(payload.data.payload);
  if (!transaction) {
    return refuse(
      'invalid_exact_stacks_payload_transaction',
      'payload.transaction must be the signed transaction hex',
    );
  }
  // 5. Everything that needs no chain state, before spending any request on the node; the same payment against the
  // same requirements was likely checked moments ago (verify, then settle), and the answer cannot have changed.
  const offline = context.offlineCheck(transaction, requirements.data, terms);
  if (!offline.isValid) return refuse(offline.invalidReason, offline.invalidMessage, offline.payer);
  // 6. Sponsorship: one of this facilitator's keys, for a payTo it sponsors.
  if (offline.sponsored) {
    const problem = pool.refusesToSponsor(terms.network, terms.sponsor, terms.payTo.principal);
    if (problem) return refuse(problem.reason, problem.message, offline.payer);
  }
  // 7. Replay: a transaction this facilitator already settled. The same read brings the payer's settlements in
  // flight, for step 9. Settle asked the ledger about this txid just before, and its claim is the atomic replay
  // check: it skips this read.
  const known =
    examiner === 'verify'
      ? await context.ledger.lookup(offline.txid, terms.network.caip2, offline.payer)
      : undefined;
  if (known?.settled) {
    return refuse(
      'invalid_exact_stacks_payload_txid_reused',
      'this transaction was already settled',
      offline.payer,
    );
  }
  // 8. Chain state: the next nonce and the balances, and the transaction against them.
  const { chain } = connection;
  const token = terms.asset.kind === 'sip010' ? assetKey(terms.asset) : undefined;
  const key = { network: terms.network.caip2, payer: offline.payer, token };
  const state = await readPayerState(context, chain, key, examiner, offline);
  const check = checkChainState(offline, {
    expectedNonce: state.nonce,
    maxNonceAhead: context.maxNonceAhead,
    balance: { stx: state.stx, ...(state.token === undefined ? {} : { token: state.token }) },
  });
  if (!check.isValid) return refuse(check.invalidReason, check.invalidMessage, check.payer);
  // 9. This payer's settlements in flight here: another transaction holding the nonce, and the balances they take.
  // Settle's claim refuses a held nonce with the same reason, and its funds check after the claim counts every
  // settlement in flight, its own racing ones included.
  if (known) {
    const { inFlight } = known;
    const holder = inFlight.find(
      (r) => r.nonce === offline.nonce && r.paymentTxid !== offline.txid,
    );
    if (holder) {
      return refuse(
        'invalid_exact_stacks_payload_nonce_reused',
        `nonce ${offline.nonce} is already claimed by transaction ${holder.txid}`,
        offline.payer,
      );
    }
    const short = fundsInFlightProblem(offline, state, inFlight);
    if (short) return short;
  }
  return {
    ok: true,
    check: offline,
    transaction,
    payTo: terms.payTo.principal,
    network: terms.network,
    chain,
    state,
  };
}

/**
 * The payer's chain state for judging a payment: verify takes a shared read. A settlement the payer pays its own fee
 * for takes one only where `settleMayShare` says so, and otherwise reads for itself, skipping the mempool read where
 * it may (see chain-state.ts). A sponsored settlement always reads afresh, mempool included: judged on an older read
 * (a verify's, cached), or with the mempool unread, a payer whose own transaction is pending at the payment's nonce
 * would have each of its payments claimed, given a sponsor nonce and broadcast, only for the node to refuse it, leaving
 * a gap in the sponsor's nonces that delays every honest sponsored payment behind it.
 * @example
 * ```ts
 * const state = await readPayerState(context, chain, { network, payer, token: undefined }, 'settle', {
 *   nonce: 4n,
 *   sponsored: false,
 * });
 * ```
 */
export async function readPayerState(
  context: FacilitatorContext,
  chain: ChainClient,
  key: { network: string; payer: string; token: string | undefined },
  examiner: Examiner,
  payment: { readonly nonce: bigint; readonly sponsored: boolean },
): Promise<PayerChainState> {
  if (examiner === 'verify') return (await context.chainState.read(chain, key, true)).state;
  if (payment.sponsored) return (await context.chainState.read(chain, key, false)).state;
  const first = await context.chainState.read(chain, key, true, payment.nonce);
  if (!first.shared || settleMayShare(first.state, payment.nonce)) return first.state;
  return (await context.chainState.read(chain, key, false, payment.nonce)).state;
}

/**
 * Whether settle may judge a payment the payer pays the fee of on a read of the payer's state that was not made for it:
 * one still in flight for another caller, a recent one (a verify of the same payer moments before), or the state a
 * settlement of the payer's previous nonce left when it succeeded here (chain-state.ts). Only when that read saw
 * nothing of the payer pending (next possible nonce = confirmed nonce) and the payment takes exactly that nonce:
 * - Nonce: confirmed nonces only grow, so the payment's nonce can never have become ahead of the chain (the case that
 *   must wait for earlier nonces, step 4 of settle). If the payer used it meanwhile, the node refuses the broadcast
 *   (`BadNonce`, `ConflictingNonceInMempool`): nothing is served and nothing charged, and the facilitator spent a
 *   claim and a broadcast, no sponsor nonce (sponsored payments never share a read).
 * - Balance: if the node admits the payment at that nonce, no transaction of the payer was mined since the read (any
 *   would have spent this very nonce first), so nothing the payer signed has lowered the balance read; incoming
 *   transfers only raise it. Other payments of the payer in flight here are not taken from the read at all: the
 *   funds check after the claim counts them from the ledger, where the claim has made every racing settle visible.
 *   What lowers a balance without the payer's nonce (a stacking pool locking delegated STX, an operation sent on
 *   Bitcoin) can make the payment fail on chain: at the payer's own fee, and nothing is served.
 * - A read that saw pending transactions says less (a mempool eviction can lower the next possible nonce, and the
 *   payment could be broadcast ahead of a gap): settle reads anew then.
 * @example
 * ```ts
 * settleMayShare({ nonce: 4n, confirmedNonce: 4n, stx: 10n, token: undefined }, 4n); // true
 * ```
 */
export function settleMayShare(state: PayerChainState, paymentNonce: bigint): boolean {
  return state.nonce === state.confirmedNonce && paymentNonce === state.confirmedNonce;
}

/**
 * Whether the payer's confirmed balances cover this payment together with its other payments in flight here.
 * @returns the refusal, or undefined when they do.
 */
export function fundsInFlightProblem(
  check: ValidPaymentCheck,
  state: PayerChainState,
  inFlight: readonly SettlementRecord[],
): Refusal | undefined {
  const totals = inFlightTotals(inFlight, state.confirmedNonce, check.txid);
  const tokenInFlight = totals.tokens.get(check.asset) ?? 0n;
  if (totals.stx === 0n && tokenInFlight === 0n) return undefined;
  const left = (balance: bigint, spent: bigint) => (balance > spent ? balance - spent : 0n);
  const balance = {
    stx: left(state.stx, totals.stx),
    ...(state.token === undefined ? {} : { token: left(state.token, tokenInFlight) }),
  };
  const verdict = checkChainState(check, { balance });
  if (verdict.isValid) return undefined;
  const held = check.asset === 'STX' ? totals.stx : tokenInFlight;
  return refuse(
    'insufficient_funds_in_flight',
    `${verdict.invalidMessage}, counting ${held} already in flight at this facilitator`,
    check.payer,
  );
}

function acceptedMismatch(
  accepted: PaymentRequirements,
  requirements: PaymentRequirements,
  network: StacksNetwork,
  tokens: ResolveAssetOptions | undefined,
): string | undefined {
  if (accepted.scheme !== requirements.scheme) return 'the payment accepts another scheme';
  try {
    if (resolveNetwork(accepted.network, { payTo: accepted.payTo }).caip2 !== network.caip2) {
      return 'the payment accepts another network';
    }
    // With the operator's overrides: 'sBTC' in `accepted` names the configured contract, as in the requirements.
    if (!isSameAsset(accepted.asset, requirements.asset, network, tokens))
      return 'the payment accepts another asset';
  } catch {
    return 'the payment accepts a network or asset this facilitator cannot read';
  }
  if (accepted.amount !== requirements.amount) return 'the payment accepts another amount';
  if (accepted.payTo !== requirements.payTo) return 'the payment accepts another payTo';
  return undefined;
}
