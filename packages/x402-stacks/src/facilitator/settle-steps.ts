/**
 * How long each step of a settlement took, for an operator's metrics: `FacilitatorOptions.onSettleStep` hears each
 * step as it ends. The steps follow the numbered steps of `settle.ts`; a step that does not happen (no nonce to wait
 * for, nothing to sponsor) is not reported, and one that throws is not either.
 * @module
 */

/**
 * The steps of a settlement, in the order they run:
 * - `replay_check`: the ledger read that tells a new payment from a retry;
 * - `retry`: answering a retry of a payment the ledger holds (waiting on its first call, following its broadcast);
 * - `verify`: the payment checked again, on the payer's chain state;
 * - `claim`: the atomic claim in the ledger (where the ledger claims, checks and marks in one step, all three);
 * - `funds_check`: the payer's money in flight, read after the claim;
 * - `nonce_wait`: a payment ahead of its payer's next nonce, or a sponsored one, waiting for the ones before it;
 * - `payment_id`: the `payment-identifier` id bound to the claim;
 * - `sponsor`: a sponsored payment's nonce reserved and the transaction signed;
 * - `write_ahead`: the settlement marked `broadcast` before it is sent;
 * - `broadcast`: the node's answer to the transaction;
 * - `confirm`: following it to its status and recording the one answer (`success`, or `settlement_pending` at the
 *   settle timeout).
 * @example
 * ```ts
 * const stepSeconds = new Histogram({ name: 'settle_step_seconds', help: '…', labelNames: ['step'] });
 * for (const step of SETTLE_STEPS) stepSeconds.zero({ step });
 * ```
 */
export const SETTLE_STEPS = [
  'replay_check',
  'retry',
  'verify',
  'claim',
  'funds_check',
  'nonce_wait',
  'payment_id',
  'sponsor',
  'write_ahead',
  'broadcast',
  'confirm',
] as const;

/** A step of a settlement: see {@link SETTLE_STEPS}. */
export type SettleStep = (typeof SETTLE_STEPS)[number];

/**
 * Hears how long a step of a settlement took, in milliseconds. Called on the settlement's own path: keep it cheap
 * (a histogram's `observe`). One that throws is ignored, so that a metric can never change an answer about money.
 * @example
 * ```ts
 * const onSettleStep: SettleStepObserver = (step, ms) => stepSeconds.observe({ step }, ms / 1000);
 * ```
 */
export type SettleStepObserver = (step: SettleStep, milliseconds: number) => void;

/** Ends the step running now, naming it: the time since the previous step ended, or since the settlement began. */
export type SettleLap = (step: SettleStep) => void;

const NO_LAP: SettleLap = () => undefined;

/**
 * A stopwatch for one settlement, started now. Without an observer it is a function that does nothing.
 * @example
 * ```ts
 * const lap = settleStopwatch(context.onSettleStep);
 * await ledger.claim(settlement);
 * lap('claim');
 * ```
 */
export function settleStopwatch(observe: SettleStepObserver | undefined): SettleLap {
  if (!observe) return NO_LAP;
  let last = performance.now();
  return (step) => {
    const now = performance.now();
    const took = now - last;
    last = now;
    try {
      observe(step, took);
    } catch {
      // A metric must not change an answer about money: see SettleStepObserver.
    }
  };
}
