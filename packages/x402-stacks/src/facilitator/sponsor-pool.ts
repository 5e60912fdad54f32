/**
 * The sponsor pool: the facilitator's fee-paying keys, their chain state, and the signing of sponsored and filler
 * transactions. Which key and nonce a payment gets is decided atomically in the ledger (`reserveSponsorship`); the
 * pool supplies it with each key's chain nonces and leaves out keys too poor to pay.
 * @module
 */
import { makeSTXTokenTransfer } from '@stacks/transactions';
import type { ChainClient } from '../chain/client.js';
import type { AccountNonces, BroadcastRejected } from '../chain/types.js';
import type { ReasonCode } from '../protocol/reasons.js';
import { privateKeyToAccount, type StacksAccount } from '../stacks/accounts.js';
import type { StacksNetwork, StacksNetworkId } from '../stacks/networks.js';
import { signAsSponsor } from '../stacks/payment/sponsor.js';
import { type FacilitatorContext, MEMPOOL_CHAIN_LIMIT } from './context.js';
import type { SponsorCandidate } from './ledger.js';
import { nonceHolding } from './nonce-gaps.js';
import { type Refusal, refuse } from './outcomes.js';

/** A sponsor key's state as last read from the chain. */
export type SponsorKeyState = {
  readonly address: string;
  readonly nonces: AccountNonces;
  readonly balance: bigint;
  readonly readAt: number;
};

/**
 * A sponsor key as `/health` reports it.
 * @example
 * ```ts
 * const health: SponsorHealth = { network: 'stacks:2147483648', address: 'ST…', balance: '900000', low: true, pending: 3 };
 * ```
 */
export type SponsorHealth = {
  readonly network: StacksNetworkId;
  readonly address: string;
  /** µSTX, as last read; absent before the first read. */
  readonly balance?: string;
  /** Below the pool's minimum balance: the key is not used until it is funded. */
  readonly low: boolean;
  /** Its transactions in the mempool, as last read. */
  readonly pending?: number;
};

/** A payment signed by a sponsor. */
export type SponsorSignature = {
  readonly ok: true;
  readonly txid: string;
  readonly transaction: string;
  readonly sponsor: string;
  readonly nonce: bigint;
};

export type SponsorPool = {
  /** The pool's addresses on a network, in the configured order. */
  addresses(network: StacksNetwork): readonly string[];
  /** Why a sponsored payment naming `named` and paying `payTo` will not be sponsored here; undefined when it may be. */
  refusesToSponsor(
    network: StacksNetwork,
    named: string | undefined,
    payTo: string,
  ): { reason: ReasonCode; message: string } | undefined;
  /**
   * Takes a key and nonce for a claimed payment (within the limits, from the key with the most room) and signs it.
   * On a refusal nothing is held.
   */
  sponsor(
    claim: {
      paymentTxid: string;
      claimedAt: number;
      payer: string;
      transaction: string;
      byteLength: number;
    },
    network: StacksNetwork,
    chain: ChainClient,
  ): Promise<SponsorSignature | Refusal>;
  /** Reads every key's nonces and balance on a network afresh. */
  refresh(network: StacksNetwork, chain: ChainClient): Promise<SponsorKeyState[]>;
  /**
   * Signs a transfer of 1 µSTX that spends `nonce` of a key: what fills a gap in its nonces, or, paying `above` + 1
   * (at most `maxFee` + 1, the same bytes each time), replaces by fee a transaction of the key's that holds the nonce
   * and can never be mined.
   */
  signFiller(
    network: StacksNetwork,
    chain: ChainClient,
    sponsor: string,
    nonce: bigint,
    above?: bigint,
  ): Promise<{ txid: string; transaction: string }>;
  /**
   * Whether a node refusal of a sponsored transaction was about the sponsor's nonce (our doing, not the payer's),
   * and whether that nonce is still free to reuse; reads the sponsor's nonces when the refusal alone does not say.
   */
  judgeRefusal(
    refusal: BroadcastRejected,
    refused: SponsoredNonces,
    chain: ChainClient,
  ): Promise<RefusalJudgement>;
  /** {@link SponsorPool.judgeRefusal} from the refusal alone: undefined when that needs a read of the chain. */
  judgeRefusalOffline(refusal: BroadcastRejected, sponsor: string): RefusalJudgement | undefined;
  /** The keys' last known state, without reading the chain. */
  health(): SponsorHealth[];
};

/** The nonces a sponsored transaction spends: its payer's and its sponsor's. */
export type SponsoredNonces = {
  readonly payer: string;
  readonly nonce: bigint;
  readonly sponsor: string;
  readonly sponsorNonce: bigint;
};

/** Whose nonce a node refused a sponsored transaction for, and whether the sponsor's may be used again. */
export type RefusalJudgement = { readonly sponsorsNonce: boolean; readonly nonceFree: boolean };

// Nonces change with every sponsored payment; a short cache lets a burst of settles share one read.
const NONCE_TTL_MS = 250;
const FEE_RATE_TTL_MS = 5_000;
// Where a filler sends its 1 µSTX when the pool has no other key: the boot address, owned by no one.
const BURN_ADDRESS: Record<StacksNetworkId, string> = {
  'stacks:1': 'SP000000000000000000002Q6VF78',
  'stacks:2147483648': 'ST000000000000000000002AMW42H',
};

function judgeRefusalOffline(
  refusal: BroadcastRejected,
  sponsor: string,
): RefusalJudgement | undefined {
  if (refusal.reason === 'ConflictingNonceInMempool') return undefined;
  if (refusal.reason === 'BadNonce' || refusal.reason === 'TooMuchChaining') {
    const data = (refusal.reasonData ?? {}) as { principal?: unknown; is_origin?: unknown };
    const sponsorsNonce = data.principal === sponsor && data.is_origin === false;
    // A stale sponsor nonce is spent by something else; one too far ahead is still ours to use.
    return { sponsorsNonce, nonceFree: !sponsorsNonce || refusal.reason === 'TooMuchChaining' };
  }
  return { sponsorsNonce: false, nonceFree: true };
}

/**
 * Creates the pool of a facilitator.
 * @example
 * ```ts
 * const pool = createSponsorPool(context);
 * const signed = await pool.sponsor(claim, network, chain);
 * ```
 */
export function createSponsorPool(context: FacilitatorContext): SponsorPool {
  const settings = context.sponsor;
  const accounts = new Map<StacksNetworkId, StacksAccount[]>();
  const states = new Map<string, { at: number; state: Promise<SponsorKeyState> }>();
  const known = new Map<string, SponsorKeyState>();
  // Per chain client: mainnet and testnet have rates of their own.
  const feeRates = new Map<ChainClient, { at: number; rate: Promise<bigint> }>();

  // Deriving an account costs a public-key multiplication: once per network, not once per request.
  function accountsOf(network: StacksNetwork): StacksAccount[] {
    let list = accounts.get(network.caip2);
    if (!list) {
      list = (settings?.privateKeys ?? []).map((key) => privateKeyToAccount(key, network.name));
      accounts.set(network.caip2, list);
    }
    return list;
  }

  function stateOf(
    network: StacksNetwork,
    chain: ChainClient,
    address: string,
    maxAgeMs: number,
  ): Promise<SponsorKeyState> {
    const key = `${network.caip2}|${address}`;
    const cached = states.get(key);
    if (cached && context.now() - cached.at < maxAgeMs) return cached.state;
    const state = Promise.all([chain.getNonces(address), chain.getAccount(address)]).then(
      ([nonces, account]) => {
        const read = { address, nonces, balance: account.balance, readAt: context.now() };
        known.set(key, read);
        return read;
      },
    );
    states.set(key, { at: context.now(), state });
    state.catch(() => {
      if (states.get(key)?.state === state) states.delete(key);
    });
    return state;
  }

  function rateOf(chain: ChainClient): Promise<bigint> {
    if (settings?.feePerByte !== undefined) return Promise.resolve(settings.feePerByte);
    const cached = feeRates.get(chain);
    if (cached && context.now() - cached.at < FEE_RATE_TTL_MS) return cached.rate;
    const rate = chain.getFeeRate();
    feeRates.set(chain, { at: context.now(), rate });
    rate.catch(() => {
      if (feeRates.get(chain)?.rate === rate) feeRates.delete(chain);
    });
    return rate;
  }

  return {
    addresses: (network) => accountsOf(network).map((account) => account.address),

    refusesToSponsor(network, named, payTo) {
      if (!settings) {
        return {
          reason: 'invalid_exact_stacks_payload_sponsor',
          message: 'this facilitator does not sponsor transactions',
        };
      }
      if (!accountsOf(network).some((account) => account.address === named)) {
        return {
          reason: 'invalid_exact_stacks_payload_sponsor',
          message: `the requirements name sponsor ${named}, which is not this facilitator's`,
        };
      }
      if (settings.allowedPayTo && !settings.allowedPayTo.has(payTo)) {
        return {
          reason: 'sponsor_pay_to_not_allowed',
          message: `this facilitator does not sponsor payments to ${payTo}`,
        };
      }
      return undefined;
    },

    async sponsor(claim, network, chain) {
      if (!settings) {
        return refuse('invalid_exact_stacks_payload_sponsor', 'this facilitator does not sponsor');
      }
      const rate = await rateOf(chain);
      // A sponsor condition is as long as the placeholder it replaces, so the length is final already.
      const fee = (rate > 1n ? rate : 1n) * BigInt(claim.byteLength);
      if (fee > settings.maxFee) {
        return refuse(
          'invalid_exact_stacks_payload_fee',
          `sponsoring would cost ${fee} micro-STX, above the cap of ${settings.maxFee}`,
          claim.payer,
        );
      }
      const keys = await Promise.all(
        accountsOf(network).map((account) =>
          stateOf(network, chain, account.address, NONCE_TTL_MS),
        ),
      );
      const floor = settings.minBalance > fee ? settings.minBalance : fee;
      const candidates: SponsorCandidate[] = keys
        .filter((key) => key.balance >= floor)
        .map((key) => ({
          sponsor: key.address,
          confirmedNext: key.nonces.confirmedNext,
          possibleNext: key.nonces.possibleNext,
        }));
      if (candidates.length === 0) {
        return refuse(
          'sponsor_balance_low',
          `every sponsor key holds less than ${floor} micro-STX; sponsored payments resume once one is funded`,
          claim.payer,
        );
      }
      const grant = await context.ledger.reserveSponsorship(
        {
          paymentTxid: claim.paymentTxid,
          claimedAt: claim.claimedAt,
          network: network.caip2,
          payer: claim.payer,
          fee,
          candidates,
          capacity: MEMPOOL_CHAIN_LIMIT,
          limits: settings.limits,
        },
        context.now(),
      );
      if (!grant.granted) {
        const reason = grant.reason === 'claim_lost' ? 'unexpected_settle_error' : grant.reason;
        return refuse(reason, grant.message, claim.payer);
      }
      const account = accountsOf(network).find((a) => a.address === grant.sponsor)!;
      try {
        const sponsored = signAsSponsor({
          transaction: claim.transaction,
          privateKey: account.privateKey,
          fee,
          nonce: grant.nonce,
          network,
        });
        return { ok: true, ...sponsored, sponsor: grant.sponsor, nonce: grant.nonce };
      } catch (error) {
        await context.ledger.releaseSponsorship(claim.paymentTxid, true, claim.claimedAt);
        throw error;
      }
    },

    async refresh(network, chain) {
      return Promise.all(
        accountsOf(network).map((account) => stateOf(network, chain, account.address, 0)),
      );
    },

    async signFiller(network, chain, sponsor, nonce, above = 0n) {
      const pool = accountsOf(network);
      const account = pool.find((a) => a.address === sponsor)!;
      const recipient =
        pool.find((a) => a.address !== sponsor)?.address ?? BURN_ADDRESS[network.caip2];
      const build = (fee: bigint) =>
        makeSTXTokenTransfer({
          recipient,
          amount: 1n,
          senderKey: account.privateKey,
          network: network.name,
          nonce,
          fee,
          memo: 'x402-stacks nonce gap',
          client: { fetch: refuseNetwork },
        });
      if (above > 0n) {
        // Replacing, it pays exactly one more than what it replaces (smaller, so at a higher rate), whatever the rate
        // now: sent again, it is the same bytes, the same txid. What it replaces was sponsored here, under the fee cap.
        const cap = (settings?.maxFee ?? above) + 1n;
        const filler = await build(above < cap ? above + 1n : cap);
        return { txid: filler.txid(), transaction: filler.serialize() };
      }
      const length = BigInt((await build(0n)).serialize().length / 2);
      const rate = await rateOf(chain);
      const filler = await build((rate > 1n ? rate : 1n) * length);
      return { txid: filler.txid(), transaction: filler.serialize() };
    },

    judgeRefusalOffline,

    async judgeRefusal(refusal, refused, chain) {
      const offline = judgeRefusalOffline(refusal, refused.sponsor);
      if (offline) return offline;
      // The node does not say whose nonce conflicts. A nonce is taken when a transaction is known to hold it, pending
      // or mined since (the refused one never entered the mempool). The payer is blamed only when its own nonce is
      // taken: a conflict gone by the time of the read, one the API cannot tell from a gap (an account with nothing
      // mined yet), or a read that failed, may have been ours, and the payment is then sponsored again (a second
      // refusal ends it with its claim given back), never failed for good. The sponsor's nonce is handed out again
      // only when nothing is known to hold it: one that may be held is forgotten, for the keeper to fill if it is a
      // gap, since a nonce handed back goes to the very next sponsored payment.
      const [payerNonces, sponsorNonces] = await Promise.all([
        chain.getNonces(refused.payer).catch(() => undefined),
        chain.getNonces(refused.sponsor).catch(() => undefined),
      ]);
      const payers = payerNonces && nonceHolding(payerNonces, refused.nonce);
      const sponsors = sponsorNonces && nonceHolding(sponsorNonces, refused.sponsorNonce);
      return {
        sponsorsNonce: sponsors === 'held' || payers !== 'held',
        nonceFree: sponsors !== 'held' && sponsors !== 'unknown',
      };
    },

    health() {
      const reports: SponsorHealth[] = [];
      for (const [caip2, list] of accounts) {
        for (const account of list) {
          const state = known.get(`${caip2}|${account.address}`);
          reports.push({
            network: caip2,
            address: account.address,
            ...(state
              ? {
                  balance: state.balance.toString(),
                  pending: Number(state.nonces.possibleNext - state.nonces.confirmedNext),
                }
              : {}),
            low: state !== undefined && state.balance < (settings?.minBalance ?? 0n),
          });
        }
      }
      return reports;
    },
  };
}

// Nonce and fee are always given, so the builder has no reason to reach the network; this makes sure it cannot.
const refuseNetwork = (() => {
  throw new Error('the sponsor pool never lets the transaction builder fetch');
}) as unknown as typeof fetch;
