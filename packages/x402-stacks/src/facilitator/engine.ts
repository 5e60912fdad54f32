/**
 * The facilitator engine: verify and settle Stacks exact payments against live chain state, with the Ledger making
 * every payment settle at most once. Framework-free; the HTTP service and in-process sellers both use it.
 * @module
 */

import { type ChainClient, createChainClient } from '../chain/client.js';
import { ChainRequestError } from '../chain/errors.js';
import type { ReasonCode } from '../protocol/reasons.js';
import {
  type PaymentPayload,
  PaymentPayloadSchema,
  type PaymentRequirements,
  PaymentRequirementsSchema,
  type SettleResponse,
  type SupportedResponse,
  type VerifyResponse,
} from '../protocol/v2.js';
import { privateKeyToAccount, type StacksAccount } from '../stacks/accounts.js';
import { assetKey, isSameAsset, type ResolveAssetOptions } from '../stacks/assets.js';
import { fromHex } from '../stacks/bytes.js';
import {
  resolveNetwork,
  type StacksNetwork,
  type StacksNetworkId,
  type StacksNetworkName,
} from '../stacks/networks.js';
import {
  checkChainState,
  checkPaymentTransaction,
  type PostConditionPolicy,
  type ValidPaymentCheck,
} from '../stacks/payment/check.js';
import { signAsSponsor } from '../stacks/payment/sponsor.js';
import { isTermsProblem, resolvePaymentTerms } from '../stacks/payment/terms.js';
import { transactionIdOf } from '../stacks/signature.js';
import { createChainStateReader } from './chain-state.js';
import type { Ledger, SettlementRecord } from './ledger.js';
import { InMemoryLedger } from './memory-ledger.js';

/** How to reach one network's node: a URL and key for the built-in client, or a ready ChainClient. */
export type NetworkConnection = { url?: string; apiKey?: string } | { chain: ChainClient };

export type FacilitatorOptions = {
  /** The networks this facilitator serves, each with its node. */
  networks: Partial<Record<StacksNetworkName, NetworkConnection>>;
  /** Default: an InMemoryLedger (settlements do not survive the process). */
  ledger?: Ledger;
  /** How long `settle` waits for confirmation before answering `settlement_pending`. Default 60,000 ms. */
  settleTimeoutMs?: number;
  /** Poll interval while tracking a transaction. Default 1,000 ms. */
  pollIntervalMs?: number;
  /** How long tracking goes on in the background after `settlement_pending`. Default 30 minutes. */
  trackForMs?: number;
  /**
   * How old a claim that never reached `broadcast` must be before `resume()` releases it; younger ones may belong to a
   * live process mid-settle. Default 5 minutes.
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
   * How long `verify` may reuse a payer's nonce and balances read by an earlier `verify`, in ms. `settle` never uses
   * the cache. Default 0 (every verify reads the chain); the HTTP service sets 2,000.
   */
  verifyCacheMs?: number;
  /** Largest fee accepted on an unsponsored payment, micro-STX. Default: no cap. */
  maxFee?: bigint;
  /**
   * Pay the fees of sponsored payments with these keys (used in turn). `/supported` then names the first key's
   * address in `kinds[].extra.sponsor`, and a sponsored payment must name one of these addresses.
   */
  sponsor?: {
    privateKeys: string | readonly string[];
    /** Largest fee one sponsored transaction may cost, micro-STX. Default 100,000 (0.1 STX). */
    maxFee?: bigint;
    /** Fee rate in micro-STX per byte. Default: the node's rate (`/v2/fees/transfer`), at least 1. */
    feePerByte?: bigint;
  };
  tokens?: ResolveAssetOptions;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
};

/** What a settlement lookup answers. */
export type SettlementStatus = {
  readonly transaction: string;
  readonly state: SettlementRecord['state'];
  readonly payer: string;
  readonly network: StacksNetworkId;
  readonly errorReason?: string;
  readonly blockHeight?: number;
};

/** A facilitator: the x402 `/verify`, `/settle` and `/supported` operations, plus a settlement lookup. */
export type Facilitator = {
  verify(paymentPayload: unknown, paymentRequirements: unknown): Promise<VerifyResponse>;
  settle(paymentPayload: unknown, paymentRequirements: unknown): Promise<SettleResponse>;
  status(txid: string): Promise<SettlementStatus | undefined>;
  supported(): SupportedResponse;
  /**
   * Picks up what a previous process left unfinished in a shared ledger: settlements already broadcast are tracked
   * (never sent again); claims that never reached the node are released so the payment can be settled again.
   * @returns how many settlements were resumed and released.
   */
  resume(): Promise<{ tracked: number; released: number }>;
  /** Resolves when background tracking started by `settle` or `resume` has finished (tests, graceful shutdown). */
  idle(): Promise<void>;
  /** Asks every network's node for its tip: what `/health` reports. Never throws. */
  chainHealth(): Promise<ChainHealth[]>;
};

/** One network's reachability, as `chainHealth()` reports it. */
export type ChainHealth = {
  readonly network: StacksNetworkId;
  readonly reachable: boolean;
  readonly tipHeight?: number;
  readonly error?: string;
};

const HEX = /^(0x)?([0-9a-fA-F]{2})+$/;
const TERMINAL_FAILURES = new Set([
  'abort_by_response',
  'abort_by_post_condition',
  'dropped_replace_by_fee',
  'dropped_replace_across_fork',
  'dropped_too_expensive',
  'dropped_stale_garbage_collect',
  'dropped_problematic',
  'problematic_skipped',
]);

/**
 * Creates a facilitator engine.
 *
 * @example
 * ```ts
 * import { createFacilitator } from 'x402-stacks/facilitator';
 * const facilitator = createFacilitator({ networks: { testnet: { url: 'http://127.0.0.1:3999' } } });
 * const verdict = await facilitator.verify(paymentPayload, paymentRequirements);
 * if (verdict.isValid) await facilitator.settle(paymentPayload, paymentRequirements);
 * ```
 */
export function createFacilitator(options: FacilitatorOptions): Facilitator {
  const ledger = options.ledger ?? new InMemoryLedger();
  const settleTimeoutMs = options.settleTimeoutMs ?? 60_000;
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const trackForMs = options.trackForMs ?? 30 * 60_000;
  const claimLeaseMs = options.claimLeaseMs ?? 5 * 60_000;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const chains = new Map<StacksNetworkId, { network: StacksNetwork; chain: ChainClient }>();
  for (const [name, connection] of Object.entries(options.networks)) {
    if (!connection) continue;
    const network = resolveNetwork(name);
    const chain =
      'chain' in connection
        ? connection.chain
        : createChainClient({
            network,
            ...(connection.url ? { url: connection.url } : {}),
            ...(connection.apiKey ? { apiKey: connection.apiKey } : {}),
          });
    chains.set(network.caip2, { network, chain });
  }
  if (chains.size === 0) throw new Error('createFacilitator needs at least one network');
  const sponsorKeys = options.sponsor
    ? [options.sponsor.privateKeys].flat().filter((key): key is string => typeof key === 'string')
    : [];
  const sponsorMaxFee = options.sponsor?.maxFee ?? 100_000n;
  const maxNonceAhead = options.maxNonceAhead ?? 25n;
  const chainState = createChainStateReader(options.verifyCacheMs ?? 0, now);
  // Deriving an account costs a public-key multiplication: once per network, not once per request.
  const sponsorAccounts = new Map<StacksNetworkId, StacksAccount[]>();
  /** The sponsor accounts of a network, in the order they take turns. */
  const sponsorsOf = (network: StacksNetwork): StacksAccount[] => {
    let accounts = sponsorAccounts.get(network.caip2);
    if (!accounts) {
      accounts = sponsorKeys.map((key) => privateKeyToAccount(key, network.name));
      sponsorAccounts.set(network.caip2, accounts);
    }
    return accounts;
  };
  const tracking = new Set<Promise<unknown>>();

  type Examined =
    | {
        ok: true;
        check: ValidPaymentCheck;
        transaction: string;
        payTo: string;
        sponsor: string | undefined;
        network: StacksNetwork;
        chain: ChainClient;
        /** The payer's next nonce as read in step 7. */
        nextNonce: bigint;
      }
    | { ok: false; reason: ReasonCode; message: string; payer?: string };

  /** Steps 1–8 of verification; read-only. `fresh` (settle) reads the chain past the verify cache. */
  async function examine(
    payloadInput: unknown,
    requirementsInput: unknown,
    fresh: boolean,
  ): Promise<Examined> {
    // 1. Shapes.
    const payload = PaymentPayloadSchema.safeParse(payloadInput);
    if (!payload.success)
      return refuse('invalid_payload', 'the payment payload does not match the x402 v2 schema');
    const requirements = PaymentRequirementsSchema.safeParse(requirementsInput);
    if (!requirements.success) {
      return refuse(
        'invalid_payment_requirements',
        'the requirements do not match the x402 v2 schema',
      );
    }
    // 2. Scheme and network.
    if (requirements.data.scheme !== 'exact')
      return refuse('unsupported_scheme', 'only the exact scheme is supported');
    const terms = resolvePaymentTerms(requirements.data, options.tokens);
    if (isTermsProblem(terms)) return refuse(terms.reason, terms.message);
    const connection = chains.get(terms.network.caip2);
    if (!connection)
      return refuse('invalid_network', `this facilitator does not serve ${terms.network.caip2}`);
    // 3. The payment accepts exactly these requirements.
    const mismatch = acceptedMismatch(payload.data.accepted, requirements.data, terms.network);
    if (mismatch) return refuse('invalid_payment_requirements', mismatch);
    // 4. The signed transaction.
    const transaction = transactionOf(payload.data);
    if (!transaction) {
      return refuse(
        'invalid_exact_stacks_payload_transaction',
        'payload.transaction must be the signed transaction hex',
      );
    }
    // 5. Everything that needs no chain state, before spending any request on the node.
    const offline = checkPaymentTransaction(transaction, requirements.data, checkOptions({}));
    if (!offline.isValid)
      return refuse(offline.invalidReason, offline.invalidMessage, offline.payer);
    if (offline.sponsored && !sponsorsOf(terms.network).some((a) => a.address === terms.sponsor)) {
      return refuse(
        'invalid_exact_stacks_payload_sponsor',
        sponsorKeys.length === 0
          ? 'this facilitator does not sponsor transactions'
          : `the requirements name sponsor ${terms.sponsor}, which is not this facilitator's`,
        offline.payer,
      );
    }
    // 6. Replay: a transaction this facilitator already settled.
    if (await ledger.get(offline.txid)) {
      return refuse(
        'invalid_exact_stacks_payload_txid_reused',
        'this transaction was already settled',
        offline.payer,
      );
    }
    // 7. Chain state: the next nonce and the balances.
    const { chain } = connection;
    const token = terms.asset.kind === 'sip010' ? assetKey(terms.asset) : undefined;
    const state = await chainState.read(
      chain,
      { network: terms.network.caip2, payer: offline.payer, token },
      fresh,
    );
    // 8. The transaction that passed step 5, against that state.
    const check = checkChainState(offline, {
      expectedNonce: state.nonce,
      maxNonceAhead,
      balance: { stx: state.stx, ...(state.token === undefined ? {} : { token: state.token }) },
    });
    if (!check.isValid) return refuse(check.invalidReason, check.invalidMessage, check.payer);
    return {
      ok: true,
      check,
      transaction,
      payTo: terms.payTo.principal,
      sponsor: terms.sponsor,
      network: terms.network,
      chain,
      nextNonce: state.nonce,
    };
  }

  function checkOptions(extra: Parameters<typeof checkPaymentTransaction>[2]) {
    return {
      ...extra,
      ...(options.postConditionPolicy ? { postConditionPolicy: options.postConditionPolicy } : {}),
      ...(options.maxFee === undefined ? {} : { maxFee: options.maxFee }),
      ...(options.tokens ? { tokens: options.tokens } : {}),
    };
  }

  async function verify(
    payloadInput: unknown,
    requirementsInput: unknown,
  ): Promise<VerifyResponse> {
    const examined = await examine(payloadInput, requirementsInput, false);
    if (!examined.ok) {
      return {
        isValid: false,
        invalidReason: examined.reason,
        invalidMessage: examined.message,
        ...(examined.payer ? { payer: examined.payer } : {}),
      };
    }
    return { isValid: true, payer: examined.check.payer };
  }

  async function settle(
    payloadInput: unknown,
    requirementsInput: unknown,
  ): Promise<SettleResponse> {
    const networkOf = (input: unknown): string => {
      try {
        return resolveNetwork(String((input as { network?: unknown })?.network)).caip2;
      } catch {
        return '';
      }
    };
    // A replay of a payment already claimed is answered from the ledger, whatever the chain says now.
    const replay = await findSettled(payloadInput);
    if (replay) return duplicate(replay);

    // 1. Verify, against fresh chain state.
    const examined = await examine(payloadInput, requirementsInput, true);
    if (!examined.ok) {
      // A concurrent settle of the same payment may have claimed it meanwhile: that is a replay, not a bad payment.
      const claimedMeanwhile = await findSettled(payloadInput);
      if (claimedMeanwhile) return duplicate(claimedMeanwhile);
      return {
        success: false,
        errorReason: examined.reason,
        errorMessage: examined.message,
        ...(examined.payer ? { payer: examined.payer } : {}),
        transaction: '',
        network: networkOf(requirementsInput) as StacksNetworkId,
      };
    }
    const { check, transaction, network, chain } = examined;
    // 2. Claim the txid and (payer, nonce) atomically: from here on, no other settle can move this payment.
    const claim = await ledger.claim({
      paymentTxid: check.txid,
      txid: check.txid,
      network: network.caip2,
      payer: check.payer,
      nonce: check.nonce,
      amount: check.amount,
      asset: check.asset,
      payTo: examined.payTo,
      transaction,
    });
    if (!claim.claimed) {
      if (claim.conflict === 'txid') return duplicate(claim.existing);
      return failure(
        check.payer,
        network,
        'invalid_exact_stacks_payload_nonce_reused',
        `transaction ${claim.existing.txid} already spends nonce ${check.nonce}`,
      );
    }

    // 3. A payment chained ahead of the payer's next nonce waits for the ones before it to reach the mempool.
    // Broadcast now, it could sit there and execute long after this request gave up, charging for nothing served.
    if (check.nonce > examined.nextNonce) {
      const reached = await nonceReached(chain, check.payer, check.nonce);
      if (!reached) {
        await ledger.release(check.txid);
        return failure(
          check.payer,
          network,
          'invalid_exact_stacks_payload_nonce',
          `the payer's earlier nonces never reached the chain, so nonce ${check.nonce} was not broadcast`,
        );
      }
    }

    // 4. Sponsor-sign a sponsored payment: the on-chain txid is the sponsored transaction's.
    let onChain = { txid: check.txid, transaction };
    let sponsorship: { account: StacksAccount; nonce: bigint } | undefined;
    if (check.sponsored) {
      const signed = await sponsorPayment(
        check.txid,
        transaction,
        check.byteLength,
        examined.sponsor!,
        network,
        chain,
      ).catch(async (error) => {
        await ledger.release(check.txid);
        throw error;
      });
      if ('refusal' in signed) {
        await ledger.release(check.txid);
        return failure(check.payer, network, 'invalid_exact_stacks_payload_fee', signed.refusal);
      }
      onChain = { txid: signed.txid, transaction: signed.transaction };
      sponsorship = { account: signed.account, nonce: signed.nonce };
    }

    // 5. Write ahead: once marked broadcast, a restart tracks this transaction and never sends it again. If the guard
    // fails, another process released or took over the claim: sending now could settle the payment twice.
    const marked = await ledger.update(
      check.txid,
      {
        state: 'broadcast',
        txid: onChain.txid,
        transaction: onChain.transaction,
        ...(sponsorship
          ? { sponsor: sponsorship.account.address, sponsorNonce: sponsorship.nonce }
          : {}),
      },
      ['claimed'],
    );
    if (!marked) {
      const current = await ledger.get(check.txid);
      if (current) return duplicate(current);
      return failure(
        check.payer,
        network,
        'unexpected_settle_error',
        'the claim was released before broadcast; retry',
      );
    }
    const releaseSponsorNonce = () =>
      sponsorship
        ? ledger.releaseSponsorNonce(
            { network: network.caip2, sponsor: sponsorship.account.address },
            sponsorship.nonce,
          )
        : Promise.resolve();
    let result: Awaited<ReturnType<ChainClient['broadcast']>>;
    try {
      result = await chain.broadcast(onChain.transaction);
    } catch (error) {
      if (error instanceof ChainRequestError && error.txid === undefined) {
        // The request provably never reached the node: forget the claim so the payment can be settled again.
        await ledger.release(check.txid);
        await releaseSponsorNonce();
        throw error;
      }
      // The node may hold it: never send it again, track it instead (tracking ends it if the chain never sees it).
      return track(onChain.txid, check.payer, network, chain);
    }
    if (!result.accepted) {
      const failed = await ledger.update(
        check.txid,
        { state: 'failed', errorReason: 'broadcast_failed', errorMessage: result.reason },
        ['broadcast'],
      );
      if (failed) {
        // Refused by the node, the transaction spent neither nonce: the payer and the sponsor may use them again.
        await releaseSponsorNonce();
        await ledger.releaseNonce(check.txid);
      }
      return failure(
        check.payer,
        network,
        'broadcast_failed',
        `the node refused the transaction: ${result.reason}`,
        onChain.txid,
      );
    }
    // 6. Broadcast, then track it to a final status, or answer settlement_pending.
    return track(onChain.txid, check.payer, network, chain);
  }

  /** Waits, at most `settleTimeoutMs`, until the payer's next possible nonce reaches `nonce`. */
  async function nonceReached(chain: ChainClient, payer: string, nonce: bigint): Promise<boolean> {
    const until = now() + settleTimeoutMs;
    // Chained payments of one buyer arrive within milliseconds of each other: look often, not once a poll interval.
    const interval = Math.min(pollIntervalMs, 100);
    for (;;) {
      if ((await chain.getNextNonce(payer)) >= nonce) return true;
      if (now() >= until) return false;
      await sleep(interval);
    }
  }

  /** Signs a payment as one of the sponsors, with a reserved nonce and a fee within the cap. */
  async function sponsorPayment(
    paymentTxid: string,
    transaction: string,
    byteLength: number,
    sponsorAddress: string,
    network: StacksNetwork,
    chain: ChainClient,
  ): Promise<
    | { refusal: string }
    | { txid: string; transaction: string; account: StacksAccount; nonce: bigint }
  > {
    // The sponsor the requirements named signs, so the chain shows what the seller advertised.
    const account = sponsorsOf(network).find((a) => a.address === sponsorAddress)!;
    const rate = options.sponsor?.feePerByte ?? (await chain.getFeeRate());
    // A sponsor condition is as long as the placeholder it replaces, so the length is final already.
    const fee = (rate > 1n ? rate : 1n) * BigInt(byteLength);
    if (fee > sponsorMaxFee) {
      return {
        refusal: `sponsoring would cost ${fee} micro-STX, above the cap of ${sponsorMaxFee}`,
      };
    }
    const sponsorAccount = { network: network.caip2, sponsor: account.address };
    const nonce = await ledger.reserveSponsorNonce(
      sponsorAccount,
      await chain.getNextNonce(account.address),
    );
    // Recorded at once, so a restart that releases this claim also returns the nonce.
    await ledger.update(
      paymentTxid,
      { state: 'claimed', sponsor: account.address, sponsorNonce: nonce },
      ['claimed'],
    );
    try {
      // Not @stacks/transactions' sponsorTransaction: it throws on every complete multisig origin.
      const sponsored = signAsSponsor({
        transaction,
        privateKey: account.privateKey,
        fee,
        nonce,
        network,
      });
      return { ...sponsored, account, nonce };
    } catch (error) {
      await ledger.releaseSponsorNonce(sponsorAccount, nonce);
      throw error;
    }
  }

  /** Polls until a final status or the settle timeout; past it, keeps tracking in the background. */
  async function track(
    txid: string,
    payer: string,
    network: StacksNetwork,
    chain: ChainClient,
  ): Promise<SettleResponse> {
    const answerBy = now() + settleTimeoutMs;
    const outcome = await poll(txid, chain, answerBy);
    if (outcome)
      return outcome.success
        ? successOf(txid, payer, network)
        : failure(payer, network, 'transaction_failed', outcome.status, txid);
    trackInBackground(txid, chain);
    return {
      success: false,
      errorReason: 'settlement_pending',
      errorMessage: 'broadcast, not confirmed yet; ask GET /settlements/:txid for the outcome',
      payer,
      transaction: txid,
      network: network.caip2,
    };
  }

  function trackInBackground(txid: string, chain: ChainClient): void {
    const background = poll(txid, chain, now() + trackForMs, true).catch(() => undefined);
    tracking.add(background);
    void background.finally(() => tracking.delete(background));
  }

  async function poll(
    txid: string,
    chain: ChainClient,
    until: number,
    /** The last, background watch: a transaction the chain never saw by its end was never taken. */
    final = false,
  ): Promise<{ success: boolean; status: string } | undefined> {
    let seen = false;
    for (;;) {
      const tx = await chain.getTransaction(txid).catch(() => undefined);
      if (tx !== null && tx !== undefined) seen = true;
      // A status from a block off the canonical fork says nothing yet.
      const settled = tx?.indexed && tx.canonical !== false ? tx : undefined;
      if (settled?.status === 'success') {
        const update = {
          state: 'success' as const,
          ...(settled.blockHeight === undefined ? {} : { blockHeight: settled.blockHeight }),
        };
        await ledger.update(txid, update, ['broadcast']);
        return { success: true, status: settled.status };
      }
      if (settled && TERMINAL_FAILURES.has(settled.status)) {
        await fail(txid, settled.status, settled.status.startsWith('dropped_'));
        return { success: false, status: settled.status };
      }
      if (now() >= until) {
        // Long past its broadcast and still unknown to the chain: it was never taken, so it spent nothing.
        if (final && !seen) {
          await fail(txid, 'never_seen', true);
          return { success: false, status: 'never_seen' };
        }
        return undefined;
      }
      await sleep(pollIntervalMs);
    }
  }

  /** Marks a broadcast settlement failed; when its transaction can no longer spend its nonces, frees them. */
  async function fail(txid: string, status: string, noncesUnspent: boolean): Promise<void> {
    const failed = await ledger.update(
      txid,
      { state: 'failed', errorReason: 'transaction_failed', errorMessage: status },
      ['broadcast'],
    );
    if (!failed || !noncesUnspent) return;
    await ledger.releaseNonce(failed.paymentTxid);
    if (failed.sponsor !== undefined && failed.sponsorNonce !== undefined) {
      await ledger.releaseSponsorNonce(
        { network: failed.network, sponsor: failed.sponsor },
        failed.sponsorNonce,
      );
    }
  }

  async function findSettled(payloadInput: unknown): Promise<SettlementRecord | undefined> {
    const payload = PaymentPayloadSchema.safeParse(payloadInput);
    const transaction = payload.success ? transactionOf(payload.data) : undefined;
    if (!transaction || !HEX.test(transaction)) return undefined;
    return ledger.get(transactionIdOf(fromHex(transaction.replace(/^0x/, ''))));
  }

  function duplicate(existing: SettlementRecord): SettleResponse {
    return {
      success: false,
      errorReason: 'duplicate_settlement',
      errorMessage: `this payment was already settled (${existing.state})`,
      payer: existing.payer,
      transaction: existing.txid,
      network: existing.network,
    };
  }

  return {
    verify,
    settle,
    async status(txid) {
      const record = await ledger.get(txid);
      if (!record) return undefined;
      return {
        transaction: record.txid,
        state: record.state,
        payer: record.payer,
        network: record.network,
        ...(record.errorReason ? { errorReason: record.errorReason } : {}),
        ...(record.blockHeight === undefined ? {} : { blockHeight: record.blockHeight }),
      };
    },
    supported() {
      const signers: Record<string, string[]> = {};
      const sponsors = [...chains.values()].flatMap(({ network }) =>
        sponsorsOf(network).map((a) => a.address),
      );
      if (sponsors.length > 0) signers['stacks:*'] = [...new Set(sponsors)];
      return {
        kinds: [...chains.values()].map(({ network }) => {
          const [sponsor] = sponsorsOf(network);
          return {
            x402Version: 2 as const,
            scheme: 'exact',
            network: network.caip2,
            ...(sponsor ? { extra: { sponsor: sponsor.address } } : {}),
          };
        }),
        extensions: [],
        signers,
      };
    },
    async resume() {
      let tracked = 0;
      let released = 0;
      for (const record of await ledger.unfinished()) {
        const connection = chains.get(record.network);
        if (!connection) continue;
        if (record.state === 'claimed') {
          // A fresh claim may belong to a live process between claiming and broadcasting: leave it alone.
          if (now() - record.updatedAt < claimLeaseMs) continue;
          await ledger.release(record.paymentTxid);
          if (record.sponsor !== undefined && record.sponsorNonce !== undefined) {
            await ledger.releaseSponsorNonce(
              { network: record.network, sponsor: record.sponsor },
              record.sponsorNonce,
            );
          }
          released++;
          continue;
        }
        trackInBackground(record.txid, connection.chain);
        tracked++;
      }
      return { tracked, released };
    },
    async chainHealth() {
      return Promise.all(
        [...chains.values()].map(async ({ network, chain }): Promise<ChainHealth> => {
          try {
            const info = await chain.getInfo();
            return { network: network.caip2, reachable: true, tipHeight: info.stacksTipHeight };
          } catch (error) {
            const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
            return { network: network.caip2, reachable: false, error: message };
          }
        }),
      );
    },
    async idle() {
      while (tracking.size > 0) await Promise.allSettled([...tracking]);
    },
  };
}

function refuse(reason: ReasonCode, message: string, payer?: string) {
  return { ok: false as const, reason, message, ...(payer ? { payer } : {}) };
}

function failure(
  payer: string,
  network: StacksNetwork,
  errorReason: ReasonCode,
  errorMessage: string,
  transaction = '',
): SettleResponse {
  return { success: false, errorReason, errorMessage, payer, transaction, network: network.caip2 };
}

function successOf(txid: string, payer: string, network: StacksNetwork): SettleResponse {
  return { success: true, payer, transaction: txid, network: network.caip2 };
}

/** The signed transaction of a payload: `transaction` (x402-stacks), or `signedTransaction` (the draft Stacks spec). */
function transactionOf(payload: PaymentPayload): string | undefined {
  const body = payload.payload as { transaction?: unknown; signedTransaction?: unknown };
  const value = body.transaction ?? body.signedTransaction;
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function acceptedMismatch(
  accepted: PaymentRequirements,
  requirements: PaymentRequirements,
  network: StacksNetwork,
): string | undefined {
  if (accepted.scheme !== requirements.scheme) return 'the payment accepts another scheme';
  try {
    if (resolveNetwork(accepted.network, { payTo: accepted.payTo }).caip2 !== network.caip2) {
      return 'the payment accepts another network';
    }
    if (!isSameAsset(accepted.asset, requirements.asset, network))
      return 'the payment accepts another asset';
  } catch {
    return 'the payment accepts a network or asset this facilitator cannot read';
  }
  if (accepted.amount !== requirements.amount) return 'the payment accepts another amount';
  if (accepted.payTo !== requirements.payTo) return 'the payment accepts another payTo';
  return undefined;
}
