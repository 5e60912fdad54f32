/**
 * The claim scheduler and withdrawal watcher: each keeper round, per network, the channels charged beyond what was
 * claimed are read from the escrow, and their vouchers are claimed in one transaction (up to 100 rows) when there are
 * enough of them, enough value, an old enough one, or a payer who started a withdrawal (claimed before its delay
 * ends). Then what was claimed is swept to each receiver with `settle`, including what an earlier claim took on chain that
 * the ledger never saw confirm (its process killed before the sweep). Under the ledger lease
 * `batch-authorizer:<network>`, so one process sends at a time. A claim sent twice is harmless: the escrow ignores a
 * row at or below what is already claimed.
 * @module
 */
import { Cl } from '@stacks/transactions';
import { readEscrowChannel } from '../../batch/escrow-reads.js';
import type { ChainClient } from '../../chain/client.js';
import { fromHex } from '../../stacks/bytes.js';
import type { StacksNetwork } from '../../stacks/networks.js';
import type { FacilitatorContext } from '../context.js';
import type { Authorizer } from './authorizer.js';
import { type ChannelLedger, type ChannelRecord, mirrorAge } from './channel-ledger.js';

/**
 * When a claim is due. Any one condition met makes a claim due; `BatchFacilitatorOptions.claims` sets them.
 * @example
 * ```ts
 * const claims: Partial<ClaimPolicy> = { maxVouchers: 50, minValue: 1_000_000n, maxAgeMs: 5 * 60_000 };
 * const batch = batchSettlementFacilitator({ escrows: { testnet: escrow }, authorizerKey, claims });
 * ```
 */
export type ClaimPolicy = {
  /** Claim once this many channels owe something. At most 100 (one claim's rows). Default 100. */
  readonly maxVouchers: number;
  /** Claim once this much is owed in all, in the token's smallest unit. Default: no threshold. */
  readonly minValue: bigint | undefined;
  /** Claim once the oldest unclaimed charge is this old. Default 10 minutes. */
  readonly maxAgeMs: number;
};

/** What one network's round did. */
export type ClaimReport = {
  readonly claimed: number;
  readonly claimTxid?: string;
  readonly settleTxids: readonly string[];
};

/**
 * Runs one round for one network: watch, decide, claim, sweep.
 * @example
 * ```ts
 * await claimRound(context, channels, authorizer, network, chain, escrow, policy, false);
 * ```
 */
export async function claimRound(
  context: FacilitatorContext,
  channels: ChannelLedger,
  authorizer: Authorizer,
  network: StacksNetwork,
  chain: ChainClient,
  escrow: string,
  policy: ClaimPolicy,
  force: boolean,
): Promise<ClaimReport> {
  const owing = await channels.unclaimedChannels(
    network.caip2,
    escrow,
    Math.min(policy.maxVouchers, 100),
  );
  if (owing.length === 0) return { claimed: 0, settleTxids: [] };
  // Watch: a payer who started a withdrawal must be claimed from before the delay ends.
  const refreshed: ChannelRecord[] = [];
  // Claimed on chain beyond what the ledger saw confirm: a claim whose process was killed (or whose wait ran out)
  // before its sweep. Mirroring below forgets it, and its funds would sit in the receiver's pool until some later claim
  // for that receiver; this round sweeps them.
  const unswept: ChannelRecord[] = [];
  let withdrawing = false;
  for (const record of owing) {
    const state = await readEscrowChannel(chain, escrow, record.channelId).catch(() => undefined);
    if (!state) {
      if (claimTarget(record, authorizer.address) > record.claimed) refreshed.push(record);
      continue;
    }
    const mirrored = await channels.mirrorChannel(
      record,
      state,
      mirrorAge(record, state, context.now()),
    );
    if (state.claimed > record.claimed && record.config.receiverAuthorizer === authorizer.address) {
      unswept.push(mirrored);
    }
    if (mirrored.withdrawRequestedAt > 0) withdrawing = true;
    if (mirrored.charged <= mirrored.claimed) continue;
    if (claimTarget(mirrored, authorizer.address) > mirrored.claimed) {
      refreshed.push(mirrored);
    } else {
      // Owed but not claimable (a balance withdrawn below the charged total, a channel this key does not authorize):
      // one such row would abort every batch it joins, so it is left out and moved behind the others in the queue.
      await channels.mirrorChannel(record, state, context.now());
    }
  }
  const sweep = (records: readonly ChannelRecord[]) => sweepPools(authorizer, escrow, records);
  if (refreshed.length === 0) return { claimed: 0, settleTxids: await sweep(unswept) };
  const owed = refreshed.reduce(
    (sum, r) => sum + (claimTarget(r, authorizer.address) - r.claimed),
    0n,
  );
  const oldest = Math.min(...refreshed.map((r) => r.updatedAt));
  const due =
    force ||
    withdrawing ||
    refreshed.length >= policy.maxVouchers ||
    (policy.minValue !== undefined && owed >= policy.minValue) ||
    context.now() - oldest >= policy.maxAgeMs;
  if (!due) return { claimed: 0, settleTxids: await sweep(unswept) };

  const rows = refreshed.map((r) =>
    Cl.tuple({
      'channel-id': Cl.buffer(fromHex(r.channelId.slice(2))),
      'max-claimable': Cl.uint(r.signedMax),
      'voucher-signature': Cl.buffer(fromHex(r.signature.slice(2))),
      claimed: Cl.uint(claimTarget(r, authorizer.address)),
    }),
  );
  const claim = await authorizer.call(escrow, 'claim', [Cl.list(rows), Cl.none()]);
  if (claim.status !== 'success') {
    return { claimed: 0, claimTxid: claim.txid, settleTxids: await sweep(unswept) };
  }
  for (const record of refreshed) {
    const state = await readEscrowChannel(chain, escrow, record.channelId).catch(() => undefined);
    if (state) await channels.mirrorChannel(record, state, context.now());
  }
  const settleTxids = await sweep([...refreshed, ...unswept]);
  return { claimed: refreshed.length, claimTxid: claim.txid, settleTxids };
}

/** Sweeps what was claimed to each receiver: one settle per receiver and token; the txids sent. */
async function sweepPools(
  authorizer: Authorizer,
  escrow: string,
  records: readonly ChannelRecord[],
): Promise<string[]> {
  const pools = new Map<string, { receiver: string; token: string | null }>();
  for (const r of records) {
    pools.set(`${r.config.receiver}|${r.config.token ?? ''}`, {
      receiver: r.config.receiver,
      token: r.config.token,
    });
  }
  const settleTxids: string[] = [];
  for (const { receiver, token } of pools.values()) {
    const settled = await authorizer.call(escrow, 'settle', [
      Cl.principal(receiver),
      token === null ? Cl.none() : Cl.some(Cl.principal(token)),
    ]);
    settleTxids.push(settled.txid);
  }
  return settleTxids;
}

/**
 * What a claim row may raise `claimed` to without the escrow refusing it, and so aborting the batch: the charged
 * total, at most the balance (a payer who withdrew before the claim took the rest) and the voucher's ceiling; nothing
 * for a channel whose receiver-authorizer is not this key or that has no voucher.
 */
function claimTarget(record: ChannelRecord, authorizer: string): bigint {
  if (record.config.receiverAuthorizer !== authorizer || record.signature === '') return 0n;
  let target = record.charged;
  if (target > record.balance) target = record.balance;
  if (target > record.signedMax) target = record.signedMax;
  return target;
}
