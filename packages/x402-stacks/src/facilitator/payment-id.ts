/**
 * The facilitator's side of the `payment-identifier` extension. An id is scoped to the payer that signed the payment
 * (read from the transaction, so nobody can take another payer's ids) and binds to one payment when that payment is
 * claimed. A retry of the same payment under the same id is answered with the stored outcome, within a window and a
 * number of replays counted in the ledger; the same id on another payment is refused.
 * @module
 */
import { paymentIdOf } from '../extensions/payment-identifier/index.js';
import type { SettleResponse } from '../protocol/v2.js';
import type { StacksNetwork, StacksNetworkId } from '../stacks/networks.js';
import type { FacilitatorContext, NetworkChain } from './context.js';
import type { SettlementRecord } from './ledger.js';
import { failedBefore, failure, type Refusal, refuse, success } from './outcomes.js';
import { parsePaymentPayload } from './parsed-payment.js';
import type { Tracker } from './track.js';

/** The id a payment payload names: none (or the extension is off here), the id, or why it cannot be read. */
export type NamedPaymentId = { readonly ok: true; readonly id: string | undefined } | Refusal;

/**
 * Reads the id of a payment payload when this facilitator takes part in the extension. A payload that fails its own
 * schema names no id here: the verify step refuses it with its own reason.
 * @example
 * ```ts
 * const named = paymentIdNamed(context, payload);
 * if (!named.ok) return invalid(named);
 * ```
 */
export function paymentIdNamed(context: FacilitatorContext, payloadInput: unknown): NamedPaymentId {
  if (!context.paymentIds) return { ok: true, id: undefined };
  const payload = parsePaymentPayload(payloadInput);
  if (!payload.success) return { ok: true, id: undefined };
  const of = paymentIdOf(payload.data.extensions ?? undefined);
  return of.ok ? of : refuse(of.reason, of.message);
}

/**
 * Whether the id already names another payment of this payer (a verify answers the conflict before any settle).
 * @example
 * ```ts
 * if (await namesAnotherPayment(context, network, payer, id, txid)) return invalid(conflict(...));
 * ```
 */
export async function namesAnotherPayment(
  context: FacilitatorContext,
  network: StacksNetworkId,
  payer: string,
  id: string,
  paymentTxid: string,
): Promise<boolean> {
  const settings = context.paymentIds;
  if (!settings) return false;
  const bound = await settings.ledger.paymentIdBinding({ network, payer, id });
  return (
    bound !== undefined &&
    bound.boundAt > context.now() - settings.windowMs &&
    bound.paymentTxid !== normalize(paymentTxid)
  );
}

/**
 * Whether the id is the one bound to this payment when it was claimed. Only the buyer (and the seller it sent it to)
 * knows it: it travels in the payment header, never on chain, so a stranger who copies the payment's bytes from the
 * mempool or a block cannot name it.
 * @example
 * ```ts
 * if (id !== undefined && (await namesThisPayment(context, record, id))) promote();
 * ```
 */
export async function namesThisPayment(
  context: FacilitatorContext,
  record: SettlementRecord,
  id: string,
): Promise<boolean> {
  const settings = context.paymentIds;
  if (!settings) return false;
  const bound = await settings.ledger.paymentIdBinding({
    network: record.network,
    payer: record.payer,
    id,
  });
  return bound !== undefined && bound.paymentTxid === normalize(record.paymentTxid);
}

/**
 * Binds the id to the payment just claimed. False when the id names another payment of the payer within its window:
 * the caller releases its claim and answers {@link conflictAnswer}.
 * @example
 * ```ts
 * if (!(await bindToClaim(context, network, payer, id, txid))) return conflictAnswer(payer, network, id);
 * ```
 */
export async function bindToClaim(
  context: FacilitatorContext,
  network: StacksNetworkId,
  payer: string,
  id: string,
  paymentTxid: string,
): Promise<boolean> {
  const settings = context.paymentIds;
  if (!settings) return true;
  const bound = await settings.ledger.bindPaymentId(
    { network, payer, id },
    paymentTxid,
    context.now(),
    settings.windowMs,
  );
  return bound.paymentTxid === normalize(paymentTxid);
}

/**
 * The refusal of an id that names another payment of the same payer (the spec's 409 Conflict).
 * @example
 * ```ts
 * return conflictAnswer(payer, network, id);
 * ```
 */
export function conflictAnswer(
  payer: string,
  network: StacksNetwork | string,
  id: string,
): SettleResponse {
  return failure(payer, network, 'payment_identifier_conflict', conflictMessage(id));
}

/**
 * The refusal a verify gives for the same conflict.
 * @example
 * ```ts
 * return invalid(conflictRefusal(payer, id));
 * ```
 */
export function conflictRefusal(payer: string, id: string): Refusal {
  return refuse('payment_identifier_conflict', conflictMessage(id), payer);
}

/**
 * Answers a retry of a payment whose first settle call already answered, when the retry names it with the id bound
 * to it within the id's window: the failure again, the status of a broadcast still pending (neither serves anything,
 * so neither is counted), or the success, counted against the id's replays. Undefined when the id gives no answer
 * (unbound, lapsed, or its replays used up): the caller answers `duplicate_settlement` as for any retry.
 * `firstServe` is asked first when a broadcast answered pending turns out confirmed here: the payment's first serve
 * is that turn of its answer (`Ledger.promoteAnswer`), not a replay of the id.
 * @example
 * ```ts
 * const again = await answerAgain(context, tracker, record, id, connection, promote);
 * if (again) return again;
 * ```
 */
export async function answerAgain(
  context: FacilitatorContext,
  tracker: Tracker,
  record: SettlementRecord,
  id: string,
  connection: NetworkChain,
  firstServe?: () => Promise<SettleResponse | undefined>,
): Promise<SettleResponse | undefined> {
  const settings = context.paymentIds;
  if (!settings) return undefined;
  const key = { network: record.network, payer: record.payer, id };
  const bound = await settings.ledger.paymentIdBinding(key);
  if (
    bound?.paymentTxid !== normalize(record.paymentTxid) ||
    bound.boundAt <= context.now() - settings.windowMs
  ) {
    return undefined;
  }
  if (record.state === 'failed') return failedBefore(record);
  if (record.state !== 'success' && record.state !== 'broadcast') return undefined;
  // Broadcast and answered pending before: the chain says how it stands now (a success serves this retry).
  const outcome =
    record.state === 'success'
      ? success(record.txid, record.payer, connection.network)
      : await tracker.track(record.txid, record.payer, connection.network, connection.chain, {
          record: record,
        });
  if (!outcome.success) return outcome;
  if (record.state === 'broadcast' && firstServe) {
    const first = await firstServe();
    if (first) return first;
  }
  const replay = await settings.ledger.replayPaymentId(
    key,
    record.paymentTxid,
    context.now(),
    settings.windowMs,
    settings.maxReplays,
  );
  return replay === 'replayed' ? outcome : undefined;
}

function conflictMessage(id: string): string {
  return `payment id ${id} already names another payment of this payer; use a new id for a new payment`;
}

function normalize(txid: string): string {
  return (txid.startsWith('0x') ? txid.slice(2) : txid).toLowerCase();
}
