/**
 * `x402-stacks channel`: the buyer's batch-settlement channels, kept in the same channel store the library's batch
 * buyer uses. `list` and `status` show them (and the escrow's view); `deposit` opens or tops up the channel a paid
 * URL's batch offer implies, as an on-chain call the payer pays the fee of; `withdraw start|finish` is the payer's
 * timed exit; `refund` asks the seller for everything not charged, through the URL's own route.
 * @module
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Cl } from '@stacks/transactions';
import type { PaymentRequirements, StacksAccount, StacksNetworkName } from 'x402-stacks';
import {
  adoptCorrective,
  BATCH_SETTLEMENT,
  type BatchOffer,
  type BuyerChannelRecord,
  type ChannelStore,
  channelsForOffer,
  createDepositTransaction,
  createFileChannelStore,
  type EscrowChannelReading,
  newChannelForOffer,
  readBatchOffer,
  readEscrowChannel,
  refundedRecord,
  refundPayload,
} from 'x402-stacks/batch';
import { type ChainClient, redactUrl } from 'x402-stacks/chain';
import {
  DEFAULT_MAX_AMOUNT,
  MAX_CHALLENGE_BODY_BYTES,
  readPaymentChallenge,
  readTextUpTo,
  resolveChainClient,
} from 'x402-stacks/client';
import { decodePaymentResponseHeader, encodePaymentSignatureHeader } from 'x402-stacks/protocol';
import {
  assetKey,
  formatAmount,
  networkFromCAIP2,
  resolveAsset,
  STX_ASSET,
  type StacksAsset,
  type StacksPaymentRequirements,
} from 'x402-stacks/stacks';
import { describeFailure } from './balance.js';
import { readAssetAmounts } from './budget-options.js';
import {
  broadcastAndWait,
  ChannelFailure,
  feeFor,
  type Mined,
  sends,
  signEscrowCall,
  tokenArg,
} from './channel-chain.js';
import { EXIT_USAGE, type Io, processIo, UsageError } from './io.js';
import { networkFlag } from './keygen.js';
import { loadAccount } from './pay.js';
import { redactingIo } from './redacting-io.js';

export const CHANNEL_USAGE = `Usage: x402-stacks channel <subcommand> [options]

The buyer's batch-settlement channels: escrowed deposits that pay each request with a signed voucher.

Subcommands:
  list                       the channels in the channel store (with --chain, the escrow's balance and claimed too)
  status <channelId>         the escrow's state of a channel (get-channel) and the local record
  deposit <url>              open or top up the channel for <url>'s batch-settlement offer, read from its 402: an
                             on-chain deposit the payer signs and pays the fee of
  withdraw start <channelId> announce a withdrawal of everything not claimed (start-withdrawal)
  withdraw finish <channelId>
                             take it once the channel's withdraw delay (burn blocks) has passed (finish-withdrawal)
  refund <url>               ask <url>'s seller for everything in the channel not charged; prints what came back

Options:
  --channel-store <dir>      the channel store, one JSON file per channel, shared with the library's
                             createFileChannelStore (env X402_CHANNEL_STORE; default: 'channels' beside
                             X402_BUDGET_FILE when that is set, else ~/.x402-stacks/channels)
  --amount <amount>          deposit: how much, in whole units with the offer's asset ('0.1STX')
                             (default: the offer's minDeposit, else 100 times its price)
  --max-deposit <amount>     deposit: refuse an amount above this (default: 1 STX, 0.0001 sBTC, 1 USDCx)
  --escrow <contract>        deposit: the batch-escrow you trust (env X402_BATCH_ESCROW; required): a 402 naming
                             another contract is refused, since a seller's own contract could keep the deposit
  --channel <channelId>      refund: which channel (default: the offer's channel with the most room)
  --fee <micro-STX>          deposit, withdraw: the transaction fee (default: the node's rate, 300..100000)
  --wait <seconds>           deposit, withdraw: how long to wait for the transaction to be mined (default 120)
  --chain                    list: read each channel's state from the escrow
  --key-file <path>          deposit, withdraw, refund: file holding the payer's private key (default: the
                             STACKS_PRIVATE_KEY variable); only its owner may read or write it (chmod 600)
  --allow-insecure-key-file  use a key file that other users may read or write anyway
  --network <name>           testnet or mainnet, for the key's address (default: NETWORK, else testnet)
  --api-url <url>            Stacks node with the Hiro API (default: STACKS_API_URL_TESTNET or _MAINNET, then
                             STACKS_API_URL, then Hiro)
  --json                     one JSON object on stdout
  -h, --help                 show this help

Environment: X402_CHANNEL_STORE, X402_BATCH_ESCROW, X402_BUDGET_FILE, STACKS_PRIVATE_KEY, NETWORK, STACKS_API_URL_TESTNET,
STACKS_API_URL_MAINNET, STACKS_API_URL, STACKS_API_KEY (sent as x-api-key).

Exit codes: 0 on success; 1 for a named failure (channel_not_found, withdrawal_locked, deposit_above_cap, …);
2 for a usage error.`;

const FLAGS = {
  'channel-store': { type: 'string' },
  amount: { type: 'string' },
  'max-deposit': { type: 'string', multiple: true },
  escrow: { type: 'string' },
  channel: { type: 'string' },
  fee: { type: 'string' },
  wait: { type: 'string' },
  chain: { type: 'boolean' },
  'key-file': { type: 'string' },
  'allow-insecure-key-file': { type: 'boolean' },
  network: { type: 'string' },
  'api-url': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof FLAGS }>>['values'];

/** What a subcommand works with. */
type Context = {
  values: Values;
  env: NodeJS.ProcessEnv;
  network: StacksNetworkName;
  store: () => ChannelStore;
  account: () => StacksAccount;
  chain: (network: StacksNetworkName) => ChainClient;
  io: Io;
};

/** A subcommand's result: shown as text, or as one JSON object with `ok: true`. */
type Outcome = { readonly text: string; readonly json: Record<string, unknown> };

const SUBCOMMANDS = ['list', 'status', 'deposit', 'withdraw', 'refund'] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];

/** Runs `x402-stacks channel`; resolves with the exit code. */
export async function runChannel(
  argv: string[],
  io: Io = processIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const json = argv.includes('--json');
  let values: Values;
  let positionals: string[];
  let subcommand: Subcommand;
  let network: StacksNetworkName;
  try {
    ({ values, positionals } = parseFlags(argv));
    if (values.help) {
      io.out(CHANNEL_USAGE);
      return 0;
    }
    const name = positionals.shift();
    if (name === undefined)
      throw new UsageError('a subcommand is required: list, status, deposit, withdraw or refund');
    if (!(SUBCOMMANDS as readonly string[]).includes(name)) {
      throw new UsageError(`unknown subcommand '${name}'`);
    }
    subcommand = name as Subcommand;
    network = networkFlag(values.network ?? (env.NETWORK || undefined));
    checkPositionals(subcommand, positionals);
    checkFlags(subcommand, values);
  } catch (error) {
    return usageFailure(io, error, json);
  }
  const safe = redactingIo(io);
  const context: Context = {
    values,
    env,
    network,
    io: safe,
    store: () => createFileChannelStore(storePath(values, env)),
    account: () =>
      loadAccount(
        {
          keyFile: values['key-file'],
          network,
          allowInsecureKeyFile: values['allow-insecure-key-file'] ?? false,
        },
        env,
      ),
    chain: (of) => {
      const apiUrl =
        values['api-url'] ??
        (env[`STACKS_API_URL_${of.toUpperCase()}`] || env.STACKS_API_URL || undefined);
      const apiKey = env.STACKS_API_KEY || undefined;
      return resolveChainClient(
        { ...(apiUrl ? { apiUrl } : {}), ...(apiKey ? { apiKey } : {}) },
        of,
      );
    },
  };
  let outcome: Outcome;
  try {
    outcome = await RUN[subcommand](positionals, context);
  } catch (error) {
    if (error instanceof UsageError) return usageFailure(io, error, json);
    const reason =
      error instanceof ChannelFailure
        ? error.reason
        : (((error as { reason?: unknown }).reason as string | undefined) ?? 'channel_failed');
    const message = error instanceof ChannelFailure ? error.message : describeFailure(error);
    safe.err(`x402-stacks channel ${subcommand}: ${message}`);
    if (json) safe.out(JSON.stringify({ ok: false, exitCode: 1, reason, message }));
    return 1;
  }
  if (json) safe.out(JSON.stringify({ ok: true, ...outcome.json }));
  else safe.out(outcome.text);
  return 0;
}

function parseFlags(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

function checkPositionals(subcommand: Subcommand, positionals: string[]): void {
  const want = (count: number, what: string) => {
    if (positionals.length !== count) {
      throw new UsageError(
        `${subcommand} takes ${what}, got ${positionals.length === 0 ? 'none' : positionals.join(' ')}`,
      );
    }
  };
  if (subcommand === 'list') want(0, 'no arguments');
  if (subcommand === 'status') want(1, 'a channel id');
  if (subcommand === 'deposit' || subcommand === 'refund') {
    want(1, 'a URL');
    const url = positionals[0]!;
    if (!/^https?:\/\//i.test(url) || !URL.canParse(url))
      throw new UsageError(`'${url}' is not an http(s) URL`);
  }
  if (subcommand === 'withdraw') {
    if (positionals[0] !== 'start' && positionals[0] !== 'finish') {
      throw new UsageError("withdraw takes 'start' or 'finish', then a channel id");
    }
    want(2, "'start' or 'finish' and a channel id");
  }
  if (subcommand === 'status' || subcommand === 'withdraw') channelIdArg(positionals.at(-1)!);
}

/** Flags that only some subcommands take, refused elsewhere rather than ignored. */
function checkFlags(subcommand: Subcommand, values: Values): void {
  const only: Record<string, readonly Subcommand[]> = {
    amount: ['deposit'],
    'max-deposit': ['deposit'],
    escrow: ['deposit'],
    channel: ['refund'],
    fee: ['deposit', 'withdraw'],
    wait: ['deposit', 'withdraw'],
    chain: ['list'],
    'key-file': ['deposit', 'withdraw', 'refund'],
  };
  for (const [flag, allowed] of Object.entries(only)) {
    if ((values as Record<string, unknown>)[flag] !== undefined && !allowed.includes(subcommand)) {
      throw new UsageError(`--${flag} does not apply to ${subcommand}`);
    }
  }
  if (values.fee !== undefined && !/^\d{1,12}$/.test(values.fee)) {
    throw new UsageError(`--fee '${values.fee}' is not a whole number of micro-STX`);
  }
  if (values.wait !== undefined && !/^\d{1,6}$/.test(values.wait)) {
    throw new UsageError(`--wait '${values.wait}' is not a whole number of seconds`);
  }
  if (values.channel !== undefined) channelIdArg(values.channel);
  if (values['channel-store'] === '') throw new UsageError('--channel-store needs a directory');
}

function channelIdArg(value: string): string {
  if (!/^0x[0-9a-f]{64}$/.test(value)) {
    throw new UsageError(`'${value}' is not a channel id (0x and 64 lowercase hex characters)`);
  }
  return value;
}

function usageFailure(io: Io, error: unknown, json: boolean): number {
  if (!(error instanceof UsageError)) throw error;
  io.err(`x402-stacks channel: ${error.message}\nRun 'x402-stacks channel --help' for usage.`);
  if (json) io.out(JSON.stringify({ ok: false, exitCode: EXIT_USAGE, reason: error.reason }));
  return EXIT_USAGE;
}

/** The channel store's directory: the flag, the variable, beside the budget file, or under the home directory. */
function storePath(values: Values, env: NodeJS.ProcessEnv): string {
  if (values['channel-store'] !== undefined) return values['channel-store'];
  if (env.X402_CHANNEL_STORE) return env.X402_CHANNEL_STORE;
  if (env.X402_BUDGET_FILE) return join(env.X402_BUDGET_FILE, '..', 'channels');
  return join(homedir(), '.x402-stacks', 'channels');
}

const RUN: Record<Subcommand, (args: string[], context: Context) => Promise<Outcome>> = {
  list: runList,
  status: runStatus,
  deposit: runDeposit,
  withdraw: runWithdraw,
  refund: runRefund,
};

// ---------------------------------------------------------------------------------------------------------------
// list and status

async function runList(_args: string[], context: Context): Promise<Outcome> {
  const records = [...(await context.store().list())].sort((a, b) => b.updatedAt - a.updatedAt);
  const rows = await Promise.all(
    records.map(async (record) => {
      let chain: Record<string, unknown> | undefined;
      if (context.values.chain) {
        try {
          const state = await readEscrowChannelOf(context, record);
          chain = state ? chainView(state) : { found: false };
        } catch (error) {
          chain = { unreachable: describeFailure(error) };
        }
      }
      return { ...recordView(record), ...(chain ? { chain } : {}) };
    }),
  );
  const text =
    rows.length === 0
      ? 'No channels in the store.'
      : records
          .map((record, index) => {
            const asset = assetOf(record);
            const chain = rows[index]!.chain as Record<string, unknown> | undefined;
            const onChain =
              chain === undefined
                ? ''
                : 'unreachable' in chain
                  ? `\n  on chain   unreachable (${chain.unreachable})`
                  : chain.found === false
                    ? '\n  on chain   no such channel'
                    : `\n  on chain   balance ${shown(chain.balance, asset)}, claimed ${shown(chain.claimed, asset)}` +
                      (chain.withdrawRequestedAt
                        ? `, withdrawal since burn block ${chain.withdrawRequestedAt}`
                        : '');
            return [
              `${record.channelId}`,
              `  network    ${record.network}`,
              `  escrow     ${record.escrow}`,
              `  receiver   ${record.config.receiver}`,
              `  token      ${record.config.token ?? 'STX'}`,
              `  deposited  ${formatAmount(record.deposited, asset)}`,
              `  charged    ${formatAmount(record.charged, asset)}${record.pendingDeposit ? `\n  pending    deposit ${record.pendingDeposit.txid}` : ''}${onChain}`,
            ].join('\n');
          })
          .join('\n\n');
  return { text, json: { channels: rows } };
}

async function runStatus([channelId]: string[], context: Context): Promise<Outcome> {
  const record = await findRecord(context.store(), channelId!);
  const network = networkFromCAIP2(record.network);
  const chain = context.chain(network);
  const [state, info] = await Promise.all([readEscrowChannelOf(context, record), chain.getInfo()]);
  if (!state) {
    throw new ChannelFailure(
      'channel_not_found',
      `the escrow ${record.escrow} has no channel ${record.channelId}`,
    );
  }
  const asset = assetOf(record);
  const unlocksAt =
    state.withdrawRequestedAt > 0
      ? state.withdrawRequestedAt + record.config.withdrawDelay
      : undefined;
  const lines = [
    `Channel     ${record.channelId} (${record.network})`,
    `Escrow      ${record.escrow}`,
    `Payer       ${record.config.payer}`,
    `Receiver    ${record.config.receiver} (authorizer ${record.config.receiverAuthorizer})`,
    `Token       ${record.config.token ?? 'STX'}; withdraw delay ${record.config.withdrawDelay} burn blocks`,
    '',
    'On chain',
    `  balance   ${formatAmount(state.balance, asset)}`,
    `  claimed   ${formatAmount(state.claimed, asset)}`,
    `  refunds   ${state.refundNonce}`,
    `  withdrawal ${unlocksAt === undefined ? 'none' : `started at burn block ${state.withdrawRequestedAt}, unlocks at ${unlocksAt} (now ${info.burnBlockHeight})`}`,
    'Local record',
    `  deposited ${formatAmount(record.deposited, asset)}`,
    `  charged   ${formatAmount(record.charged, asset)}`,
    `  signed    ${formatAmount(record.signedMax, asset)} (highest voucher)`,
  ];
  return {
    text: lines.join('\n'),
    json: {
      channel: recordView(record),
      chain: {
        ...chainView(state),
        burnBlockHeight: info.burnBlockHeight,
        ...(unlocksAt === undefined ? {} : { unlocksAt }),
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// deposit

async function runDeposit([url]: string[], context: Context): Promise<Outcome> {
  const account = context.account();
  const trusted = context.values.escrow ?? (context.env.X402_BATCH_ESCROW || undefined);
  if (trusted === undefined) {
    throw new UsageError(
      'deposit needs --escrow (or X402_BATCH_ESCROW): the batch-escrow contract you trust',
    );
  }
  const { offer } = await readOffer(url!, account);
  if (offer.extra.escrow !== trusted) {
    throw new ChannelFailure(
      'untrusted_escrow',
      `the offer names escrow ${offer.extra.escrow}, not the one you trust (${trusted}); nothing was signed`,
    );
  }
  const asset = offer.terms.asset;
  const amount = depositAmount(context, offer);
  const cap = depositCap(context, asset);
  if (amount > cap) {
    throw new ChannelFailure(
      'deposit_above_cap',
      `a deposit of ${formatAmount(amount, asset)} is above the cap of ${formatAmount(cap, asset)} (--max-deposit)`,
    );
  }
  const store = context.store();
  const existing = channelsForOffer(await store.list(), account.address, offer).find(
    (record) => !record.pendingDeposit,
  );
  const record = existing ?? newChannelForOffer(account.address, offer, randomSalt(), Date.now());
  const chain = context.chain(account.network);
  const nonce = await chain.getNextNonce(account.address);
  const build = (fee: bigint) =>
    createDepositTransaction({
      account,
      network: offer.terms.network,
      escrow: record.escrow,
      config: record.config,
      amount,
      asset,
      nonce,
      sponsored: false,
      fee,
    });
  const fee =
    context.values.fee !== undefined
      ? BigInt(context.values.fee)
      : await feeFor(chain, (await build(0n)).transaction);
  const built = await build(fee);
  const [stx, held] = await Promise.all([
    chain.getStxBalance(account.address),
    asset.kind === 'stx'
      ? Promise.resolve(0n)
      : chain.getFtBalance(account.address, assetKey(asset)),
  ]);
  const stxNeeded = fee + (asset.kind === 'stx' ? amount : 0n);
  if (stx < stxNeeded || (asset.kind !== 'stx' && held < amount)) {
    throw new ChannelFailure(
      'insufficient_funds',
      asset.kind === 'stx' || stx < fee
        ? `the deposit needs ${formatAmount(stxNeeded, STX_ASSET)} with its fee; ${account.address} holds ${formatAmount(stx, STX_ASSET)}`
        : `the deposit needs ${formatAmount(amount, asset)}; ${account.address} holds ${formatAmount(held, asset)}`,
    );
  }
  // The record (and so the salt that names the channel) is kept before anything leaves.
  if (!existing) await store.update(record, (current) => current ?? record);
  context.io.err(
    `Depositing ${formatAmount(amount, asset)} into ${record.channelId} (fee ${formatAmount(fee, STX_ASSET)}): txid ${built.txid}`,
  );
  const mined = await broadcastAndWait(chain, built.transaction, built.txid, waitMs(context));
  if (mined.status !== 'success') {
    throw new ChannelFailure('deposit_failed', `the deposit ${mined.txid} ended ${mined.status}`);
  }
  const state = await readEscrowChannelOf(context, record).catch(() => undefined);
  const after = await store.update(record, (current) => {
    const base = current ?? record;
    return state
      ? {
          ...base,
          deposited: state.balance,
          charged: larger(base.charged, state.claimed),
          updatedAt: Date.now(),
        }
      : { ...base, deposited: base.deposited + amount, updatedAt: Date.now() };
  });
  const shownUrl = redactUrl(url!);
  return {
    text: [
      `${existing ? 'Topped up' : 'Opened'} channel ${record.channelId} for ${shownUrl}`,
      `  deposited ${formatAmount(amount, asset)} (txid ${mined.txid}, fee ${formatAmount(fee, STX_ASSET)})`,
      `  balance   ${formatAmount(after!.deposited, asset)}`,
    ].join('\n'),
    json: {
      action: existing ? 'top_up' : 'open',
      channelId: record.channelId,
      txid: mined.txid,
      amount: amount.toString(),
      fee: fee.toString(),
      channel: recordView(after!),
    },
  };
}

function depositAmount(context: Context, offer: BatchOffer): bigint {
  const asset = offer.terms.asset;
  if (context.values.amount === undefined) return offer.minDeposit ?? 100n * offer.terms.amount;
  const amounts = readAssetAmounts([context.values.amount], '--amount', context.network);
  const [symbol, amount] = Object.entries(amounts)[0]!;
  if (assetKey(resolveAsset(symbol, context.network)) !== assetKey(asset)) {
    throw new UsageError(
      `--amount is in ${symbol}, the offer is in ${asset.symbol ?? assetKey(asset)}`,
    );
  }
  if (amount < offer.terms.amount) {
    throw new UsageError(
      `--amount ${formatAmount(amount, asset)} is below one request's price of ${formatAmount(offer.terms.amount, asset)}`,
    );
  }
  return amount;
}

function depositCap(context: Context, asset: StacksAsset): bigint {
  const caps = context.values['max-deposit']
    ? readAssetAmounts(context.values['max-deposit'], '--max-deposit', context.network)
    : (DEFAULT_MAX_AMOUNT as Record<string, bigint>);
  const symbol = asset.symbol ?? assetKey(asset);
  return caps[symbol] ?? 0n;
}

// ---------------------------------------------------------------------------------------------------------------
// withdraw

async function runWithdraw([step, channelId]: string[], context: Context): Promise<Outcome> {
  const account = context.account();
  const store = context.store();
  const record = await findRecord(store, channelId!);
  if (
    account.address !== record.config.payer &&
    account.address !== record.config.payerAuthorizer
  ) {
    throw new ChannelFailure(
      'not_channel_payer',
      `${account.address} is neither the payer nor the payer-authorizer of ${record.channelId}`,
    );
  }
  const chain = context.chain(networkFromCAIP2(record.network));
  const state = await readEscrowChannelOf(context, record);
  if (!state)
    throw new ChannelFailure(
      'channel_not_found',
      `the escrow ${record.escrow} has no channel ${record.channelId}`,
    );
  const asset = assetOf(record);
  const available = state.balance - state.claimed;
  let sent: { transaction: string; txid: string; fee: bigint };
  if (step === 'start') {
    if (state.withdrawRequestedAt > 0) {
      throw new ChannelFailure(
        'withdrawal_pending',
        `a withdrawal is already pending since burn block ${state.withdrawRequestedAt}; it unlocks at ${state.withdrawRequestedAt + record.config.withdrawDelay}`,
      );
    }
    if (available === 0n)
      throw new ChannelFailure(
        'nothing_to_withdraw',
        `everything in ${record.channelId} is claimed`,
      );
    sent = await signEscrowCall({
      account,
      chain,
      escrow: record.escrow,
      functionName: 'start-withdrawal',
      args: [Cl.bufferFromHex(record.channelId.slice(2)), Cl.uint(available)],
      postConditions: [], // deny mode with none: announcing moves nothing
      fee: feeOf(context),
    });
  } else {
    if (state.withdrawRequestedAt === 0) {
      throw new ChannelFailure(
        'no_withdrawal',
        `no withdrawal is pending on ${record.channelId}: run 'withdraw start' first`,
      );
    }
    const unlocksAt = state.withdrawRequestedAt + record.config.withdrawDelay;
    const { burnBlockHeight } = await chain.getInfo();
    if (burnBlockHeight < unlocksAt) {
      throw new ChannelFailure(
        'withdrawal_locked',
        `the withdrawal unlocks at burn block ${unlocksAt}; the chain is at ${burnBlockHeight} (${unlocksAt - burnBlockHeight} more)`,
      );
    }
    sent = await signEscrowCall({
      account,
      chain,
      escrow: record.escrow,
      functionName: 'finish-withdrawal',
      args: [Cl.bufferFromHex(record.channelId.slice(2)), tokenArg(record.config.token)],
      // Only the escrow sends, and no more than is unclaimed; the payer sends nothing.
      postConditions: [sends(record.escrow, 'lte', available, asset)],
      fee: feeOf(context),
    });
  }
  context.io.err(
    `Sending ${step === 'start' ? 'start-withdrawal' : 'finish-withdrawal'} for ${record.channelId}: txid ${sent.txid}`,
  );
  const mined: Mined = await broadcastAndWait(chain, sent.transaction, sent.txid, waitMs(context));
  if (mined.status !== 'success') {
    throw new ChannelFailure(
      `withdraw_${step}_failed`,
      `${step === 'start' ? 'start-withdrawal' : 'finish-withdrawal'} ${mined.txid} ended ${mined.status}`,
    );
  }
  const after = await readEscrowChannelOf(context, record);
  const balance = after?.balance ?? state.balance;
  if (step === 'finish') {
    await store.update(
      record,
      (current) => current && { ...current, deposited: balance, updatedAt: Date.now() },
    );
  }
  const returned = step === 'finish' ? state.balance - balance : 0n;
  const unlocksAt =
    step === 'start' && after ? after.withdrawRequestedAt + record.config.withdrawDelay : undefined;
  return {
    text:
      step === 'start'
        ? `Withdrawal of ${formatAmount(available, asset)} started on ${record.channelId} (txid ${mined.txid}); it unlocks at burn block ${unlocksAt}`
        : `Withdrew ${formatAmount(returned, asset)} from ${record.channelId} (txid ${mined.txid}); ${formatAmount(balance, asset)} stays in the channel`,
    json: {
      action: `withdraw_${step}`,
      channelId: record.channelId,
      txid: mined.txid,
      fee: sent.fee.toString(),
      ...(step === 'start'
        ? { amount: available.toString(), unlocksAt }
        : { returned: returned.toString() }),
      chain: after ? chainView(after) : null,
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// refund

async function runRefund([url]: string[], context: Context): Promise<Outcome> {
  const account = context.account();
  const { offer, requirements } = await readOffer(url!, account);
  const store = context.store();
  const candidates = channelsForOffer(await store.list(), account.address, offer);
  const wanted = context.values.channel;
  let record =
    wanted === undefined
      ? candidates[0]
      : candidates.find((candidate) => candidate.channelId === wanted);
  if (!record) {
    throw new ChannelFailure(
      'channel_not_found',
      wanted === undefined
        ? `no channel in the store pays ${redactUrl(url!)}'s offer`
        : `${wanted} is not a channel for ${redactUrl(url!)}'s offer`,
    );
  }
  const asset = offer.terms.asset;
  // One corrective round: a total behind the seller's is adopted only when backed by a voucher this key signed.
  for (let round = 0; ; round++) {
    const payload = refundPayload(account, record);
    const header = encodePaymentSignatureHeader({
      x402Version: 2,
      accepted: requirements as PaymentRequirements,
      payload,
    });
    const response = await fetch(url!, {
      headers: { 'payment-signature': header },
      redirect: 'manual',
    });
    const receiptHeader = response.headers.get('payment-response');
    if (response.status === 200 && receiptHeader) {
      await response.body?.cancel();
      const receipt = decodePaymentResponseHeader(receiptHeader);
      if (!receipt.success)
        throw new ChannelFailure(
          receipt.errorReason ?? 'refund_failed',
          `the refund failed: ${receipt.errorReason ?? 'no reason given'}`,
        );
      const returned = BigInt(receipt.amount ?? '0');
      const after = await store.update(record, (current) =>
        refundedRecord(current ?? record!, receipt.extra, Date.now()),
      );
      return {
        text: `Refunded ${formatAmount(returned, asset)} from ${record.channelId} (txid ${receipt.transaction || 'none'}); charged ${formatAmount(after!.charged, asset)} stays with the seller`,
        json: {
          action: 'refund',
          channelId: record.channelId,
          txid: receipt.transaction,
          returned: returned.toString(),
          channel: recordView(after!),
        },
      };
    }
    const refusal = response.status === 402 ? await readRefusal(response) : undefined;
    if (response.status !== 402) await response.body?.cancel();
    if (
      refusal?.error === 'invalid_batch_settlement_stacks_cumulative_amount_mismatch' &&
      round === 0
    ) {
      const adopted = adoptCorrective(record, offer.terms.network, refusal.extra, Date.now());
      if ('record' in adopted) {
        record = (await store.update(record, () => adopted.record))!;
        continue;
      }
    }
    throw new ChannelFailure(
      refusal?.error ?? 'refund_refused',
      `${new URL(url!).origin} answered ${response.status}${refusal?.error ? ` (${refusal.error})` : ''} to the refund; nothing was returned`,
    );
  }
}

async function readRefusal(
  response: Response,
): Promise<{ error?: string; extra?: Record<string, unknown> }> {
  try {
    const header = response.headers.get('payment-required');
    const body = await challengeBody(response, header);
    const challenge = readPaymentChallenge({ header, body });
    const batch = challenge.offers.find((entry) => entry.requirements.scheme === BATCH_SETTLEMENT);
    const error = (challenge as { error?: string }).error;
    return {
      ...(error ? { error } : {}),
      ...(batch?.requirements.extra ? { extra: batch.requirements.extra } : {}),
    };
  } catch {
    return {};
  }
}

// ---------------------------------------------------------------------------------------------------------------
// shared

/** The URL's 402 and its batch-settlement offer, on the key's network. */
async function readOffer(
  url: string,
  account: StacksAccount,
): Promise<{ offer: BatchOffer; requirements: StacksPaymentRequirements }> {
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'manual' });
  } catch (error) {
    const cause = (error as { cause?: NodeJS.ErrnoException }).cause;
    throw new ChannelFailure(
      'request_failed',
      `${redactUrl(url)} cannot be reached${cause ? ` (${cause.code ?? cause.message})` : ''}`,
    );
  }
  if (response.status !== 402) {
    await response.body?.cancel();
    throw new ChannelFailure(
      'not_payment_required',
      `${redactUrl(url)} answered ${response.status}, not 402 Payment Required`,
    );
  }
  const header = response.headers.get('payment-required');
  const body = await challengeBody(response, header);
  const challenge = readPaymentChallenge({ header, body });
  const requirements = challenge.offers.find(
    (entry) =>
      entry.requirements.scheme === BATCH_SETTLEMENT &&
      entry.requirements.network === account.caip2,
  )?.requirements;
  if (!requirements || challenge.version !== 2) {
    throw new ChannelFailure(
      'no_batch_offer',
      `${redactUrl(url)} offers no batch-settlement payment on ${account.network}`,
    );
  }
  const offer = readBatchOffer(requirements);
  if ('reason' in offer)
    throw new ChannelFailure(
      offer.reason,
      `the batch-settlement offer cannot be used: ${offer.message}`,
    );
  return { offer, requirements };
}

async function findRecord(store: ChannelStore, channelId: string): Promise<BuyerChannelRecord> {
  const record = (await store.list()).find((candidate) => candidate.channelId === channelId);
  if (!record)
    throw new ChannelFailure('channel_not_found', `no channel ${channelId} in the channel store`);
  return record;
}

async function readEscrowChannelOf(
  context: Context,
  record: BuyerChannelRecord,
): Promise<EscrowChannelReading | undefined> {
  return readEscrowChannel(
    context.chain(networkFromCAIP2(record.network)),
    record.escrow,
    record.channelId,
  );
}

function recordView(record: BuyerChannelRecord) {
  return {
    channelId: record.channelId,
    network: record.network,
    escrow: record.escrow,
    payer: record.config.payer,
    receiver: record.config.receiver,
    receiverAuthorizer: record.config.receiverAuthorizer,
    token: record.config.token,
    withdrawDelay: record.config.withdrawDelay,
    deposited: record.deposited.toString(),
    charged: record.charged.toString(),
    signedMax: record.signedMax.toString(),
    pendingDeposit: record.pendingDeposit?.txid ?? null,
  };
}

function chainView(state: EscrowChannelReading) {
  return {
    balance: state.balance.toString(),
    claimed: state.claimed.toString(),
    refundNonce: state.refundNonce.toString(),
    withdrawRequestedAt: state.withdrawRequestedAt,
  };
}

function assetOf(record: BuyerChannelRecord): StacksAsset {
  if (record.config.token === null) return STX_ASSET;
  try {
    return resolveAsset(record.config.token, networkFromCAIP2(record.network));
  } catch {
    return STX_ASSET;
  }
}

function shown(amount: unknown, asset: StacksAsset): string {
  return formatAmount(BigInt(String(amount)), asset);
}

function feeOf(context: Context): bigint | undefined {
  return context.values.fee === undefined ? undefined : BigInt(context.values.fee);
}

function waitMs(context: Context): number {
  return Number(context.values.wait ?? '120') * 1000;
}

function randomSalt(): string {
  const bytes = new Uint8Array(32);
  globalThis.crypto.getRandomValues(bytes);
  return `0x${Buffer.from(bytes).toString('hex')}`;
}

// Math.max takes numbers only; amounts are bigints.
function larger(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

/** A 402's body when the challenge is in it; with a header, the body is left unread and cancelled. */
async function challengeBody(
  response: Response,
  header: string | null,
): Promise<string | undefined> {
  if (!header) return readTextUpTo(response, MAX_CHALLENGE_BODY_BYTES);
  await response.body?.cancel().catch(() => undefined);
  return undefined;
}
