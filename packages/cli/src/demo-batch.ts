/**
 * The demo's last step: 100 paid requests over one batch-settlement channel. A buyer pays the example seller's
 * `/api/quote` through `wrapFetchWithPayment` with a deposit cap of 100 calls; the first request deposits, the other
 * 99 carry vouchers, and the facilitator claims the channel and sweeps it to the seller once the channel has been idle
 * `BATCH_CLAIM_MAX_AGE_MS`. The transactions are counted from the devnet's blocks, not taken from anyone's word.
 * @module
 */
import type { Devnet } from '@x402-stacks/devnet';
import { BATCH_SETTLEMENT } from 'x402-stacks/batch';
import { getPaymentReceipt, wrapFetchWithPayment } from 'x402-stacks/fetch';
import type { Io } from './io.js';

/** How many requests the channel pays for. */
export const DEMO_BATCH_REQUESTS = 100;
/** The price of the example seller's `/api/quote`, micro-STX. */
const QUOTE_PRICE = 100n;
/** The longest the demo waits for the claim and the sweep to be mined. */
const SETTLE_WAIT_MS = 60_000;

/** The devnet wallets the batch step uses; none of them is used by the rest of the demo. */
type BatchRoles = {
  readonly payer: Devnet['accounts'][number];
  readonly seller: string;
  /** The accounts that pay the fees: the facilitator's sponsor and its receiver-authorizer. */
  readonly feePayers: readonly string[];
};

/**
 * Pays `/api/quote` 100 times over one channel and prints what went on chain. Resolves true when every request was
 * paid through the channel, the seller received exactly the charges, and at most three transactions were mined.
 * @example
 * ```ts
 * const ok = await payOverOneChannel(io, devnet, `${sellerUrl}/api/quote`, roles);
 * ```
 */
export async function payOverOneChannel(
  io: Io,
  devnet: Devnet,
  resource: string,
  roles: BatchRoles,
): Promise<boolean> {
  const balances = () =>
    [roles.payer.address, roles.seller, ...roles.feePayers].map((address) =>
      devnet.chain.state.stx(address),
    );
  const before = balances();
  const startHeight = devnet.chain.height;
  const pay = wrapFetchWithPayment(fetch, roles.payer.account, {
    apiUrl: devnet.url,
    batch: {
      depositCap: { STX: BigInt(DEMO_BATCH_REQUESTS) * QUOTE_PRICE },
      escrows: ['ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow'],
    },
  });

  const started = performance.now();
  let charged = 0n;
  let vouchers = 0;
  let depositMs = 0;
  for (let i = 0; i < DEMO_BATCH_REQUESTS; i++) {
    const response = await pay(resource);
    const receipt = getPaymentReceipt(response);
    await response.arrayBuffer();
    if (response.status !== 200 || receipt?.requirements.scheme !== BATCH_SETTLEMENT) {
      io.err(
        `  request ${i + 1} was not paid over the channel (${response.status}, ${receipt?.requirements.scheme ?? 'no receipt'})`,
      );
      return false;
    }
    charged += receipt.batch?.chargedAmount ?? 0n;
    if (receipt.batch?.type === 'voucher') vouchers++;
    if (i === 0) depositMs = performance.now() - started;
  }
  const paidMs = performance.now() - started;
  io.out(
    `  ${DEMO_BATCH_REQUESTS} paid requests in ${(paidMs / 1000).toFixed(1)} s: ` +
      `1 deposit (${(depositMs / 1000).toFixed(1)} s, it waits for its block), then ${vouchers} vouchers ` +
      `(${((paidMs - depositMs) / Math.max(vouchers, 1)).toFixed(1)} ms each, nothing on chain)`,
  );

  // The facilitator claims once the channel has been idle; the seller is paid when the sweep after the claim is mined.
  const sellerBefore = before[1]!;
  const deadline = Date.now() + SETTLE_WAIT_MS;
  while (
    (devnet.chain.state.stx(roles.seller) < sellerBefore + charged ||
      devnet.chain.mempool.length > 0) &&
    Date.now() < deadline
  ) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const settledMs = performance.now() - started;
  const txids: string[] = [];
  for (let height = startHeight + 1; height <= devnet.chain.height; height++)
    txids.push(...(devnet.chain.block(height)?.txids ?? []));
  const kinds = await Promise.all(txids.map((txid) => escrowFunction(devnet.url, txid)));
  const after = balances();
  const change = (index: number) => after[index]! - before[index]!;
  const fees = roles.feePayers.reduce((sum, _, index) => sum - change(2 + index), 0n);

  io.out(
    `  on chain: ${txids.length} transactions (${kinds.join(', ')}) for ${DEMO_BATCH_REQUESTS} paid requests`,
  );
  for (const [index, txid] of txids.entries()) io.out(`    ${kinds[index]!.padEnd(8)} 0x${txid}`);
  io.out(`  seller   ${signed(change(1))} micro-STX (the sum of the charges: ${charged})`);
  io.out(`  payer    ${signed(change(0))} micro-STX (no fee: the deposit was sponsored)`);
  io.out(
    `  fees     ${fees} micro-STX in all, paid by the facilitator's sponsor and authorizer keys`,
  );
  io.out(
    `  time     ${(settledMs / 1000).toFixed(1)} s from the first request to the seller's balance`,
  );
  return (
    vouchers === DEMO_BATCH_REQUESTS - 1 &&
    change(1) === charged &&
    change(0) === -charged &&
    txids.length <= 3
  );
}

/** `deposit`, `claim`, `settle`…: the escrow function a transaction called, from the devnet's API. */
async function escrowFunction(devnetUrl: string, txid: string): Promise<string> {
  const found = (await (await fetch(`${devnetUrl}/extended/v1/tx/0x${txid}`)).json()) as {
    contract_call?: { function_name?: string };
    tx_type?: string;
  };
  return found.contract_call?.function_name ?? found.tx_type ?? 'unknown';
}

const signed = (amount: bigint) => (amount > 0n ? `+${amount}` : String(amount));
