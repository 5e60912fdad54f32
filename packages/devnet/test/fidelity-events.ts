/**
 * Events in one shape for both sides of a fidelity test: the devnet's Hiro-style events and Clarinet simnet's
 * `ParsedTransactionResult` events map to the same comparable records (asset transfers, and prints as their hex).
 */
import type { ParsedTransactionResult } from '@stacks/clarinet-sdk';
import type { TransactionEvent } from '../src/index.js';

/** An asset or print event in a shape both sides can be mapped to. */
export type ComparableEvent =
  | { kind: 'stx' | 'ft'; asset?: string; sender: string; recipient: string; amount: string }
  | { kind: 'print'; contract: string; hex: string };

export function fromDevnetEvent(event: TransactionEvent): ComparableEvent {
  switch (event.event_type) {
    case 'stx_asset':
      return { kind: 'stx', ...pick(event.asset) };
    case 'fungible_token_asset':
      return { kind: 'ft', asset: event.asset.asset_id, ...pick(event.asset) };
    case 'smart_contract_log':
      return {
        kind: 'print',
        contract: event.contract_log.contract_id,
        hex: event.contract_log.value.hex,
      };
  }
}

export function fromSimnetEvent({
  event,
  data,
}: ParsedTransactionResult['events'][number]): ComparableEvent {
  const text = (key: string) => String(data[key]);
  switch (event) {
    case 'stx_transfer_event':
      return {
        kind: 'stx',
        ...pick({ sender: text('sender'), recipient: text('recipient'), amount: text('amount') }),
      };
    case 'ft_transfer_event':
      return {
        kind: 'ft',
        asset: text('asset_identifier'),
        ...pick({ sender: text('sender'), recipient: text('recipient'), amount: text('amount') }),
      };
    case 'print_event':
      return { kind: 'print', contract: text('contract_identifier'), hex: text('raw_value') };
    default:
      throw new Error(`unexpected simnet event ${event}`);
  }
}

function pick(asset: { sender: string; recipient: string; amount: string }) {
  return { sender: asset.sender, recipient: asset.recipient, amount: asset.amount };
}
