/**
 * What other facilitator processes sharing a ledger write about a payment, each reading an API node of its own, as
 * their trackers write it: the tests put these writes where a real fleet's timing could.
 */
import assert from 'node:assert/strict';
import type { Ledger } from 'x402-stacks/facilitator';

/**
 * A drop another process's node reported for the broadcast payment `txid`: failed, `transaction_failed`, its nonces
 * given back. Asserts the settlement was still `broadcast`.
 * @example
 * ```ts
 * await writesDrop(ledger, txid);
 * ```
 */
export async function writesDrop(ledger: Ledger, txid: string): Promise<void> {
  const claim = await ledger.get(txid);
  const dropped = {
    state: 'failed',
    errorReason: 'transaction_failed',
    errorMessage: 'dropped_stale_garbage_collect',
    releaseNonce: true,
  } as const;
  assert.ok(await ledger.update(txid, dropped, ['broadcast'], claim?.createdAt), 'still broadcast');
}

/**
 * The success another process's read of the block found after the drop was written: the drop found mined.
 * @example
 * ```ts
 * await writesMinedAfterDrop(ledger, txid);
 * ```
 */
export async function writesMinedAfterDrop(ledger: Ledger, txid: string): Promise<void> {
  const claim = await ledger.get(txid);
  const mined = { state: 'success', clearErrorReason: true } as const;
  assert.ok(await ledger.update(txid, mined, ['failed'], claim?.createdAt), 'a drop');
}
