/**
 * The seller's side of batch-settlement under `@x402/core`'s `x402ResourceServer`. Prices are read as `exact` reads
 * them; the offer gets the escrow and receiver-authorizer of the facilitator's batch-settlement kind, the route's
 * withdraw delay and suggested deposit, and the sponsor that pays a deposit's fee. The facilitator keeps every
 * channel's charged total, so a stock seller holds no money state: its `verify` then `settle` charges one voucher, and
 * a lower `Settlement-Overrides` amount charges less. A refused voucher's corrective snapshot (`channelState`,
 * `voucherState` in the facilitator's answer) is copied into the 402 it gets, so the buyer can resynchronise.
 * @module
 */
import type {
  PaymentPayload,
  PaymentRequirements,
  SchemeEnrichPaymentRequiredResponseHook,
  SchemeServerHooks,
} from '@x402/core/types';
import { BATCH_SETTLEMENT, WITHDRAW_DELAY_BOUNDS } from '../batch/wire.js';
import { isValidStacksAddress } from '../stacks/address.js';
import { resolveNetwork } from '../stacks/networks.js';
import { parseAtomic } from '../stacks/units.js';
import { ExactStacksSchemeError } from './errors.js';
import { createServerRole, type ServerRole, type ServerRoleOptions } from './server-role.js';

/**
 * Options of the batch-settlement server role. A route's own `extra.withdrawDelay` / `extra.minDeposit` /
 * `extra.sponsor` win over these.
 * @example
 * ```ts
 * const options: BatchServerRoleOptions = { withdrawDelay: 144, minDeposit: 500_000n };
 * ```
 */
export type BatchServerRoleOptions = ServerRoleOptions & {
  /**
   * Burn blocks a payer who leaves without the seller waits before withdrawing, so how long the facilitator has to
   * claim: 6 to 4,320. Default 144 (about a day).
   */
  withdrawDelay?: number;
  /** The deposit suggested to buyers, atomic units of the price's asset. Default 100 × the price, at least the price. */
  minDeposit?: bigint | string | number;
};

/** The batch-settlement server role's members, as `SchemeNetworkServer` names them. */
export type BatchServerRole = ServerRole & {
  readonly schemeHooks: SchemeServerHooks;
  readonly enrichPaymentRequiredResponse: SchemeEnrichPaymentRequiredResponseHook;
};

/** The `extra` fields a corrective 402 adds to the paid offer; a payment may echo them. */
export const BATCH_CORRECTIVE_FIELDS = ['channelState', 'voucherState'] as const;

/** How many requests the suggested deposit covers when the options name none (as our own seller suggests). */
const DEFAULT_DEPOSIT_REQUESTS = 100n;
const DEFAULT_WITHDRAW_DELAY = 144;

/**
 * Creates the batch-settlement server role.
 * @throws {ExactStacksSchemeError} `invalid_server_config` for a withdraw delay or suggested deposit out of range.
 * @example
 * ```ts
 * const role = createBatchServerRole({ withdrawDelay: 144 });
 * await role.enhancePaymentRequirements(requirements, batchKind, []); // extra.escrow, receiverAuthorizer, …
 * ```
 */
export function createBatchServerRole(options: BatchServerRoleOptions = {}): BatchServerRole {
  const { withdrawDelay = DEFAULT_WITHDRAW_DELAY, minDeposit, ...priceOptions } = options;
  const sponsored = options.sponsored ?? true;
  if (!isWithdrawDelay(withdrawDelay)) {
    throw new ExactStacksSchemeError(
      'invalid_server_config',
      `withdrawDelay must be an integer from ${WITHDRAW_DELAY_BOUNDS.min} to ${WITHDRAW_DELAY_BOUNDS.max} burn blocks, got ${String(withdrawDelay)}`,
    );
  }
  const suggested = minDeposit === undefined ? undefined : atomicOption(minDeposit, 'minDeposit');
  const prices = createServerRole(priceOptions);
  // A refused payment's snapshot, from the facilitator's verify answer to the 402 core builds for the same payload.
  const correctives = new WeakMap<object, Record<string, unknown>>();

  return {
    parsePrice: prices.parsePrice,
    getAssetDecimals: prices.getAssetDecimals,

    async enhancePaymentRequirements(requirements, supportedKind) {
      const served = supportedKind.extra ?? {};
      const network = resolveNetwork(requirements.network);
      if (typeof served.escrow !== 'string' || typeof served.receiverAuthorizer !== 'string') {
        throw new ExactStacksSchemeError(
          'invalid_server_config',
          `the facilitator's ${BATCH_SETTLEMENT} kind on ${requirements.network} names no escrow and receiverAuthorizer`,
        );
      }
      const extra: Record<string, unknown> = { ...requirements.extra };
      extra.escrow = served.escrow;
      extra.receiverAuthorizer = served.receiverAuthorizer;
      if (extra.withdrawDelay === undefined) extra.withdrawDelay = withdrawDelay;
      if (!isWithdrawDelay(extra.withdrawDelay)) {
        throw new ExactStacksSchemeError(
          'invalid_server_config',
          `extra.withdrawDelay must be an integer from ${WITHDRAW_DELAY_BOUNDS.min} to ${WITHDRAW_DELAY_BOUNDS.max}`,
        );
      }
      const price = BigInt(requirements.amount);
      const deposit =
        extra.minDeposit === undefined
          ? (suggested ?? price * DEFAULT_DEPOSIT_REQUESTS)
          : atomicOption(extra.minDeposit as string, 'extra.minDeposit');
      extra.minDeposit = (deposit > price ? deposit : price).toString();
      // A route that names its own sponsor, or opts out with `extra.sponsor: false`, keeps its choice.
      const sponsor = served.sponsor;
      if (sponsored && extra.sponsor === undefined && typeof sponsor === 'string') {
        if (isValidStacksAddress(sponsor, network)) extra.sponsor = sponsor;
      }
      if (extra.sponsor === false) delete extra.sponsor;
      if (typeof extra.sponsor === 'string' && extra.feePayer === undefined)
        extra.feePayer = extra.sponsor;
      return { ...requirements, extra };
    },

    schemeHooks: {
      async onAfterVerify({ paymentPayload, result }) {
        if (result.isValid) return;
        const snapshot = (result as { extra?: Record<string, unknown> }).extra;
        if (typeof snapshot?.channelState !== 'object' || snapshot.channelState === null) return;
        const corrective: Record<string, unknown> = {};
        for (const field of BATCH_CORRECTIVE_FIELDS)
          if (typeof snapshot[field] === 'object' && snapshot[field] !== null)
            corrective[field] = snapshot[field];
        correctives.set(paymentPayload, corrective);
      },
    },

    async enrichPaymentRequiredResponse({ requirements, paymentPayload }) {
      const corrective = paymentPayload ? correctives.get(paymentPayload) : undefined;
      if (!paymentPayload || !corrective) return undefined;
      correctives.delete(paymentPayload);
      const paid = paymentPayload.accepted as PaymentRequirements;
      return requirements.map((entry) =>
        isPaidOffer(entry, paid) ? { ...entry, extra: { ...entry.extra, ...corrective } } : entry,
      );
    },
  };
}

function isPaidOffer(entry: PaymentRequirements, paid: PaymentPayload['accepted']): boolean {
  return (
    entry.scheme === BATCH_SETTLEMENT &&
    entry.scheme === paid.scheme &&
    entry.network === paid.network &&
    entry.amount === paid.amount &&
    entry.asset === paid.asset &&
    entry.payTo === paid.payTo
  );
}

function isWithdrawDelay(value: unknown): value is number {
  return (
    typeof value === 'number' &&
    Number.isInteger(value) &&
    value >= WITHDRAW_DELAY_BOUNDS.min &&
    value <= WITHDRAW_DELAY_BOUNDS.max
  );
}

function atomicOption(value: bigint | string | number, name: string): bigint {
  try {
    return parseAtomic(value);
  } catch (cause) {
    throw new ExactStacksSchemeError(
      'invalid_server_config',
      `${name} must be atomic units as an integer, got ${String(value)}`,
      { cause },
    );
  }
}
