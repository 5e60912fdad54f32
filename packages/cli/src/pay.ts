/**
 * `x402-stacks pay <url>`: curl with a wallet. It makes the request; on a 402 it shows the origin and the offer, pays
 * through the library's own fetch wrapper (`wrapFetchWithPayment`: one paid retry, never a redirect with the payment),
 * and reports settlement and confirmation. The response body goes to stdout and the progress to stderr, so the body
 * can be piped; `--json` writes the steps as JSON instead (see pay-report.ts).
 * @module
 */
import { parseArgs } from 'node:util';
import { privateKeyToAccount, type StacksAccount, type StacksNetworkName } from 'x402-stacks';
import { redactUrl } from 'x402-stacks/chain';
import {
  getExplorerURL,
  MAX_CHALLENGE_BODY_BYTES,
  type PaymentOptions,
  PaymentPolicyError,
  type PaymentReceipt,
  readPaymentChallenge,
  readPaymentOutcome,
  readTextUpTo,
  resolveChainClient,
  SettlementPendingError,
  type Signer,
  socketSigner,
  wrapFetchWithPayment,
} from 'x402-stacks/client';
import {
  formatAmount,
  formatPrice,
  STX_ASSET,
  type StacksPaymentRequirements,
} from 'x402-stacks/stacks';
import { describeFailure } from './balance.js';
import {
  BUDGET_FLAGS,
  BUDGET_USAGE,
  type BudgetSettings,
  budgetPaymentOptions,
  readAssetAmounts,
  readBudgetSettings,
} from './budget-options.js';
import { MAX_DATA_FILE_BYTES, MAX_KEY_FILE_BYTES, readInputFile } from './input-file.js';
import { EXIT_USAGE, type Io, processIo, UsageError } from './io.js';
import { networkFlag } from './keygen.js';
import { createPayFetch, PayRefusal } from './pay-fetch.js';
import {
  createPayReporter,
  type OfferView,
  type PayOutput,
  type PayReporter,
  type PayResult,
} from './pay-report.js';
import { redactingIo, redactText } from './redacting-io.js';

export const PAY_USAGE = `Usage: x402-stacks pay <url> [options]

Requests <url> like curl. On 402 Payment Required it shows the origin asking to be paid and its offer, chooses a
requirement within the limits, signs a Stacks payment, sends the request again with it to that URL only, and
reports settlement and confirmation. The body goes to stdout; progress goes to stderr.

Options:
  -X, --method <method>    HTTP method (default GET, or POST with --data)
  -d, --data <body>        request body; @<file> reads it from a regular file of at most 10 MiB
  -H, --header <header>    request header 'Name: value'; repeatable
  --max-amount <amount>    largest payment in one asset, in whole units: '0.01STX', '0.0001 sBTC', '2 USDCx';
                           repeatable, and then only the assets named are paid
                           (default: 1 STX, 0.0001 sBTC, 1 USDCx)
  --key-file <path>        file holding the payer's private key (default: the STACKS_PRIVATE_KEY variable); a
                           regular file of at most 4 KiB that only its owner may read or write (chmod 600)
  --allow-insecure-key-file
                           use a key file that other users may read or write anyway
  --network <name>         testnet or mainnet (default: NETWORK, else testnet)
  --api-url <url>          Stacks node with the Hiro API for nonces and balances (default: STACKS_API_URL_TESTNET
                           or _MAINNET, then STACKS_API_URL, then Hiro)
${BUDGET_USAGE}
  --signer-socket <path>   sign through an 'x402-stacks signer' listening on this Unix socket instead of a key
                           file: this process never holds the key (env X402_SIGNER_SOCKET)
  --dry-run                show the offer and what would be paid; sign and send nothing
  --json[=steps|summary]   JSON on stdout instead of text: one object a line for each step, the last one
                           {"step":"result",...} (steps, the default), or one object at the end (summary)
  -h, --help               show this help

Where it pays: only the URL that answered 402. The unpaid request follows redirects within the origin of <url>
only; a redirect to another origin is refused (cross_origin_redirect), and the paid request never follows a
redirect (paid_request_redirected). The key is never taken from a flag, where other users could read it in the
process list.

Environment: STACKS_PRIVATE_KEY, NETWORK, STACKS_API_URL_TESTNET, STACKS_API_URL_MAINNET, STACKS_API_URL,
STACKS_API_KEY (sent as x-api-key), X402_BUDGET, X402_WINDOW_BUDGET, X402_BUDGET_WINDOW, X402_BUDGET_FILE,
X402_SIGNER_SOCKET.

Exit codes: 0 when the resource was served (any status below 400) and, if a payment was sent, the server's
payment-response confirmed its settlement; 1 when the payment was refused, failed, is pending or unconfirmed, or
the server answered an error; 2 for a usage error (including a key or data file that is refused).`;

/** What `x402-stacks pay` was asked to do. */
export type PayCommandOptions = {
  url: string;
  method: string;
  body: string | undefined;
  headers: [string, string][];
  maxAmount: Record<string, bigint> | undefined;
  keyFile: string | undefined;
  allowInsecureKeyFile: boolean;
  network: StacksNetworkName;
  apiUrl: string | undefined;
  apiKey: string | undefined;
  dryRun: boolean;
  output: PayOutput;
  budget: BudgetSettings;
  /** The Unix socket of an `x402-stacks signer` that holds the key; this process then never reads one. */
  signerSocket: string | undefined;
};

const PAY_FLAGS = {
  method: { type: 'string', short: 'X' },
  data: { type: 'string', short: 'd' },
  header: { type: 'string', short: 'H', multiple: true },
  'max-amount': { type: 'string', multiple: true },
  'key-file': { type: 'string' },
  'allow-insecure-key-file': { type: 'boolean' },
  network: { type: 'string' },
  'api-url': { type: 'string' },
  'dry-run': { type: 'boolean' },
  'signer-socket': { type: 'string' },
  ...BUDGET_FLAGS,
  json: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * Reads the pay command's flags.
 * @throws {UsageError}
 * @example
 * ```ts
 * parsePayArgs(['http://localhost:3003/api/data', '--max-amount', '0.01STX']).maxAmount; // { STX: 10000n }
 * ```
 */
export function parsePayArgs(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): PayCommandOptions | 'help' {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof PAY_FLAGS; allowPositionals: true }>>;
  try {
    // A bare --json means steps; spelled out, so that parseArgs never takes the URL after it as its value.
    const args = argv.map((argument) => (argument === '--json' ? '--json=steps' : argument));
    parsed = parseArgs({ args, options: PAY_FLAGS, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (values.json !== undefined && values.json !== 'steps' && values.json !== 'summary') {
    throw new UsageError(
      `--json must be --json, --json=steps or --json=summary, got '${values.json}'`,
    );
  }
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length === 0 ? 'a URL is required' : 'give exactly one URL');
  }
  if (values['signer-socket'] !== undefined && values['key-file'] !== undefined) {
    throw new UsageError('give --key-file or --signer-socket, not both');
  }
  const url = positionals[0]!;
  if (!/^https?:\/\//i.test(url) || !URL.canParse(url)) {
    throw new UsageError(`'${url}' is not an http(s) URL`);
  }
  const network = networkFlag(values.network ?? (env.NETWORK || undefined));
  const body = values.data === undefined ? undefined : readData(values.data);
  return {
    url,
    method: (values.method ?? (body === undefined ? 'GET' : 'POST')).toUpperCase(),
    body,
    headers: (values.header ?? []).map(readHeader),
    maxAmount: values['max-amount']
      ? readAssetAmounts(values['max-amount'], '--max-amount', network)
      : undefined,
    budget: readBudgetSettings(values, env, network),
    signerSocket: values['signer-socket'] ?? (env.X402_SIGNER_SOCKET || undefined),
    keyFile: values['key-file'],
    allowInsecureKeyFile: values['allow-insecure-key-file'] ?? false,
    network,
    // The environment is read here, not deep in the library, so the command sees exactly the env it was given.
    apiUrl:
      values['api-url'] ??
      (env[`STACKS_API_URL_${network.toUpperCase()}`] || env.STACKS_API_URL || undefined),
    apiKey: env.STACKS_API_KEY || undefined,
    dryRun: values['dry-run'] ?? false,
    output: (values.json as 'steps' | 'summary' | undefined) ?? 'text',
  };
}

function readData(data: string): string {
  if (!data.startsWith('@')) return data;
  return readInputFile(data.slice(1), { flag: '--data', maxBytes: MAX_DATA_FILE_BYTES });
}

function readHeader(header: string): [string, string] {
  const colon = header.indexOf(':');
  const name = colon > 0 ? header.slice(0, colon).trim() : '';
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
    throw new UsageError(`--header '${header}' is not 'Name: value'`);
  }
  return [name, header.slice(colon + 1).trim()];
}

/**
 * Reads the payer's key: from `--key-file`, else from `STACKS_PRIVATE_KEY`. Never from a flag. A key file must be a
 * regular file of at most 4 KiB that only its owner can read or write, unless `allowInsecureKeyFile`.
 * @throws {UsageError} when there is none or it cannot be read; the message names the file, never the key.
 */
export function loadAccount(
  options: Pick<PayCommandOptions, 'keyFile' | 'network' | 'allowInsecureKeyFile'>,
  env: NodeJS.ProcessEnv,
): StacksAccount {
  let key: string;
  let source: string;
  if (options.keyFile !== undefined) {
    source = options.keyFile;
    key = readInputFile(options.keyFile, {
      flag: '--key-file',
      maxBytes: MAX_KEY_FILE_BYTES,
      ownerOnly: !options.allowInsecureKeyFile,
    }).trim();
  } else if (env.STACKS_PRIVATE_KEY) {
    source = 'STACKS_PRIVATE_KEY';
    key = env.STACKS_PRIVATE_KEY.trim();
  } else {
    throw new UsageError(
      "no key: give --key-file <path>, or set STACKS_PRIVATE_KEY (create one with 'x402-stacks keygen')",
      'no_key',
    );
  }
  try {
    return privateKeyToAccount(key, options.network);
  } catch (error) {
    throw new UsageError(
      `the key in ${source} is not usable: ${describeFailure(error)}`,
      'invalid_key',
    );
  }
}

/** Runs `x402-stacks pay`; resolves with the exit code. */
export async function runPay(
  argv: string[],
  io: Io = processIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  let options: PayCommandOptions;
  let account: StacksAccount | undefined;
  try {
    const parsed = parsePayArgs(argv, env);
    if (parsed === 'help') {
      io.out(PAY_USAGE);
      return 0;
    }
    options = parsed;
    // With a signer socket, the key stays in the signer's process: this one never reads it.
    if (options.signerSocket === undefined) account = loadAccount(options, env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(`x402-stacks pay: ${error.message}\nRun 'x402-stacks pay --help' for usage.`);
    // A script that asked for JSON gets its result as JSON too, even when the flags around it were wrong.
    if (argv.some((argument) => /^--json(=|$)/.test(argument))) {
      io.out(
        JSON.stringify({ step: 'result', ok: false, exitCode: EXIT_USAGE, reason: error.reason }),
      );
    }
    return EXIT_USAGE;
  }
  // Progress and errors show what the server and the URL said: credentials redacted, terminal controls removed. The
  // body on stdout stays as the server sent it, as curl does.
  const report = createPayReporter(options.output, { out: io.out, err: redactingIo(io).err });
  try {
    const payer: StacksAccount | Signer = account ?? (await socketSigner(options.signerSocket!));
    return report.finish(await pay(options, payer, report));
  } catch (error) {
    return report.finish(failure(error, options));
  }
}

/** The result of an error: its reason code, and for a payment in flight its txid and where to look it up. */
function failure(error: unknown, options: PayCommandOptions): PayResult {
  if (error instanceof PayRefusal) {
    return { ok: false, exitCode: 1, reason: error.reason, message: error.message };
  }
  const reason =
    error && typeof error === 'object' && 'reason' in error && typeof error.reason === 'string'
      ? error.reason
      : 'request_failed';
  const txid =
    error && typeof error === 'object' && 'txid' in error && typeof error.txid === 'string'
      ? error.txid
      : undefined;
  // fetch says only 'fetch failed'; why (ECONNREFUSED, ENOTFOUND, a bad port) is in its cause.
  const cause =
    error instanceof TypeError ? (error.cause as NodeJS.ErrnoException | undefined) : undefined;
  const why = cause ? ` (${cause.code ?? cause.message})` : '';
  return {
    ok: false,
    exitCode: 1,
    reason,
    message: `${describeFailure(error)}${why}`,
    ...(txid === undefined ? {} : { txid }),
    ...(error instanceof SettlementPendingError
      ? { explorer: explorerLink(error.txid, options) }
      : {}),
  };
}

/**
 * fetch refuses a URL with `user:password@` (and its error would quote it): the credentials travel as Basic auth
 * instead, unless the caller set an Authorization header of their own.
 */
function requestTarget(url: string, headers: [string, string][]) {
  const parsed = new URL(url);
  if (!parsed.username && !parsed.password) return { url, headers };
  const credentials = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`;
  parsed.username = '';
  parsed.password = '';
  const authorized = headers.some(([name]) => name.toLowerCase() === 'authorization');
  return {
    url: parsed.href,
    headers: authorized
      ? headers
      : [
          ...headers,
          ['authorization', `Basic ${Buffer.from(credentials).toString('base64')}`] as [
            string,
            string,
          ],
        ],
  };
}

/** What was paid on the way: the header sent, and the library's receipt when it was the command that signed. */
type PaymentTrail = {
  /** The challenge being shown; steps that follow it wait for it, so they come after it. */
  challenge: Promise<void>;
  sent: { header: string; txid: string | undefined } | undefined;
  receipt: PaymentReceipt | undefined;
  wouldPay: OfferView | undefined;
};

async function pay(
  options: PayCommandOptions,
  account: StacksAccount | Signer,
  report: PayReporter,
): Promise<PayResult> {
  const target = requestTarget(options.url, options.headers);
  const origin = new URL(target.url).origin;
  const trail: PaymentTrail = {
    challenge: Promise.resolve(),
    sent: undefined,
    receipt: undefined,
    wouldPay: undefined,
  };
  const guarded = createPayFetch(fetch, origin, {
    redirect: (status, from, to) =>
      report.step({ step: 'redirect', status, from: redactUrl(from), to: redactUrl(to) }),
    challenged: (url, response) => {
      trail.challenge = showChallenge(url, response, origin, report);
    },
    paying: (request, header, txid) => {
      trail.sent = { header, txid };
      report.step({
        step: 'payment_sent',
        origin,
        url: redactUrl(request.url),
        method: request.method,
        header,
        txid: txid ?? null,
      });
    },
  });
  const payerOptions: PaymentOptions = {
    ...(options.apiUrl === undefined ? {} : { apiUrl: options.apiUrl }),
    ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
    ...(options.maxAmount
      ? { maxAmount: options.maxAmount, allowedAssets: Object.keys(options.maxAmount) }
      : {}),
    ...budgetPaymentOptions(options.budget),
    onPaymentRequired: async ({ requirements, url }) => {
      await trail.challenge;
      if (options.dryRun) {
        // Declining every offer runs the whole policy and stops before anything is signed.
        trail.wouldPay ??= offerView(requirements);
        return false;
      }
      report.step({
        step: 'offer_chosen',
        origin,
        url: redactUrl(url),
        offer: offerView(requirements),
      });
      return true;
    },
    onPaymentSettled: (receipt) => {
      trail.receipt = receipt;
    },
  };
  const fetchWithPayment = wrapFetchWithPayment(guarded, account, payerOptions);

  report.step({
    step: 'request',
    method: options.method,
    url: redactUrl(options.url),
    payer: account.address,
    network: account.network,
  });
  let response: Response;
  try {
    response = await fetchWithPayment(target.url, {
      method: options.method,
      headers: target.headers,
      ...(options.body === undefined ? {} : { body: options.body }),
    });
  } catch (error) {
    await trail.challenge;
    // An offer passed the limits and was declined before signing: what a dry run is for.
    if (options.dryRun && trail.wouldPay && error instanceof PaymentPolicyError) {
      report.step({ step: 'dry_run', origin, offer: trail.wouldPay });
      return { ok: true, exitCode: 0 };
    }
    throw error;
  }
  const body = new Uint8Array(await response.arrayBuffer());
  const served = { ok: response.status < 400, exitCode: response.status < 400 ? 0 : 1 };
  const httpError = served.ok
    ? {}
    : { reason: 'http_error', message: `${origin} answered ${response.status}` };
  if (!trail.sent) {
    report.response(
      response.status,
      response.statusText,
      response.headers.get('content-type'),
      body,
    );
    if (options.dryRun) report.step({ step: 'dry_run', origin, offer: null });
    return { ...served, ...httpError };
  }
  // A payment went out: only the server's payment-response, saying it settled, makes this a success.
  const outcome = readPaymentOutcome(trail.sent.header === 'payment-signature' ? 2 : 1, {
    status: response.status,
    header: (name) => response.headers.get(name),
    body: response.status === 402 ? Buffer.from(body).toString('utf8') : undefined,
  });
  const txid = (outcome.kind === 'served' ? outcome.txid : undefined) ?? trail.receipt?.txid;
  if (outcome.kind === 'served' && outcome.settlement?.success === true && txid !== undefined) {
    await reportSettlement(txid, trail.receipt, options, origin, report);
    report.response(
      response.status,
      response.statusText,
      response.headers.get('content-type'),
      body,
    );
    return { ...served, ...httpError, txid, explorer: explorerLink(txid, options) };
  }
  report.response(response.status, response.statusText, response.headers.get('content-type'), body);
  return unconfirmed(response, outcome, trail, origin, options);
}

/** Shows every offer of a 402 and who makes it. Never throws: the wrapper reads the 402 again and reports it. */
async function showChallenge(
  url: string,
  response: Response,
  origin: string,
  report: PayReporter,
): Promise<void> {
  try {
    const header = response.headers.get('payment-required');
    // The clone's body is not awaited away: its cancel would wait for the original's, which the wrapper holds.
    if (header) void response.body?.cancel().catch(() => undefined);
    const body = header ? undefined : await readTextUpTo(response, MAX_CHALLENGE_BODY_BYTES);
    const challenge = readPaymentChallenge({ header, body });
    report.step({
      step: 'challenge',
      origin,
      url: redactUrl(url),
      version: challenge.version,
      offers: challenge.offers.map((offer) => offerView(offer.requirements)),
    });
  } catch {
    // An unreadable challenge is the wrapper's to report, with the library's reason.
  }
}

/** A payment was sent and no settlement was confirmed: always a failure, with the reason and what to check. */
function unconfirmed(
  response: Response,
  outcome: ReturnType<typeof readPaymentOutcome>,
  trail: PaymentTrail,
  origin: string,
  options: PayCommandOptions,
): PayResult {
  const txid = (outcome.kind !== 'unknown' ? outcome.txid : undefined) ?? trail.sent?.txid;
  const held = txid
    ? ` ${origin} holds a signed payment (txid ${txid}) it may still settle: look it up before paying again.`
    : ` ${origin} holds a signed payment it may still settle: look it up before paying again.`;
  const lookup = txid ? { txid, explorer: explorerLink(txid, options) } : {};
  if (outcome.kind === 'pending') {
    return {
      ok: false,
      exitCode: 1,
      reason: 'settlement_pending',
      message: `the payment was broadcast but is not confirmed yet; nothing was served.${held}`,
      ...lookup,
    };
  }
  if (outcome.kind === 'rejected') {
    return {
      ok: false,
      exitCode: 1,
      reason: 'payment_rejected',
      message: `the payment was refused (${outcome.reason}${outcome.message ? `: ${outcome.message}` : ''}).${held}`,
      ...lookup,
    };
  }
  if (response.status >= 300 && response.status < 400) {
    const location = response.headers.get('location');
    return {
      ok: false,
      exitCode: 1,
      reason: 'paid_request_redirected',
      message:
        `the paid request was answered ${response.status}${location ? ` (to ${redactText(location)})` : ''}; ` +
        `the redirect was not followed and the payment went nowhere else. Nothing was served.${held}`,
      ...lookup,
    };
  }
  return {
    ok: false,
    exitCode: 1,
    reason: 'settlement_unconfirmed',
    message: `${origin} answered ${response.status} without a payment-response confirming settlement.${held}`,
    ...lookup,
  };
}

/** The settlement the server confirmed, and what the chain says of it. */
async function reportSettlement(
  txid: string,
  receipt: PaymentReceipt | undefined,
  options: PayCommandOptions,
  origin: string,
  report: PayReporter,
): Promise<void> {
  let chainStatus: string | null = null;
  let blockHeight: number | null = null;
  try {
    const chain = resolveChainClient(
      {
        ...(options.apiUrl === undefined ? {} : { apiUrl: options.apiUrl }),
        ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
      },
      options.network,
    );
    const tx = await chain.getTransaction(txid);
    chainStatus = tx?.status ?? 'not found on the chain API';
    blockHeight = tx?.indexed && tx.blockHeight !== undefined ? tx.blockHeight : null;
  } catch {
    // The server confirmed it; the chain API being down changes nothing about that.
  }
  report.step({
    step: 'settlement',
    origin,
    txid,
    chainStatus,
    blockHeight,
    paid: receipt
      ? {
          price: formatPrice(receipt.requirements),
          amount: receipt.amount.toString(),
          asset: receipt.asset,
          payTo: receipt.requirements.payTo,
          fee: formatAmount(receipt.fee, STX_ASSET),
          feeMicroStx: receipt.fee.toString(),
        }
      : null,
    explorer: explorerLink(txid, options),
  });
}

function offerView(requirements: StacksPaymentRequirements): OfferView {
  return {
    scheme: requirements.scheme,
    network: requirements.network,
    amount: String(requirements.amount),
    asset: String(requirements.asset),
    price: formatPrice(requirements),
    payTo: String(requirements.payTo),
    sponsored:
      requirements.extra?.sponsor !== undefined || requirements.extra?.feePayer !== undefined,
  };
}

/** The explorer page; for a chain on this machine (a devnet), one that reads that node, since Hiro cannot. */
function explorerLink(
  txid: string,
  options: { network: StacksNetworkName; apiUrl: string | undefined },
) {
  const local =
    options.apiUrl !== undefined &&
    ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(options.apiUrl).hostname);
  return getExplorerURL(txid, options.network, local ? { apiUrl: options.apiUrl } : {});
}
