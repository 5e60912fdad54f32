/**
 * How long each step of a settlement took, for an operator's metrics: `FacilitatorOptions.onSettleStep` hears each
 * step as it ends. The steps follow the numbered steps of `settle.ts`. A step that does not happen (no nonce to wait
 * for, nothing to sponsor) is not reported, nor one that throws (a chain that cannot be reached: the call fails).
 * Two cases report more than once or start late:
 * - a sponsored payment whose sponsor nonce the node refused is sponsored afresh in the same call, and reports its
 *   steps from `claim` on again, once per attempt;
 * - a scheme mechanism's transaction (a batch-settlement deposit) is examined by its mechanism, and reports its steps
 *   from `claim` on.
 * @module
 */

/**
 * The steps of a settlement, in the order they run:
 * - `replay_check`: the ledger read that tells a new payment from a retry;
 * - `retry`: answering a retry of a payment the ledger holds (waiting on its first call, following its broadcast), or
 *   finding that it is to be settled afresh;
 * - `verify`: the payment checked again, on the payer's chain state (reported when it refuses the payment, too);
 * - `claim`: the atomic claim in the ledger (where the ledger claims, checks and marks in one step, all three);
 * - `funds_check`: the payer's money in flight, read after the claim (a sponsored payment that waited for its nonce is
 *   checked again after the wait, on a fresh read of its balance);
 * - `nonce_wait`: a payment ahead of its payer's next nonce, or a sponsored one, waiting for the ones before it;
 * - `payment_id`: the `payment-identifier` id bound to the claim;
 * - `sponsor`: a sponsored payment's nonce reserved and the transaction signed;
 * - `write_ahead`: the settlement marked `broadcast` before it is sent;
 * - `broadcast`: the node's answer to the transaction (its refusal judged, when it refused), or a broadcast whose
 *   answer was lost on the way back (the node may hold the transaction, so it is followed);
 * - `confirm`: following it to its status and giving the answer: `success` (or `duplicate_settlement` when another
 *   call answered first), a failure on chain, or `settlement_pending` at the settle timeout.
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

/**
 * A step of a settlement: see {@link SETTLE_STEPS}.
 * @example
 * ```ts
 * const onSettleStep = (step: SettleStep, ms: number) => {
 *   if (step === 'confirm') confirmSeconds.observe(ms / 1000);
 * };
 * ```
 */
export type SettleStep = (typeof SETTLE_STEPS)[number];

/**
 * Hears how long a step of a settlement took, in milliseconds. Called on the settlement's own path: keep it cheap
 * (a histogram's `observe`) and synchronous. One that throws is ignored, so that a metric can never change an answer
 * about money, and so is the rejection of one that returns a promise anyway. Its own time is not counted in any step.
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
    const took = performance.now() - last;
    try {
      // Typed void, but an async function fits the type: its rejection must not end the process either.
      const returned: unknown = observe(step, took);
      if (returned instanceof Promise) returned.catch(() => undefined);
    } catch {
      // A metric must not change an answer about money: see SettleStepObserver.
    }
    last = performance.now();
  };
}
