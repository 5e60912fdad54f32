/**
 * `x402-stacks pay <url>`: curl with a wallet. It makes the request; on a 402 it shows the offer and the chosen
 * requirement, signs, sends the paid request, and reports settlement and confirmation. The response body goes to
 * stdout and the progress to stderr, so the body can be piped.
 * @module
 */
import { readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  getExplorerURL,
  privateKeyToAccount,
  type StacksAccount,
  type StacksNetworkName,
} from 'x402-stacks';
import {
  createPayer,
  MAX_CHALLENGE_BODY_BYTES,
  PAYMENT_REQUEST_HEADERS,
  type PaymentChallenge,
  type PaymentOptions,
  type PaymentReceipt,
  readPaymentChallenge,
  readTextUpTo,
  SettlementPendingError,
} from 'x402-stacks/client';
import type { StacksPaymentRequirements } from 'x402-stacks/stacks';
import { fromAtomic, KNOWN_TOKENS, resolveAsset, toAtomic } from 'x402-stacks/stacks';
import { describeFailure } from './balance.js';
import { EXIT_USAGE, type Io, processIo, UsageError } from './io.js';
import { networkFlag } from './keygen.js';
import { redactingIo } from './redacting-io.js';

export const PAY_USAGE = `Usage: x402-stacks pay <url> [options]

Requests <url> like curl. On 402 Payment Required it shows the offer, chooses a requirement within the limits,
signs a Stacks payment, sends the request again with it, and reports settlement and confirmation. The body goes
to stdout; progress goes to stderr.

Options:
  -X, --method <method>    HTTP method (default GET, or POST with --data)
  -d, --data <body>        request body; @<file> reads it from a file
  -H, --header <header>    request header 'Name: value'; repeatable
  --max-amount <amount>    largest payment in one asset, in whole units: '0.01STX', '0.0001 sBTC', '2 USDCx';
                           repeatable, and then only the assets named are paid
                           (default: 1 STX, 0.0001 sBTC, 1 USDCx)
  --key-file <path>        file holding the payer's private key (default: the STACKS_PRIVATE_KEY variable)
  --network <name>         testnet or mainnet (default: NETWORK, else testnet)
  --api-url <url>          Stacks node with the Hiro API for nonces and balances (default: STACKS_API_URL_TESTNET
                           or _MAINNET, then STACKS_API_URL, then Hiro)
  --dry-run                show the offer and what would be paid; sign and send nothing
  -h, --help               show this help

The key is never taken from a flag, where other users could read it in the process list.

Exit codes: 0 when the resource was served (any status below 400), 1 when the payment was refused or failed
or the server answered an error, 2 for a usage error.`;

/** What `x402-stacks pay` was asked to do. */
export type PayCommandOptions = {
  url: string;
  method: string;
  body: string | undefined;
  headers: [string, string][];
  maxAmount: Record<string, bigint> | undefined;
  keyFile: string | undefined;
  network: StacksNetworkName;
  apiUrl: string | undefined;
  apiKey: string | undefined;
  dryRun: boolean;
};

const PAY_FLAGS = {
  method: { type: 'string', short: 'X' },
  data: { type: 'string', short: 'd' },
  header: { type: 'string', short: 'H', multiple: true },
  'max-amount': { type: 'string', multiple: true },
  'key-file': { type: 'string' },
  network: { type: 'string' },
  'api-url': { type: 'string' },
  'dry-run': { type: 'boolean' },
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
    parsed = parseArgs({ args: argv, options: PAY_FLAGS, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length === 0 ? 'a URL is required' : 'give exactly one URL');
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
    maxAmount: values['max-amount'] ? readMaxAmounts(values['max-amount'], network) : undefined,
    keyFile: values['key-file'],
    network,
    // The environment is read here, not deep in the library, so the command sees exactly the env it was given.
    apiUrl:
      values['api-url'] ??
      (env[`STACKS_API_URL_${network.toUpperCase()}`] || env.STACKS_API_URL || undefined),
    apiKey: env.STACKS_API_KEY || undefined,
    dryRun: values['dry-run'] ?? false,
  };
}

function readData(data: string): string {
  if (!data.startsWith('@')) return data;
  try {
    return readFileSync(data.slice(1), 'utf8');
  } catch (error) {
    throw new UsageError(`--data ${data}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
}

function readHeader(header: string): [string, string] {
  const colon = header.indexOf(':');
  const name = colon > 0 ? header.slice(0, colon).trim() : '';
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
    throw new UsageError(`--header '${header}' is not 'Name: value'`);
  }
  return [name, header.slice(colon + 1).trim()];
}

function readMaxAmounts(values: string[], network: StacksNetworkName): Record<string, bigint> {
  const limits: Record<string, bigint> = {};
  for (const value of values) {
    const match = /^(\d+(?:\.\d+)?)\s*(STX|sBTC|USDCx)$/i.exec(value.trim());
    if (!match) {
      throw new UsageError(
        `--max-amount '${value}' is not an amount and an asset, such as '0.01STX' or '0.0001 sBTC'`,
      );
    }
    const asset = resolveAsset(match[2]!, network);
    const symbol = asset.symbol ?? 'STX';
    const decimals = symbol === 'STX' ? 6 : KNOWN_TOKENS[symbol].decimals;
    try {
      limits[symbol] = toAtomic(match[1]!, decimals);
    } catch {
      throw new UsageError(`--max-amount '${value}': ${symbol} has ${decimals} decimals at most`);
    }
  }
  return limits;
}

/**
 * Reads the payer's key: from `--key-file`, else from `STACKS_PRIVATE_KEY`. Never from a flag.
 * @throws {UsageError} when there is none or it cannot be read; the message never contains the key.
 */
export function loadAccount(
  options: Pick<PayCommandOptions, 'keyFile' | 'network'>,
  env: NodeJS.ProcessEnv,
  warn: (line: string) => void,
): StacksAccount {
  let key: string;
  let source: string;
  if (options.keyFile !== undefined) {
    source = options.keyFile;
    try {
      key = readFileSync(options.keyFile, 'utf8').trim();
      // Group or world access to a key file is a leak waiting to happen; say so, as ssh does.
      if (process.platform !== 'win32' && (statSync(options.keyFile).mode & 0o077) !== 0) {
        warn(`warning: ${options.keyFile} is readable by other users; chmod 600 it`);
      }
    } catch (error) {
      throw new UsageError(
        `--key-file ${options.keyFile}: ${(error as NodeJS.ErrnoException).code ?? error}`,
      );
    }
  } else if (env.STACKS_PRIVATE_KEY) {
    source = 'STACKS_PRIVATE_KEY';
    key = env.STACKS_PRIVATE_KEY.trim();
  } else {
    throw new UsageError(
      "no key: give --key-file <path>, or set STACKS_PRIVATE_KEY (create one with 'x402-stacks keygen')",
    );
  }
  try {
    return privateKeyToAccount(key, options.network);
  } catch (error) {
    throw new UsageError(`the key in ${source} is not usable: ${describeFailure(error)}`);
  }
}

/** Runs `x402-stacks pay`; resolves with the exit code. */
export async function runPay(
  argv: string[],
  io: Io = processIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  let options: PayCommandOptions;
  let account: StacksAccount;
  try {
    const parsed = parsePayArgs(argv, env);
    if (parsed === 'help') {
      io.out(PAY_USAGE);
      return 0;
    }
    options = parsed;
    account = loadAccount(options, env, io.err);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(`x402-stacks pay: ${error.message}\nRun 'x402-stacks pay --help' for usage.`);
    return EXIT_USAGE;
  }
  // Progress and errors show what the server and the URL said: credentials redacted, terminal controls removed. The
  // body on stdout stays as the server sent it, as curl does.
  const shown: Io = { out: io.out, err: redactingIo(io).err };
  try {
    return await pay(options, account, shown);
  } catch (error) {
    shown.err(`x402-stacks pay: ${describeFailure(error)}`);
    if (error instanceof SettlementPendingError) {
      shown.err(`  Explorer: ${explorerLink(error.txid, options)}`);
    }
    return 1;
  }
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

async function pay(options: PayCommandOptions, account: StacksAccount, io: Io): Promise<number> {
  const say = io.err;
  const payerOptions: PaymentOptions = {
    ...(options.apiUrl === undefined ? {} : { apiUrl: options.apiUrl }),
    ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
    ...(options.maxAmount
      ? { maxAmount: options.maxAmount, allowedAssets: Object.keys(options.maxAmount) }
      : {}),
    onPaymentRequired: ({ requirements, sponsored }) => {
      say(`Chosen: ${describeOffer(requirements)}`);
      say(sponsored ? '  the facilitator pays the fee (sponsored)' : '  you pay the network fee');
      return true;
    },
  };
  const payer = createPayer(account, payerOptions);
  const target = requestTarget(options.url, options.headers);
  const init = { method: options.method, headers: target.headers, body: options.body };

  say(`${options.method} ${options.url} (paying from ${account.address} on ${account.network})`);
  const first = await fetch(target.url, init);
  const carriesPayment = options.headers.some(([name]) =>
    (PAYMENT_REQUEST_HEADERS as readonly string[]).includes(name.toLowerCase()),
  );
  if (first.status !== 402 || carriesPayment) return finish(first, undefined, options, io);

  // 1. The offer.
  const header = first.headers.get('payment-required');
  const body = header ? undefined : await readTextUpTo(first, MAX_CHALLENGE_BODY_BYTES);
  const challenge = readPaymentChallenge({ header, body });
  say(describeChallenge(challenge));
  if (options.dryRun) {
    say('Dry run: nothing signed or sent.');
    return 0;
  }
  // 2. Choose, check the balance, sign.
  const prepared = await payer.preparePayment(challenge, { url: options.url });
  say(
    `Signed: nonce ${prepared.nonce}, txid ${prepared.txid} (not broadcast: the seller's facilitator settles it)`,
  );
  // 3. Settle: the paid request.
  say(`Settling: ${options.method} ${options.url} with ${prepared.header.name}`);
  let paid: Response;
  try {
    paid = await fetch(target.url, {
      ...init,
      headers: [...target.headers, [prepared.header.name, prepared.header.value]],
    });
  } catch (cause) {
    throw prepared.fail(cause);
  }
  const text = await paid.text();
  const receipt = await prepared.complete({
    status: paid.status,
    header: (name) => paid.headers.get(name),
    body: text,
  });
  // 4. Confirmation, as the chain sees it.
  if (receipt) await reportConfirmation(receipt, payer.chain, say);
  return finish(paid, text, options, io, receipt);
}

async function reportConfirmation(
  receipt: PaymentReceipt,
  chain: ReturnType<typeof createPayer>['chain'],
  say: (line: string) => void,
): Promise<void> {
  try {
    const tx = await chain.getTransaction(receipt.txid);
    const where = tx?.indexed && tx.blockHeight !== undefined ? ` in block ${tx.blockHeight}` : '';
    say(`Confirmed: ${receipt.txid} ${tx?.status ?? 'not found on the chain API'}${where}`);
  } catch (error) {
    say(
      `Confirmed by the server: ${receipt.txid} (the chain API did not answer: ${describeFailure(error)})`,
    );
  }
}

async function finish(
  response: Response,
  text: string | undefined,
  options: PayCommandOptions,
  io: Io,
  receipt?: PaymentReceipt,
): Promise<number> {
  io.err(`HTTP ${response.status} ${response.statusText}`.trimEnd());
  const body = text ?? (await response.text());
  if (body !== '') io.out(body.replace(/\n$/, ''));
  if (receipt) {
    io.err(`Paid ${priceOf(receipt.requirements)}, fee ${receipt.fee} micro-STX`);
    io.err(`Explorer: ${explorerLink(receipt.txid, options)}`);
  }
  return response.status < 400 ? 0 : 1;
}

function describeChallenge(challenge: PaymentChallenge): string {
  const lines = [
    `402 Payment Required (x402 v${challenge.version}): ${challenge.offers.length} offer(s)`,
  ];
  challenge.offers.forEach((offer, index) => {
    lines.push(`  ${index + 1}. ${describeOffer(offer.requirements)}`);
  });
  return lines.join('\n');
}

function describeOffer(requirements: StacksPaymentRequirements): string {
  const sponsored = requirements.extra?.sponsor ? ', sponsored' : '';
  return `${priceOf(requirements)} (${requirements.amount} atomic) to ${requirements.payTo} on ${requirements.network} (${requirements.scheme}${sponsored})`;
}

/** The price in whole units and the asset's symbol, or atomic units and the asset id when its decimals are unknown. */
function priceOf(requirements: StacksPaymentRequirements): string {
  try {
    const asset = resolveAsset(requirements.asset, requirements.network);
    const symbol = asset.symbol ?? requirements.asset;
    return asset.decimals === undefined
      ? `${requirements.amount} ${symbol}`
      : `${fromAtomic(requirements.amount, asset.decimals)} ${symbol}`;
  } catch {
    return `${requirements.amount} ${requirements.asset}`;
  }
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
