/**
 * What `createFacilitator` takes: the networks it serves, where it keeps settlements, how long it waits, and how it
 * sponsors fees. Resolved and checked once, in `context.ts`.
 * @module
 */
import type { ChainClient } from '../chain/client.js';
import type { ResolveAssetOptions } from '../stacks/assets.js';
import type { StacksNetworkName } from '../stacks/networks.js';
import type { PostConditionPolicy } from '../stacks/payment/check.js';
import type { DiscoveryOptions } from './discovery.js';
import type { Ledger, SponsorLimits } from './ledger.js';
import type { SettleStepObserver } from './settle-steps.js';

/**
 * How to reach one network's node: a URL and key for the built-in client, or a ready ChainClient.
 *
 * `blockEvents` (default `true`): the built-in client hears new blocks over the API's WebSocket channel
 * (`/extended/v1/ws`), and a settlement's status is read as soon as a block holds it instead of at the next poll.
 * Polling goes on either way; an API without the channel is only polled.
 * @example
 * ```ts
 * const connection: NetworkConnection = { url: 'http://127.0.0.1:3999', blockEvents: false };
 * ```
 */
export type NetworkConnection =
  | { url?: string; apiKey?: string; blockEvents?: boolean }
  | { chain: ChainClient };

/**
 * How the facilitator pays the fees of sponsored payments, and what it refuses to pay for.
 * @example
 * ```ts
 * const sponsor: SponsorOptions = { privateKeys: [KEY_A, KEY_B], limits: { maxFailedPerPayer: 1 } };
 * ```
 */
export type SponsorOptions = {
  /**
   * The sponsor keys. Any key may sponsor any payment (the payer's signature does not bind the sponsor), so each
   * sponsored payment takes the key with the most room: capacity is 25 pending transactions per key.
   */
  privateKeys: string | readonly string[];
  /** Largest fee one sponsored transaction may cost, micro-STX. Default 100,000 (0.1 STX). */
  maxFee?: bigint;
  /** Fee rate in micro-STX per byte. Default: the node's rate (`/v2/fees/transfer`), at least 1. */
  feePerByte?: bigint;
  /**
   * Bounds on what payers may cost the sponsors, counted in the ledger so they hold across processes. Defaults:
   * 10 payments in flight per payer, 1 failed sponsored transaction per payer, 1 STX of fees per payer and 100 STX in
   * total, per rolling hour.
   */
  limits?: Partial<SponsorLimits>;
  /** Sponsor only payments to these payTo addresses. Default: any. */
  allowedPayTo?: readonly string[];
  /** A key holding less than this many micro-STX is reported low and not used. Default 1,000,000 (1 STX). */
  minBalance?: bigint;
  /**
   * How long a nonce missing from a sponsor key's chain (a gap that holds up every later transaction of the key) may
   * wait for a sponsored payment to reuse it before the keeper fills it with a transfer of its own. Default 10,000 ms.
   */
  gapFillDelayMs?: number;
};

/**
 * What `createFacilitator` takes: the networks it serves and, optionally, its ledger, sponsor keys, limits and timings.
 * @example
 * ```ts
 * const options: FacilitatorOptions = {
 *   networks: { testnet: { url: 'http://127.0.0.1:3999' } },
 *   verifyCacheMs: 2_000,
 * };
 * const facilitator = createFacilitator(options);
 * ```
 */
export type FacilitatorOptions = {
  /** The networks this facilitator serves, each with its node. */
  networks: Partial<Record<StacksNetworkName, NetworkConnection>>;
  /** Default: an InMemoryLedger (settlements do not survive the process). */
  ledger?: Ledger;
  /** How long `settle` waits for confirmation before answering `settlement_pending`. Default 60,000 ms. */
  settleTimeoutMs?: number;
  /**
   * How often broadcast transactions are looked up while tracked. Every settlement this engine follows shares one
   * timer: each round reads every transaction waiting then together (`ChainClient.getTransactions`, else one
   * `getTransaction` each), and rounds begin at least this far apart. A broadcast's first look comes at the next
   * round: after an idle spell that round keeps the timing of the last one, so it may come moments after the
   * broadcast or up to one interval later (plus any read in progress). Default 1,000 ms.
   */
  pollIntervalMs?: number;
  /** How long tracking goes on in the background after `settlement_pending`. Default 30 minutes. */
  trackForMs?: number;
  /**
   * How long a claim may stay `claimed` (between claiming a payment and handing it to the node) before it counts as
   * abandoned: its holder died. The payment may then be settled again, by the buyer's retry or the keeper. Default
   * `settleTimeoutMs` + 30,000 ms, longer than any live settle stays there.
   */
  claimLeaseMs?: number;
  /** Default `'compatible'`. */
  postConditionPolicy?: PostConditionPolicy;
  /**
   * How far past the payer's next nonce a payment's nonce may be. A buyer paying several requests at once signs
   * consecutive nonces that can arrive in any order; `settle` holds a payment ahead of the chain until the ones before
   * it are in the mempool (at most `settleTimeoutMs`, then it is refused and never broadcast), so a gap can never
   * leave a payment waiting in the mempool to execute after its request gave up. Default 25, the node's own limit
   * on chained transactions; 0 demands exactly the next nonce.
   */
  maxNonceAhead?: bigint;
  /**
   * How many settlements may wait at once in this engine for their payers' earlier nonces to reach the mempool (the
   * chained payments above, and a sponsored payment behind a gap in its payer's nonces). The waits of one payer share
   * one `/nonces` read per round: 100 ms apart at first, doubling up to `pollIntervalMs` while the payer's nonces
   * stand still, and 100 ms apart again once they move (each move is a transaction of the payer's in the mempool);
   * a broadcast this engine makes for the payer adds a round at once. A payer dragging its waits out therefore costs
   * one read per `pollIntervalMs`, however many payments it holds waiting. When every slot is taken, a payer that, with its new wait, would still hold fewer than the payer holding
   * the most takes that payer's highest-nonce wait, which is refused; a wait that finds no room is refused too. A
   * refusal answers `nonce_wait_capacity_exhausted`, with the claim given back and nothing sent. 0 refuses every wait:
   * payments must then arrive in nonce order. Default 64.
   */
  maxNonceWaits?: number;
  /**
   * How long a payer's nonce and balances, read by a `verify` or a `settle`, may answer a later `verify`, in ms.
   * `settle` takes such a read only when it saw nothing of the payer pending and the payment takes the payer's next
   * nonce (safe for money: the node then refuses the payment if the payer spent that nonce meanwhile, and the payer's
   * payments in flight here are counted from the ledger after the claim); otherwise it reads the chain. Concurrent
   * reads of one payer are shared whatever this is. A settlement seen succeeding here within this time of the read it
   * was judged on may also judge the payer's settlement at the next nonce on what it left (that nonce confirmed, the
   * amount and fee taken off) instead of a read, on the same grounds, until that read is this old. Default 0 (no reuse
   * after a read finishes); the HTTP service sets 2,000.
   */
  verifyCacheMs?: number;
  /** Largest fee accepted on an unsponsored payment, micro-STX. Default: no cap. */
  maxFee?: bigint;
  /**
   * Pay the fees of sponsored payments with these keys. `/supported` names the first key's address in
   * `kinds[].extra.sponsor` (and `extra.feePayer`), and a sponsored payment must name one of the keys' addresses.
   */
  sponsor?: SponsorOptions;
  /**
   * The keeper: background work for the life of the facilitator (see `Facilitator.keeper`). `intervalMs` is how often
   * it runs (default 2,000 ms); `rebroadcastAfterMs` is how long a broadcast transaction may stay unknown to the
   * node before the keeper sends its identical bytes again (default 15,000 ms); a gap filler is not sent again within
   * it either. A possible gap in a sponsor key's nonces that a settlement in flight holds (as each round reads them) is
   * passed over, and its `sponsor.gapFillDelayMs` starts once it is free.
   */
  keeper?: { intervalMs?: number; rebroadcastAfterMs?: number };
  /**
   * The `payment-identifier` extension: a settle that names its payment with an id the same payer bound to that same
   * payment before gets the stored outcome again (a success, so the seller serves the buyer whose response was lost)
   * instead of `duplicate_settlement`; an id that payer bound to another payment is refused
   * (`payment_identifier_conflict`). A captured payment header replays as well as the buyer's own retry, so the
   * stored outcome is answered only within `windowMs` of the id's first use (default 600,000: 10 minutes), and a
   * success at most `maxReplays` times per id (default 3), counted in the ledger; past either, `duplicate_settlement`
   * (a pending or failed answer serves nothing and is not counted). `false`
   * turns it off. Listed in `/supported` when on and the ledger implements the `payment-identifier` methods.
   */
  paymentIdentifier?: false | { windowMs?: number; maxReplays?: number };
  tokens?: ResolveAssetOptions;
  /**
   * The bazaar extension (on by default, listed in `/supported`): after a successful settle, the payload's
   * `extensions.bazaar` is recorded for the discovery list, bounded in bytes, per payTo and in total. `false` turns it
   * off.
   */
  discovery?: DiscoveryOptions | false;
  /**
   * Hears how long each step of a settlement took (`SettleStep`: the replay check, verify, claim, sponsor, write-ahead,
   * broadcast, confirmation and the rest), as it ends: what an operator's histograms are made of. Called on the
   * settlement's path, so keep it cheap; one that throws is ignored. Default: none, and nothing is timed.
   */
  onSettleStep?: SettleStepObserver;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
};
