/**
 * What `x402-stacks pay` tells its user, step by step: as text for people (progress on stderr, the body on stdout),
 * or as JSON for agents and scripts. The same step objects serve both, so the two can never say different things.
 *
 * - `--json` (or `--json=steps`): one JSON object a line on stdout, one for each step as it happens, the last one
 *   `{"step": "result", …}`. The response body is in the `response` step (`body` for UTF-8 text, else `bodyBase64`).
 * - `--json=summary`: one JSON object on stdout at the end: the result's fields and `steps`, every other step in order.
 *
 * No step holds a secret: never the key, never the payment header's value (a captured one can be replayed), and URLs
 * lose their credentials and key parameters.
 * @module
 */
import type { Io } from './io.js';
import { redactText } from './redacting-io.js';

/** How the steps are written. */
export type PayOutput = 'text' | 'steps' | 'summary';

/** One offer of a 402, as shown: the amount in atomic units and in whole units with its asset (`price`). */
export type OfferView = {
  scheme: string;
  network: string;
  /** Atomic units, as the server wrote them. */
  amount: string;
  /** The asset as the server wrote it. */
  asset: string;
  /** Whole units and the asset's symbol: `'0.0025 STX'`. */
  price: string;
  payTo: string;
  sponsored: boolean;
};

/** The steps, in the order they can happen. Field names are stable: scripts read them. */
export type PayStep =
  | { step: 'request'; method: string; url: string; payer: string; network: string }
  | { step: 'redirect'; status: number; from: string; to: string }
  | { step: 'challenge'; origin: string; url: string; version: number; offers: OfferView[] }
  | { step: 'offer_chosen'; origin: string; url: string; offer: OfferView }
  | { step: 'dry_run'; origin: string; offer: OfferView | null }
  | {
      step: 'payment_sent';
      origin: string;
      url: string;
      method: string;
      header: string;
      txid: string | null;
    }
  | {
      step: 'settlement';
      origin: string;
      txid: string;
      /** What the chain API says of it (`success`, `pending`, …), or null when it could not be asked. */
      chainStatus: string | null;
      blockHeight: number | null;
      /** Null when the payment header came from the user (`-H`): the command did not sign it. */
      paid: {
        price: string;
        amount: string;
        asset: string;
        payTo: string;
        fee: string;
        feeMicroStx: string;
      } | null;
      explorer: string;
    }
  | {
      step: 'response';
      status: number;
      statusText: string;
      contentType: string | null;
      body?: string;
      bodyBase64?: string;
    };

/** How the command ended: `reason` is a stable snake_case code whenever `ok` is false. */
export type PayResult = {
  ok: boolean;
  exitCode: number;
  reason?: string;
  message?: string;
  txid?: string;
  explorer?: string;
};

/** Writes the steps in one of the three outputs. */
export type PayReporter = {
  step(step: PayStep): void;
  /** The response and its body: the body goes to stdout as is in text mode, inside the step in JSON. */
  response(status: number, statusText: string, contentType: string | null, body: Uint8Array): void;
  /** Writes the end and returns the exit code. */
  finish(result: PayResult): number;
};

/**
 * Creates the reporter.
 * @param io where to write; text progress should already be redacted (see `redactingIo`), the body is written raw.
 * @example
 * ```ts
 * const report = createPayReporter('summary', io);
 * return report.finish({ ok: true, exitCode: 0 });
 * ```
 */
export function createPayReporter(output: PayOutput, io: Io): PayReporter {
  const steps: PayStep[] = [];
  const record = (step: PayStep) => {
    if (output === 'steps') io.out(JSON.stringify(step));
    else if (output === 'summary') steps.push(step);
    else io.err(describeStep(step));
  };
  return {
    step: record,
    response(status, statusText, contentType, body) {
      if (output === 'text') {
        io.err(`HTTP ${status} ${statusText}`.trimEnd());
        const text = Buffer.from(body).toString('utf8');
        if (text !== '') io.out(text.replace(/\n$/, ''));
        return;
      }
      const text = utf8(body);
      record({
        step: 'response',
        status,
        statusText,
        contentType,
        ...(text === undefined
          ? { bodyBase64: Buffer.from(body).toString('base64') }
          : { body: text }),
      });
    },
    finish(result) {
      const shown = {
        ...result,
        ...(result.message ? { message: redactText(result.message) } : {}),
      };
      if (output === 'steps') io.out(JSON.stringify({ step: 'result', ...shown }));
      else if (output === 'summary') io.out(JSON.stringify({ ...shown, steps }));
      else if (!result.ok && result.message) {
        io.err(`x402-stacks pay: ${result.message}${result.reason ? ` (${result.reason})` : ''}`);
        if (result.explorer) io.err(`  Explorer: ${result.explorer}`);
      }
      return result.exitCode;
    },
  };
}

function utf8(body: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return undefined;
  }
}

/** One offer on one line: `0.0025 STX (2500 atomic) to ST… on stacks:2147483648 (exact, sponsored)`. */
export function describeOffer(offer: OfferView): string {
  return `${offer.price} (${offer.amount} atomic) to ${offer.payTo} on ${offer.network} (${offer.scheme}${offer.sponsored ? ', sponsored' : ''})`;
}

function describeStep(step: PayStep): string {
  switch (step.step) {
    case 'request':
      return `${step.method} ${step.url} (paying from ${step.payer} on ${step.network})`;
    case 'redirect':
      return `Redirected (${step.status}) within the origin, unpaid: ${step.from} -> ${step.to}`;
    case 'challenge':
      return [
        `402 Payment Required (x402 v${step.version}), ${step.offers.length} offer(s) from ${step.origin}`,
        ...step.offers.map((offer, index) => `  ${index + 1}. ${describeOffer(offer)}`),
      ].join('\n');
    case 'offer_chosen':
      return [
        `Paying ${step.origin} for ${describeOffer(step.offer)}`,
        step.offer.sponsored
          ? '  the facilitator pays the fee (sponsored)'
          : '  you pay the network fee',
      ].join('\n');
    case 'dry_run':
      return step.offer
        ? `Dry run: would pay ${step.origin} for ${describeOffer(step.offer)}; nothing signed or sent.`
        : 'Dry run: nothing signed or sent.';
    case 'payment_sent':
      return [
        `Signed: txid ${step.txid ?? 'unknown'} (not broadcast: the seller's facilitator settles it)`,
        `Settling: ${step.method} ${step.url} with ${step.header} (redirects not followed)`,
      ].join('\n');
    case 'settlement': {
      const where = step.blockHeight === null ? '' : ` in block ${step.blockHeight}`;
      const chain =
        step.chainStatus === null
          ? ' (the chain API did not answer)'
          : ` ${step.chainStatus}${where}`;
      const lines = [`Confirmed: ${step.txid}${chain}`];
      if (step.paid)
        lines.push(
          `Paid ${step.paid.price} to ${step.paid.payTo} (fee ${step.paid.fee}) at ${step.origin}`,
        );
      lines.push(`Explorer: ${step.explorer}`);
      return lines.join('\n');
    }
    case 'response':
      return `HTTP ${step.status} ${step.statusText}`.trimEnd();
  }
}
