/**
 * The payer core, free of any HTTP library: from a 402 challenge to the header of the paid retry, and from the
 * server's answer to a receipt or a named error. The axios and fetch wrappers are thin layers over it.
 * @module
 */
import type { ChainClient } from '../chain/client.js';
import { ChainRequestError } from '../chain/errors.js';
import { encodePaymentSignatureHeader, encodeXPaymentHeader } from '../protocol/headers.js';
import type { PaymentRequiredV1, SettleResponseV1 } from '../protocol/v1.js';
import type { PaymentRequired, SettleResponse } from '../protocol/v2.js';
import type { StacksAccount } from '../stacks/accounts.js';
import { assetKey, type ResolveAssetOptions, resolveAsset } from '../stacks/assets.js';
import { resolveNetwork, type StacksNetworkId } from '../stacks/networks.js';
import { createPaymentTransaction, type PaymentTransaction } from '../stacks/payment/create.js';
import type { StacksPaymentRequirements } from '../stacks/payment/terms.js';
import { type BudgetReservation, createBudgetTracker } from './budget.js';
import { type ChainSourceOptions, resolveChainClient } from './chain-source.js';
import type { PaymentChallenge } from './challenge.js';
import {
  InsufficientBalanceError,
  NoAcceptableRequirementError,
  PayerOptionsError,
  PaymentNetworkError,
  PaymentPolicyError,
  PaymentRejectedError,
  type RequirementRefusal,
  SettlementPendingError,
} from './errors.js';
import { createFeePolicy, type FeeOptions } from './fees.js';
import { createNonceAllocator, type NonceLease } from './nonces.js';
import { type PaidAnswer, readPaymentOutcome } from './outcome.js';
import { createSpendingPolicy, type SpendingPolicyOptions } from './policy.js';
import { type OfferPolicyRefusal, type PayableOffer, sortOffers } from './select.js';

/**
 * What `onPaymentRequired` is shown before anything is signed.
 * @example
 * ```ts
 * const onPaymentRequired = ({ amount, asset, payTo }: PaymentRequiredContext) => amount <= 1_000n;
 * ```
 */
export type PaymentRequiredContext = {
  /** The URL of the request being paid for. */
  readonly url: string;
  /** The challenge as the server sent it (v2, or the v1 body). */
  readonly paymentRequired: PaymentRequired | PaymentRequiredV1;
  /** The chosen requirement, in v2 field names. */
  readonly requirements: StacksPaymentRequirements;
  /** The price, atomic units. */
  readonly amount: bigint;
  /** `'STX'` or `<contract id>::<asset name>`. */
  readonly asset: string;
  readonly payTo: string;
  /** The facilitator pays the fee. */
  readonly sponsored: boolean;
};

/**
 * What a settled payment reports, to `onPaymentSettled` and to the wrappers.
 * @example
 * ```ts
 * const onPaymentSettled = (receipt: PaymentReceipt) => console.log(receipt.txid, receipt.amount);
 * ```
 */
export type PaymentReceipt = {
  readonly url: string;
  readonly requirements: StacksPaymentRequirements;
  readonly amount: bigint;
  readonly asset: string;
  readonly payer: string;
  readonly network: StacksNetworkId;
  /** The txid of the signed bytes; a sponsored payment gets another id once sponsored (see `settlement`). */
  readonly signedTxid: string;
  /** The on-chain txid from the server's receipt, else `signedTxid`. */
  readonly txid: string;
  readonly nonce: bigint;
  /** Micro-STX paid by the buyer; 0 when sponsored. */
  readonly fee: bigint;
  /** The server's receipt (`payment-response`, or `x-payment-response` from a v1 server), when it sent one. */
  readonly settlement: SettleResponse | SettleResponseV1 | undefined;
};

/**
 * Options of the payer and of both wrappers. Every field is optional.
 * @example
 * ```ts
 * const options: PaymentOptions = {
 *   maxAmount: { STX: 10_000n, sBTC: 100n },
 *   budget: { STX: 1_000_000n },
 *   allowedPayTo: ['ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG'],
 *   onPaymentSettled: ({ txid }) => console.log('paid', txid),
 * };
 * ```
 */
export type PaymentOptions = SpendingPolicyOptions &
  FeeOptions &
  ChainSourceOptions & {
    /** Token contract overrides, for a network whose sBTC or USDCx lives at another id. */
    tokens?: ResolveAssetOptions;
    /** Called before signing; resolving to `false` declines the payment (`payment_declined`). */
    onPaymentRequired?: (
      context: PaymentRequiredContext,
    ) => boolean | undefined | Promise<boolean | undefined>;
    /** Called once a payment is settled and the resource served. Its errors are ignored: a paid response is never lost. */
    onPaymentSettled?: (receipt: PaymentReceipt) => unknown;
  };

/**
 * A signed payment ready for the retry, and the way to read its answer. Exactly one of `complete` or `fail` must be
 * called; until then the account's next payment waits.
 * @example
 * ```ts
 * const prepared = await payer.preparePayment(challenge, { url });
 * headers.set(prepared.header.name, prepared.header.value);
 * ```
 */
export type PreparedPayment = {
  /** The header of the paid retry: `payment-signature` (v2) or `X-PAYMENT` (v1 server). */
  readonly header: { readonly name: 'payment-signature' | 'X-PAYMENT'; readonly value: string };
  readonly requirements: StacksPaymentRequirements;
  readonly txid: string;
  readonly nonce: bigint;
  /**
   * Reads the server's answer. Resolves with the receipt when the resource was served, `undefined` when an error
   * status leaves the outcome unknown.
   * @throws {SettlementPendingError} broadcast but not confirmed in time.
   * @throws {PaymentRejectedError} refused; nothing served.
   */
  complete(answer: PaidAnswer, response?: unknown): Promise<PaymentReceipt | undefined>;
  /** The paid retry got no answer. Returns the error to throw; the payment may have been sent. */
  fail(cause: unknown): PaymentNetworkError;
};

/**
 * The framework-free payer of one account.
 * @example
 * ```ts
 * const payer = createPayer(account, { budget: { STX: 100_000n } });
 * const prepared = await payer.preparePayment(readPaymentChallenge({ header, body }), { url });
 * const retry = await fetch(url, { headers: { [prepared.header.name]: prepared.header.value } });
 * await prepared.complete({ status: retry.status, header: (name) => retry.headers.get(name) });
 * ```
 */
export type Payer = {
  readonly account: StacksAccount;
  readonly chain: ChainClient;
  /**
   * Chooses a requirement, applies the policy, checks the balance and signs.
   * @throws {NoAcceptableRequirementError}, {PaymentPolicyError}, {InsufficientBalanceError}, {PaymentNetworkError}
   */
  preparePayment(challenge: PaymentChallenge, context: { url: string }): Promise<PreparedPayment>;
  /** Spent or reserved so far, per asset (`'STX'`, `'sBTC'`, or a contract id), atomic units. */
  spent(asset: string): bigint;
};

// The node's fee rate moves slowly; one reading serves the payments of the next half minute.
const FEE_RATE_TTL_MS = 30_000;

/**
 * Creates the payer of one account. The options are validated here, once.
 * @throws {PayerOptionsError} for options that cannot be used.
 * @example
 * ```ts
 * import { createPayer, privateKeyToAccount } from 'x402-stacks/client';
 * const payer = createPayer(privateKeyToAccount(process.env.CLIENT_PRIVATE_KEY!, 'testnet'));
 * ```
 */
export function createPayer(account: StacksAccount, options: PaymentOptions = {}): Payer {
  if (!account?.address || !account.privateKey || !account.network) {
    throw new PayerOptionsError('account must come from privateKeyToAccount or mnemonicToAccount');
  }
  const { tokens } = options;
  const policy = createSpendingPolicy(options, resolveNetwork(account.network), tokens);
  const fees = createFeePolicy(options);
  const chain = resolveChainClient(options, account.network);
  const nonces = createNonceAllocator(chain, account.address);
  const budget = createBudgetTracker(policy.budget);
  let feeRate: { value: bigint; at: number } | undefined;

  const fromChain = async <T>(read: () => Promise<T>): Promise<T> => {
    try {
      return await read();
    } catch (cause) {
      if (cause instanceof ChainRequestError) throw new PaymentNetworkError('chain', {}, { cause });
      throw cause;
    }
  };
  const currentFeeRate = async (): Promise<bigint> => {
    if (fees.feeRate !== undefined) return fees.feeRate;
    if (feeRate && Date.now() - feeRate.at < FEE_RATE_TTL_MS) return feeRate.value;
    feeRate = { value: await chain.getFeeRate(), at: Date.now() };
    return feeRate.value;
  };

  /** Signs at the leased nonce, with the fee from the rate and the transaction's own size. */
  const sign = async (offer: PayableOffer, nonce: bigint): Promise<PaymentTransaction> => {
    const build = (fee: bigint) =>
      createPaymentTransaction({ account, requirements: offer.requirements, nonce, fee, tokens });
    if (offer.terms.sponsor !== undefined) return build(0n);
    const rate = await currentFeeRate();
    const draft = await build(fees.minFee);
    const fee = fees.feeFor(rate, draft.transaction.length / 2);
    return fee === draft.fee ? draft : build(fee);
  };

  /** 5. The balance, on the chain, against the price plus the fee. */
  const checkBalance = async (offer: PayableOffer, payment: PaymentTransaction) => {
    const { terms } = offer;
    const [stx, token] = await Promise.all([
      chain.getStxBalance(account.address),
      terms.asset.kind === 'stx'
        ? Promise.resolve(0n)
        : chain.getFtBalance(account.address, assetKey(terms.asset)),
    ]);
    const stxNeeded = payment.fee + (terms.asset.kind === 'stx' ? terms.amount : 0n);
    if (stx < stxNeeded) {
      throw new InsufficientBalanceError({
        asset: 'STX',
        required: stxNeeded,
        available: stx,
        address: account.address,
      });
    }
    if (terms.asset.kind !== 'stx' && token < terms.amount) {
      throw new InsufficientBalanceError({
        asset: assetKey(terms.asset),
        required: terms.amount,
        available: token,
        address: account.address,
      });
    }
  };

  const paymentHeader = (
    challenge: PaymentChallenge,
    offer: PayableOffer,
    transaction: string,
  ): PreparedPayment['header'] => {
    if (challenge.version === 1) {
      const value = encodeXPaymentHeader({
        x402Version: 1,
        scheme: offer.requirements.scheme,
        network: offer.requirements.network,
        payload: { transaction },
      });
      return { name: 'X-PAYMENT', value };
    }
    const { resource, extensions } = challenge.paymentRequired;
    const value = encodePaymentSignatureHeader({
      x402Version: 2,
      resource,
      accepted: challenge.paymentRequired.accepts[offer.index]!,
      payload: { transaction },
      ...(extensions ? { extensions } : {}),
    });
    return { name: 'payment-signature', value };
  };

  return {
    account,
    chain,
    spent(asset) {
      return budget.spent(assetKey(resolveAsset(asset, account.network, tokens)));
    },

    async preparePayment(challenge, { url }) {
      // 1. The offers this account may pay, in the server's order.
      const sorted = sortOffers(challenge.offers, account, policy, tokens);
      const refusals: RequirementRefusal[] = [...sorted.refusals];
      // 2. The first of them that fits the budget; the amount is reserved at once, so parallel payments cannot
      //    overspend it together.
      let chosen: { offer: PayableOffer; held: BudgetReservation } | undefined;
      let overBudget: OfferPolicyRefusal | undefined;
      for (const offer of sorted.payable) {
        const key = assetKey(offer.terms.asset);
        const held = budget.reserve(key, offer.terms.asset.symbol ?? key, offer.terms.amount);
        if ('release' in held) {
          chosen = { offer, held };
          break;
        }
        refusals.push({
          requirement: offer.requirements,
          reason: held.reason,
          message: held.message,
        });
        overBudget ??= { requirements: offer.requirements, refusal: held };
      }
      if (!chosen) {
        const limit = overBudget ?? sorted.policyRefusal;
        if (!limit) throw new NoAcceptableRequirementError(refusals);
        throw new PaymentPolicyError(limit.refusal.reason, limit.refusal.message, {
          requirement: limit.requirements,
          ...(limit.refusal.limit === undefined ? {} : { limit: limit.refusal.limit }),
          refusals,
        });
      }
      const { offer, held } = chosen;
      const { terms } = offer;
      // 3. Consent.
      try {
        const consent = await options.onPaymentRequired?.({
          url,
          paymentRequired: challenge.paymentRequired,
          requirements: offer.requirements,
          amount: terms.amount,
          asset: assetKey(terms.asset),
          payTo: terms.payTo.principal,
          sponsored: terms.sponsor !== undefined,
        });
        if (consent === false) {
          throw new PaymentPolicyError('payment_declined', 'onPaymentRequired declined it', {
            requirement: offer.requirements,
          });
        }
      } catch (error) {
        held.release();
        throw error;
      }
      // 4. The account's turn and nonce; 5. the balance; 6. the signed payment and its header.
      let lease: NonceLease;
      try {
        lease = await fromChain(() => nonces.acquire());
      } catch (error) {
        held.release();
        throw error;
      }
      let payment: PaymentTransaction;
      let header: PreparedPayment['header'];
      try {
        payment = await fromChain(() => sign(offer, lease.nonce));
        await fromChain(() => checkBalance(offer, payment));
        header = paymentHeader(challenge, offer, payment.transaction);
      } catch (error) {
        lease.resync();
        held.release();
        throw error;
      }

      const receiptOf = (
        settlement: PaymentReceipt['settlement'],
        settledTxid: string | undefined,
      ): PaymentReceipt => ({
        url,
        requirements: offer.requirements,
        amount: terms.amount,
        asset: assetKey(terms.asset),
        payer: account.address,
        network: terms.network.caip2,
        signedTxid: payment.txid,
        txid: settledTxid ?? payment.txid,
        nonce: payment.nonce,
        fee: payment.fee,
        settlement,
      });

      return {
        header,
        requirements: offer.requirements,
        txid: payment.txid,
        nonce: payment.nonce,

        async complete(answer, response) {
          const outcome = readPaymentOutcome(challenge.version, answer);
          switch (outcome.kind) {
            case 'served': {
              lease.used();
              const receipt = receiptOf(outcome.settlement, outcome.txid);
              try {
                await options.onPaymentSettled?.(receipt);
              } catch {
                // A logging hook must not turn a paid, served response into a failure.
              }
              return receipt;
            }
            case 'pending':
              // Broadcast: the nonce is spent and the money may still move, so the budget keeps it.
              lease.used();
              throw new SettlementPendingError(outcome.txid, { response });
            case 'rejected':
              // Refused: the price did not move. The nonce may be free again, so the chain decides the next one.
              lease.resync();
              held.release();
              throw new PaymentRejectedError(
                {
                  facilitatorReason: outcome.reason,
                  ...(outcome.message ? { message: outcome.message } : {}),
                  ...(outcome.txid ? { txid: outcome.txid } : {}),
                },
                { response },
              );
            case 'unknown':
              // An error status without a receipt: it may have settled, so the budget keeps the amount.
              lease.resync();
              return undefined;
          }
        },

        fail(cause) {
          lease.resync();
          return new PaymentNetworkError('retry', { txid: payment.txid }, { cause });
        },
      };
    },
  };
}

/**
 * The request headers that carry a payment. A request that already has one is never paid again: it is the retry,
 * or its caller pays by hand.
 * @example
 * ```ts
 * const alreadyPaid = PAYMENT_REQUEST_HEADERS.some((name) => request.headers.has(name));
 * ```
 */
export const PAYMENT_REQUEST_HEADERS = ['payment-signature', 'x-payment'] as const;
