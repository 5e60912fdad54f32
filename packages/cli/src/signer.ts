/**
 * `x402-stacks signer`: holds a payer's key in its own process, behind a Unix socket that only its user can reach
 * (mode 0600, in a directory of mode 0700), and signs payment transactions within its own policy, decided on what
 * each transaction decodes to. Agents pay through it with `--signer-socket` (the CLI) or `socketSigner` (the
 * library) and never see the key. One JSON line per signature or refusal goes to stdout; the key never does.
 * @module
 */
import { chmodSync, lstatSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { listenForStop, stopWithin } from '@x402-stacks/service-runtime';
import type { StacksAccount } from 'x402-stacks';
import {
  type BudgetStore,
  createFileBudgetStore,
  createMemoryBudgetStore,
  SIGNER_MAX_LINE_BYTES,
  type SignerAnswer,
  signerRequestSchema,
} from 'x402-stacks/client';
import { toAtomic } from 'x402-stacks/stacks';
import { describeFailure } from './balance.js';
import { BUDGET_FLAGS, readAssetAmounts, readBudgetSettings } from './budget-options.js';
import { EXIT_USAGE, type Io, processIo, UsageError } from './io.js';
import { networkFlag } from './keygen.js';
import { loadAccount } from './pay.js';
import { createSignerPolicy, decideSignature, type SignerPolicy } from './signer-policy.js';

export const SIGNER_USAGE = `Usage: x402-stacks signer [options]

Holds the payer's key in this process and signs payments for agents that connect to its Unix socket
('x402-stacks pay --signer-socket <path>', or socketSigner(path) in the library). Each transaction is decoded and
checked against this signer's own policy, whatever the caller says it is: the asset, the recipient, the amount, the
fee, and the signer's budget. One JSON line per signature or refusal goes to stdout (never the key).

Options:
  --key-file <path>        the key, as for 'pay' (default: STACKS_PRIVATE_KEY); chmod 600
  --allow-insecure-key-file
                           use a key file that other users may read or write anyway
  --socket <path>          the socket (default: $XDG_RUNTIME_DIR/x402-stacks/signer.sock, else
                           ~/.x402-stacks/signer.sock); its directory is created with mode 0700 and refused if
                           others can enter it; the socket gets mode 0600
  --network <name>         testnet or mainnet (default: NETWORK, else testnet)
  --max-amount <amount>    largest payment in one asset, in whole units ('0.01STX'); repeatable, and then only the
                           assets named are signed (default: 1 STX, 0.0001 sBTC, 1 USDCx)
  --max-fee <amount>       largest fee of an unsponsored payment, in STX (default 0.1)
  --allow-pay-to <address> a recipient that may be paid; repeatable (default: any)
  --allow-asset <asset>    STX, sBTC, USDCx or a contract id that may be paid; repeatable (default: every asset
                           with a maximum)
  --budget <amount>, --window-budget <amount>, --budget-window <time>, --budget-file <path>
                           the signer's own budget, as for 'pay' (env X402_BUDGET… as for 'pay'); every signature
                           is counted before it leaves
  -h, --help               show this help

Refusal reasons: origin_mismatch, malformed_transaction, network_mismatch, not_a_payment, asset_not_allowed,
pay_to_not_allowed, payment_over_max_amount, fee_over_max_fee, sighash_mismatch, payment_over_budget,
payment_over_window_budget, invalid_request.

It runs until Ctrl-C or SIGTERM, then removes its socket and exits 0.`;

const FLAGS = {
  'key-file': { type: 'string' },
  'allow-insecure-key-file': { type: 'boolean' },
  socket: { type: 'string' },
  network: { type: 'string' },
  'max-amount': { type: 'string', multiple: true },
  'max-fee': { type: 'string' },
  'allow-pay-to': { type: 'string', multiple: true },
  'allow-asset': { type: 'string', multiple: true },
  ...BUDGET_FLAGS,
  help: { type: 'boolean', short: 'h' },
} as const;

/** A running signer. */
export type RunningSigner = {
  readonly path: string;
  readonly address: string;
  close(): Promise<void>;
};

/** Runs `x402-stacks signer` until SIGINT or SIGTERM; resolves with the exit code. */
export async function runSigner(
  argv: string[],
  io: Io = processIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  let running: RunningSigner;
  try {
    const values = parseArgs({ args: argv, options: FLAGS, strict: true }).values;
    if (values.help) {
      io.out(SIGNER_USAGE);
      return 0;
    }
    const network = networkFlag(values.network ?? (env.NETWORK || undefined));
    const account = loadAccount(
      {
        keyFile: values['key-file'],
        network,
        allowInsecureKeyFile: values['allow-insecure-key-file'] ?? false,
      },
      env,
    );
    const budget = readBudgetSettings(values, env, network);
    let policy: SignerPolicy;
    try {
      policy = createSignerPolicy({
        network,
        maxAmount: values['max-amount']
          ? readAssetAmounts(values['max-amount'], '--max-amount', network)
          : undefined,
        maxFee: values['max-fee'] === undefined ? undefined : readStx(values['max-fee']),
        allowedPayTo: values['allow-pay-to'],
        allowedAssets: values['allow-asset'],
        total: budget.total,
        window: budget.window,
        windowMs: budget.windowMs,
      });
    } catch (error) {
      if (error instanceof UsageError) throw error;
      throw new UsageError(describeFailure(error));
    }
    const store = budget.file ? createFileBudgetStore(budget.file) : createMemoryBudgetStore();
    running = await startSigner({
      path: values.socket ?? defaultSocketPath(env),
      account,
      policy,
      store,
      io,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.err(`x402-stacks signer: ${message}\nRun 'x402-stacks signer --help' for usage.`);
    return EXIT_USAGE;
  }
  // Listening before the ready line, and until the socket is closed (see listenForStop).
  const stop = listenForStop();
  io.err(`Signing for ${running.address} on ${running.path}. Ctrl-C stops.`);
  try {
    const signal = await stop.first;
    // Within the deadline, whatever holds the socket's close (see stopWithin).
    const code = await stopWithin({ stop: () => running.close() }, signal, io);
    if (code === 0) io.err('Signer stopped.');
    return code;
  } finally {
    stop.release();
  }
}

function readStx(value: string): bigint {
  try {
    return toAtomic(value.replace(/\s*STX$/i, ''), 6);
  } catch {
    throw new UsageError(`--max-fee '${value}' is not an amount of STX such as '0.05'`);
  }
}

function defaultSocketPath(env: NodeJS.ProcessEnv): string {
  return env.XDG_RUNTIME_DIR
    ? join(env.XDG_RUNTIME_DIR, 'x402-stacks', 'signer.sock')
    : join(homedir(), '.x402-stacks', 'signer.sock');
}

/**
 * Listens on `path` and answers signature requests.
 * @throws {UsageError} for a socket directory others can enter, a path in use, or a path too long for a socket.
 */
export async function startSigner(options: {
  path: string;
  account: StacksAccount;
  policy: SignerPolicy;
  store: BudgetStore;
  io: Io;
}): Promise<RunningSigner> {
  const { path, account, policy, store, io } = options;
  // Unix socket paths are at most 107 bytes on Linux (103 on macOS).
  if (Buffer.byteLength(path) > 100) {
    throw new UsageError(`--socket '${path}' is too long for a Unix socket (100 bytes at most)`);
  }
  secureDirectory(dirname(path));
  await clearStaleSocket(path);
  const log = (entry: Record<string, unknown>) =>
    io.out(
      JSON.stringify(
        { at: new Date().toISOString(), signer: account.address, ...entry },
        (_, value) => (typeof value === 'bigint' ? value.toString() : value),
      ),
    );

  const answer = async (line: string): Promise<SignerAnswer> => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      parsed = undefined;
    }
    const request = signerRequestSchema.safeParse(parsed);
    if (!request.success) {
      log({ event: 'refused', reason: 'invalid_request' });
      return { ok: false, reason: 'invalid_request', message: 'not a signer request' };
    }
    if (request.data.op === 'identity') {
      return {
        ok: true,
        address: account.address,
        publicKey: account.publicKey,
        network: account.network,
      };
    }
    try {
      const decision = await decideSignature(request.data, account, policy, store);
      if (!decision.ok) {
        const { ok: _, ...refusal } = decision;
        log({ event: 'refused', ...refusal });
        return { ok: false, reason: decision.reason, message: decision.message };
      }
      const { ok: _, signature, ...signed } = decision;
      log({ event: 'signed', ...signed });
      return { ok: true, signature };
    } catch (error) {
      const reason = (error as { reason?: string }).reason ?? 'signer_error';
      log({ event: 'refused', reason });
      return { ok: false, reason, message: describeFailure(error).slice(0, 400) };
    }
  };

  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.setEncoding('utf8');
    let buffered = '';
    let answered = false;
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: string) => {
      if (answered) return;
      buffered += chunk;
      if (buffered.length > SIGNER_MAX_LINE_BYTES) {
        answered = true;
        socket.end(
          `${JSON.stringify({ ok: false, reason: 'invalid_request', message: 'too long' })}\n`,
        );
        return;
      }
      const newline = buffered.indexOf('\n');
      if (newline < 0) return;
      answered = true;
      void answer(buffered.slice(0, newline)).then((reply) =>
        socket.end(`${JSON.stringify(reply)}\n`),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  return {
    path,
    address: account.address,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      try {
        unlinkSync(path);
      } catch {}
    },
  };
}

/** Creates the directory with mode 0700, or accepts an existing one only if it is ours and closed to others. */
function secureDirectory(directory: string): void {
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  const stat = statSync(directory);
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) {
    throw new UsageError(
      `the socket directory ${directory} belongs to another user`,
      'insecure_socket_directory',
    );
  }
  if ((stat.mode & 0o077) !== 0) {
    throw new UsageError(
      `the socket directory ${directory} can be entered by other users (mode ${(stat.mode & 0o777).toString(8)}); chmod 700 it`,
      'insecure_socket_directory',
    );
  }
}

/** A socket file left by a signer that is gone is removed; one that answers means a signer runs there already. */
async function clearStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return;
  }
  if (!isSocket) throw new UsageError(`${path} exists and is not a socket`);
  const live = await new Promise<boolean>((resolve) => {
    const probe = createConnection({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) throw new UsageError(`a signer already listens on ${path}`, 'signer_already_running');
  unlinkSync(path);
}
