/**
 * One settle call or status look against whichever facilitator process is up, reduced to what a buyer acts on:
 * an x402 SettleResponse, or no usable answer (killed mid-request, refused connection, 5xx, deadline).
 */
import { NoAnswerError } from './http.js';
import type { RunContext } from './run-context.js';

export type SettleAnswer = {
  readonly success: boolean;
  readonly errorReason?: string;
  readonly errorMessage?: string;
  readonly transaction: string;
};

export type SettleOutcome =
  | { readonly kind: 'answer'; readonly answer: SettleAnswer }
  | { readonly kind: 'no-answer'; readonly why: string };

export async function settleVia(
  context: RunContext,
  body: string,
  timeoutMs: number,
): Promise<SettleOutcome> {
  const url = context.cluster.pick();
  if (!url) return { kind: 'no-answer', why: 'no process up' };
  try {
    const { status, body: answer } = await context.http.post(`${url}/settle`, body, timeoutMs);
    const settle = answer as Partial<SettleAnswer> | undefined;
    if (status !== 200 || typeof settle?.success !== 'boolean')
      return { kind: 'no-answer', why: `http ${status}` };
    return { kind: 'answer', answer: settle as SettleAnswer };
  } catch (error) {
    if (error instanceof NoAnswerError) return { kind: 'no-answer', why: 'no answer' };
    throw error;
  }
}

/** `GET /settlements/:txid`: the ledger's state of a settlement, or undefined when nobody answered. */
export async function statusVia(
  context: RunContext,
  txid: string,
  timeoutMs: number,
): Promise<{ state: string; errorReason?: string } | undefined> {
  const url = context.cluster.pick();
  if (!url) return undefined;
  try {
    const { status, body } = await context.http.get(`${url}/settlements/${txid}`, timeoutMs);
    const settlement = body as { state?: unknown; errorReason?: string } | undefined;
    if (status !== 200 || typeof settlement?.state !== 'string') return undefined;
    return settlement as { state: string; errorReason?: string };
  } catch (error) {
    if (error instanceof NoAnswerError) return undefined;
    throw error;
  }
}
