/**
 * The buyer's side of batch-settlement: from an offer to the payload of one request, and from the answer back to the
 * buyer's channel record. It finds the buyer's channel for the offer (or derives a new one with a fresh salt), pays a
 * voucher when the channel holds enough, and otherwise signs one deposit within the buyer's cap. A deposit that was
 * sent and not settled is sent again as it is, never signed twice. Channel state lives in the buyer's
 * {@link ChannelStore}; the chain and the corrective 402 repair it when it is lost or behind.
 * @module
 */

import { signVoucher } from '../../batch/channel.js';
import { readEscrowChannel } from '../../batch/escrow-reads.js';
import type { DepositPayload, VoucherPayload } from '../../batch/wire.js';
import type { ChainClient } from '../../chain/client.js';
import type { StacksAccount } from '../../stacks/accounts.js';
import { assetKey, STX_ASSET, type StacksAsset } from '../../stacks/assets.js';
import { toHex } from '../../stacks/bytes.js';
import { adoptCorrective, applyServedAnswer } from './answer.js';
import type { BuyerChannelRecord, ChannelKey, ChannelStore } from './channel-store.js';
import { createChannelTurns } from './channel-turns.js';
import { createDepositTransaction } from './deposit.js';
import type { BatchOffer } from './offer.js';
import { channelsForOffer, newChannelForOffer } from './offer-channel.js';
import { planPayment } from './plan.js';

/** The refusal that asks for a corrective resynchronisation. */
export const CUMULATIVE_MISMATCH = 'invalid_batch_settlement_stacks_cumulative_amount_mismatch';

/**
 * The account's nonce for a deposit: held from signing until the answer, as for an `exact` payment. A client's
 * `NonceLease` is one, so deposits and `exact` payments of an account share one nonce sequence.
 * @example
 * ```ts
 * const nonces = createNonceAllocator(chain, account.address);
 * const acquireNonce = (): Promise<DepositNonceLease> => nonces.acquire();
 * ```
 */
export type DepositNonceLease = {
  readonly nonce: bigint;
  used(): void;
  /** The deposit is pending (see `NonceLease.pending`); without it, `used` stands in. */
  pending?(): void;
  resync(): void;
  watch(): void;
};

/**
 * What the batch buyer needs.
 * @example
 * ```ts
 * const options: BatchBuyerOptions = { account, chain, store: createMemoryChannelStore(),
 *   depositCap: (asset) => (asset.kind === 'stx' ? 100_000n : undefined), acquireNonce: () => nonces.acquire() };
 * ```
 */
export type BatchBuyerOptions = {
  /** The payer, which is also the payer-authorizer that signs vouchers. */
  readonly account: StacksAccount;
  /** Where the deposit's balance check and a lost channel's state are read. */
  readonly chain: ChainClient;
  readonly store: ChannelStore;
  /**
   * The most this buyer's channels may hold unspent, per asset, counting every channel in the store (what was
   * deposited and not charged, and deposits in flight); undefined: never deposit in it.
   */
  readonly depositCap: (asset: StacksAsset) => bigint | undefined;
  /** The escrows this buyer deposits into: a deposit into any other is refused, nothing signed. */
  readonly escrows: ReadonlySet<string>;
  /**
   * The account's next nonce, in turn with its other payments. `confirmed` asks for a turn that passes on only once
   * the deposit is confirmed (a sponsored deposit, as `NonceAcquireOptions.confirmed` says).
   */
  readonly acquireNonce: (options?: { readonly confirmed?: boolean }) => Promise<DepositNonceLease>;
  /** The fee of an unsponsored deposit of this many bytes, micro-STX. Default 0 (the offer should sponsor). */
  readonly depositFee?: (transactionBytes: number) => Promise<bigint>;
  /** The longest one request holds its channel while its answer is awaited, ms. Default 60,000. */
  readonly turnMs?: number;
  readonly now?: () => number;
  /** A fresh channel's salt, `0x` + 64 hex. Default: 32 random bytes. */
  readonly salt?: () => string;
};

/**
 * Why an offer cannot be paid from a channel; nothing was signed.
 * @example
 * ```ts
 * const attempt = await buyer.prepare(offer);
 * if ('refusal' in attempt) console.warn(attempt.refusal.reason, attempt.refusal.message);
 * ```
 */
export type BatchRefusal = {
  readonly refusal:
    | {
        readonly reason: 'invalid_batch_settlement_stacks_deposit_above_cap';
        readonly message: string;
        readonly needed: bigint;
        readonly cap: bigint;
      }
    | {
        readonly reason: 'insufficient_funds';
        readonly message: string;
        readonly asset: StacksAsset;
        readonly required: bigint;
        readonly available: bigint;
      };
};

/**
 * One request's payment from a channel, holding the channel until one of `served`, `pending`, `refused` or
 * `unanswered` reports how it ended.
 * @example
 * ```ts
 * const attempt = await buyer.prepare(offer);
 * if ('refusal' in attempt) return;
 * const answer = await send(attempt.payload);
 * await attempt.served(answer.extra);
 * ```
 */
export type BatchAttempt = {
  readonly payload: DepositPayload | VoucherPayload;
  readonly channel: ChannelKey;
  readonly price: bigint;
  /** The deposit this request carries, when it carries one; `resent` when it is a pending deposit sent again. */
  readonly deposit:
    | {
        readonly amount: bigint;
        readonly txid: string;
        readonly nonce: bigint | undefined;
        readonly fee: bigint;
        readonly resent: boolean;
      }
    | undefined;
  /** Served: the answer's `extra` moves the record through {@link applyServedAnswer}'s checks. */
  served(extra: unknown): Promise<BuyerChannelRecord | undefined>;
  /** The deposit was broadcast and not confirmed yet: the same payload goes again next time. */
  pending(): Promise<void>;
  /**
   * Refused. For a cumulative mismatch, the corrective `extra` is adopted when it checks out (or, without one, the
   * escrow's claimed total is read). `resynced` when the record changed so that signing again may succeed;
   * `superseded` when the corrected total is above the one the refused voucher was signed from, so that the next
   * voucher's ceiling is above the refused one's.
   */
  refused(
    reason: string,
    corrective?: Readonly<Record<string, unknown>>,
  ): Promise<{ readonly resynced: boolean; readonly superseded: boolean }>;
  /** No answer: `sent: false` when the request provably never left (then a deposit is forgotten). */
  unanswered(sent: boolean): Promise<void>;
};

/**
 * The batch buyer of one account.
 * @example
 * ```ts
 * const buyer = createBatchBuyer(options);
 * const attempt = await buyer.prepare(readBatchOffer(requirements) as BatchOffer);
 * if (!('refusal' in attempt)) send(attempt.payload);
 * ```
 */
export type BatchBuyer = {
  prepare(offer: BatchOffer): Promise<BatchAttempt | BatchRefusal>;
};

/**
 * Creates the batch buyer of one account.
 * @example
 * ```ts
 * const buyer = createBatchBuyer({ account, chain, store, depositCap: () => 100_000n, acquireNonce });
 * ```
 */
export function createBatchBuyer(options: BatchBuyerOptions): BatchBuyer {
  const { account, chain, store } = options;
  const now = options.now ?? Date.now;
  const salt = options.salt ?? randomSalt;
  const turns = createChannelTurns(options.turnMs ?? 60_000);

  /** The buyer's channel for the offer: one with a deposit in flight first, then the one with the most room. */
  const channelFor = async (offer: BatchOffer): Promise<BuyerChannelRecord> =>
    channelsForOffer(await store.list(), account.address, offer)[0] ??
    newChannelForOffer(account.address, offer, salt(), now());

  /**
   * What the cap leaves for this channel: the cap minus what the buyer's other channels in the same asset and network
   * hold unspent (deposited and not charged) or have in flight.
   */
  const capLeft = async (record: BuyerChannelRecord, cap: bigint): Promise<bigint> => {
    let held = 0n;
    for (const other of await store.list()) {
      if (other.channelId === record.channelId || other.network !== record.network) continue;
      if (other.config.token !== record.config.token) continue;
      if (other.deposited > other.charged) held += other.deposited - other.charged;
      if (other.pendingDeposit) held += BigInt(other.pendingDeposit.payload.deposit.amount);
    }
    return cap > held ? cap - held : 0n;
  };

  /** The escrow's view of a channel the buyer holds a record of: the balance, and a charged total never below claimed. */
  const refreshFromChain = async (record: BuyerChannelRecord): Promise<BuyerChannelRecord> => {
    let state: Awaited<ReturnType<typeof readEscrowChannel>>;
    try {
      state = await readEscrowChannel(chain, record.escrow, record.channelId);
    } catch {
      return record; // unreadable: plan from what the buyer knows (at worst, one more deposit into its own channel)
    }
    if (!state) return record;
    const refreshed = {
      ...record,
      deposited: state.balance,
      charged: larger(state.claimed, record.charged),
      updatedAt: now(),
    };
    await store.update(record, () => refreshed);
    return refreshed;
  };

  return {
    async prepare(offer) {
      const price = offer.terms.amount;
      const slot = [
        offer.terms.network.caip2,
        offer.extra.escrow,
        offer.terms.payTo.principal,
        offer.extra.receiverAuthorizer,
        offer.token ?? 'STX',
        offer.extra.withdrawDelay,
      ].join('|');
      const voucherFor = (record: BuyerChannelRecord, ceiling: bigint) => ({
        channelId: record.channelId,
        maxClaimableAmount: ceiling.toString(),
        signature: signVoucher(
          account.privateKey,
          offer.terms.network,
          record.escrow,
          record.channelId,
          ceiling,
        ),
      });
      const endTurn = await turns.take(slot);
      let lease: DepositNonceLease | undefined;
      try {
        let record = await channelFor(offer);
        const key: ChannelKey = record;
        if (record.pendingDeposit) {
          const { payload, txid } = record.pendingDeposit;
          return attempt(record, payload, price, {
            amount: BigInt(payload.deposit.amount),
            txid,
            nonce: undefined,
            fee: 0n,
            resent: true,
          });
        }
        if (!options.escrows.has(offer.extra.escrow)) {
          endTurn();
          return {
            refusal: {
              reason: 'invalid_batch_settlement_stacks_deposit_above_cap',
              message: `${offer.extra.escrow} is not an escrow this buyer deposits into (batch.escrows)`,
              needed: price,
              cap: 0n,
            },
          };
        }
        // The cap bounds what all this buyer's channels in the asset hold unspent, not one deposit: a seller that
        // names ever new channels (another authorizer, delay or salt) cannot make it lock the cap again and again.
        const cap = await capLeft(record, options.depositCap(offer.terms.asset) ?? 0n);
        const planFor = (of: BuyerChannelRecord) =>
          planPayment({
            balance: of.deposited,
            charged: of.charged,
            price,
            minDeposit: offer.minDeposit,
            cap,
          });
        let plan = planFor(record);
        if (plan.type !== 'voucher' && (await store.get(key))) {
          // The record may have lost track (another process, a restart, a store rebuilt): the escrow tells the balance.
          record = await refreshFromChain(record);
          plan = planFor(record);
        }
        if (plan.type === 'voucher') {
          const payload: VoucherPayload = {
            type: 'voucher',
            channelConfig: record.config,
            voucher: voucherFor(record, plan.ceiling),
          };
          return attempt(record, payload, price, undefined);
        }
        if (plan.type === 'above_cap') {
          endTurn();
          return {
            refusal: {
              reason: 'invalid_batch_settlement_stacks_deposit_above_cap',
              message: `the channel needs a deposit of at least ${plan.needed} atomic units, above the deposit cap of ${plan.cap}`,
              needed: plan.needed,
              cap: plan.cap,
            },
          };
        }
        // A deposit: the account's nonce, the transaction, and the balance it needs, before anything is sent.
        const sponsored = offer.terms.sponsor !== undefined;
        lease = await options.acquireNonce({ confirmed: sponsored });
        const build = (fee: bigint) =>
          createDepositTransaction({
            account,
            network: offer.terms.network,
            escrow: record.escrow,
            config: record.config,
            amount: plan.amount,
            asset: offer.terms.asset,
            nonce: lease!.nonce,
            sponsored,
            fee,
          });
        let built = await build(0n);
        let fee = 0n;
        if (!sponsored && options.depositFee) {
          fee = await options.depositFee(built.transaction.length / 2);
          built = await build(fee);
        }
        const short = await shortfall(chain, account.address, offer.terms.asset, plan.amount, fee);
        if (short) {
          lease.resync();
          endTurn();
          return { refusal: short };
        }
        const payload: DepositPayload = {
          type: 'deposit',
          channelConfig: record.config,
          voucher: voucherFor(record, plan.ceiling),
          deposit: { amount: plan.amount.toString(), transaction: built.transaction },
        };
        // Recorded before it leaves: whatever happens next, this need is met by this deposit or by none.
        const pendingDeposit = { payload, txid: built.txid };
        record = { ...record, pendingDeposit, updatedAt: now() };
        await store.update(key, (current) => ({ ...(current ?? record), pendingDeposit }));
        return attempt(
          record,
          payload,
          price,
          { amount: plan.amount, txid: built.txid, nonce: lease.nonce, fee, resent: false },
          lease,
        );
      } catch (error) {
        lease?.resync();
        endTurn();
        throw error;
      }

      function attempt(
        record: BuyerChannelRecord,
        payload: DepositPayload | VoucherPayload,
        price: bigint,
        deposit: BatchAttempt['deposit'],
        depositLease?: DepositNonceLease,
      ): BatchAttempt {
        const key: ChannelKey = record;
        depositLease?.watch();
        const clearDeposit = () =>
          store.update(key, (current) =>
            current?.pendingDeposit
              ? { ...current, pendingDeposit: undefined, updatedAt: now() }
              : undefined,
          );
        const done = async <T>(work: () => Promise<T>): Promise<T> => {
          try {
            return await work();
          } finally {
            endTurn();
          }
        };
        return {
          payload,
          channel: key,
          price,
          deposit,
          served: (extra) =>
            done(async () => {
              depositLease?.used();
              return store.update(key, (current) =>
                applyServedAnswer(current ?? record, payload, price, extra, now()),
              );
            }),
          pending: () =>
            done(async () => {
              if (depositLease?.pending) depositLease.pending();
              else depositLease?.used();
            }),
          refused: (reason, corrective) =>
            done(async () => {
              depositLease?.resync();
              if (payload.type === 'deposit') await clearDeposit();
              const unchanged = { resynced: false, superseded: false };
              if (reason !== CUMULATIVE_MISMATCH) return unchanged;
              const current = (await store.get(key)) ?? record;
              const base = BigInt(payload.voucher.maxClaimableAmount) - price;
              let next: BuyerChannelRecord | undefined;
              if (corrective?.voucherState !== undefined) {
                const adopted = adoptCorrective(current, offer.terms.network, corrective, now());
                if ('record' in adopted) next = adopted.record;
              } else {
                // No voucher held on the seller side: its total is the escrow's claimed one.
                const state = await readEscrowChannel(chain, key.escrow, key.channelId).catch(
                  () => undefined,
                );
                if (state) next = { ...current, charged: state.claimed, updatedAt: now() };
              }
              if (!next || next.charged === base) return unchanged;
              await store.update(key, () => next);
              return { resynced: true, superseded: next.charged > base };
            }),
          unanswered: (sent) =>
            done(async () => {
              depositLease?.resync();
              if (!sent && payload.type === 'deposit' && !deposit?.resent) await clearDeposit();
            }),
        };
      }
    },
  };
}

/** What the account lacks for a deposit of `amount` plus `fee`, on chain; undefined when it can pay. */
async function shortfall(
  chain: ChainClient,
  address: string,
  asset: StacksAsset,
  amount: bigint,
  fee: bigint,
): Promise<BatchRefusal['refusal'] | undefined> {
  const [stx, token] = await Promise.all([
    chain.getStxBalance(address),
    asset.kind === 'stx' ? Promise.resolve(0n) : chain.getFtBalance(address, assetKey(asset)),
  ]);
  const stxNeeded = fee + (asset.kind === 'stx' ? amount : 0n);
  if (stx < stxNeeded) {
    return {
      reason: 'insufficient_funds',
      message: `the deposit needs ${stxNeeded} micro-STX, the account holds ${stx}`,
      asset: STX_ASSET,
      required: stxNeeded,
      available: stx,
    };
  }
  if (asset.kind !== 'stx' && token < amount) {
    return {
      reason: 'insufficient_funds',
      message: `the deposit needs ${amount} of ${assetKey(asset)}, the account holds ${token}`,
      asset,
      required: amount,
      available: token,
    };
  }
  return undefined;
}

function randomSalt(): string {
  const bytes = new Uint8Array(32);
  globalThis.crypto.getRandomValues(bytes);
  return `0x${toHex(bytes)}`;
}

// Math.max takes numbers only; amounts are bigints.
function larger(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
