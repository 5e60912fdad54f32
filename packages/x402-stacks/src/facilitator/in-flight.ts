/**
 * Money a payer already has in flight at this facilitator. Each payment is checked against the confirmed balance, so
 * without this a payer holding enough for one payment could have several accepted, and every one after the first
 * would fail on chain, at the sponsor's expense when sponsored.
 * @module
 */
import type { SettlementRecord } from './ledger.js';

/** What a payer's unfinished settlements will take from its confirmed balances. */
export type InFlightTotals = {
  readonly stx: bigint;
  /** By asset (`'<contract id>::<asset name>'`). */
  readonly tokens: ReadonlyMap<string, bigint>;
};

/**
 * Adds up the amounts of a payer's settlements in flight, leaving out `except` (the payment being checked) and those
 * whose nonce is below the payer's confirmed nonce: they are mined, so the confirmed balance counts them already.
 * @example
 * ```ts
 * const totals = inFlightTotals(await ledger.inFlight(network, payer), state.confirmedNonce, txid);
 * const spendable = state.stx - totals.stx;
 * ```
 */
export function inFlightTotals(
  records: readonly SettlementRecord[],
  confirmedNonce: bigint,
  except: string,
): InFlightTotals {
  let stx = 0n;
  const tokens = new Map<string, bigint>();
  for (const record of records) {
    if (record.paymentTxid === except || record.nonce < confirmedNonce) continue;
    if (record.asset === 'STX') stx += record.amount;
    else tokens.set(record.asset, (tokens.get(record.asset) ?? 0n) + record.amount);
  }
  return { stx, tokens };
}
