/** What one kind of attacker sent and what it was answered, for the table and the fee-per-attack ratio. */
import type { SettleOutcome } from './settle-client.js';

export type AttackTally = {
  readonly name: string;
  /** Signed payments sent to /settle (each distinct; the attacker never retries). */
  attempts: number;
  /** Answers by reason (`success`, an errorReason, or a no-answer cause). */
  readonly answers: Map<string, number>;
};

export function attackTally(name: string): AttackTally {
  return { name, attempts: 0, answers: new Map() };
}

export function recordAttack(tally: AttackTally, outcome: SettleOutcome): void {
  tally.attempts++;
  const key =
    outcome.kind === 'no-answer'
      ? outcome.why
      : outcome.answer.success
        ? 'success'
        : (outcome.answer.errorReason ?? 'failure');
  tally.answers.set(key, (tally.answers.get(key) ?? 0) + 1);
}

/** `reason ×n, …`, most frequent first. */
export function describeAnswers(tally: AttackTally): string {
  return [...tally.answers]
    .sort((a, b) => b[1] - a[1])
    .map(([reason, n]) => `${reason} ×${n}`)
    .join(', ');
}
