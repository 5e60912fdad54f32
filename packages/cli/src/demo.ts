/**
 * `x402-stacks demo` (and `npm start`): the whole stack on this machine, offline. A devnet with 2-second blocks, the
 * facilitator service on a SQLite file, and the documentation's example seller; then the documentation's example
 * buyer pays the seller, and the demo shows each step: the 402 offer, the payment, its confirmation on chain, the
 * resource, the txid and an explorer link; then a second buyer pays 100 requests over one batch-settlement channel and
 * the demo counts the transactions that took on chain. Then the stack keeps running for `x402-stacks pay` and curl, until Ctrl-C;
 * with `--once` it stops after the batch step and exits with the verdict of both. A signal before then cuts the tour
 * short after its step under way and exits 130 (SIGINT) or 143 (SIGTERM).
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import {
  type FacilitatorService,
  loadConfig as loadFacilitatorConfig,
  startFacilitatorService,
} from '@x402-stacks/facilitator';
import {
  loadConfig as loadRegistryConfig,
  type RegistryService,
  startRegistryService,
} from '@x402-stacks/registry';
import { listenForStop, STOP_DEADLINE_MS, type StopSignal } from '@x402-stacks/service-runtime';
import { getExplorerURL } from 'x402-stacks';
import { decodePaymentRequiredHeader } from 'x402-stacks/protocol';
import { fromAtomic, resolveAsset } from 'x402-stacks/stacks';
import { payOverOneChannel } from './demo-batch.js';
import { EXIT_USAGE, type Io, processIo } from './io.js';

export const DEMO_USAGE = `Usage: x402-stacks demo [--once] [--block-time <ms>] [--data-dir <path>]

Runs the payment flow end to end on this machine, offline: a local devnet, the facilitator (SQLite ledger), the
documentation's example seller and a local x402scan registry listing it; then the example buyer pays for
/api/premium-data and every step is shown, and a second buyer pays /api/quote 100 times over one batch-settlement
channel (one deposit, then signed vouchers) and the transactions it took on chain are counted. The stack then stays up, with the URLs to try with \`x402-stacks pay\`
or curl, until Ctrl-C or SIGTERM. A signal during the start or the tour ends the step under way, stops everything
and exits 130 (SIGINT) or 143 (SIGTERM).

Options:
  --once               stop after the batch step; exit 0 when both buyers were served, 1 otherwise (for scripts and CI)
  --block-time <ms>    devnet block interval, 100 to 600000 (default 2000)
  --data-dir <path>    keep the facilitator's ledger here (default: a temporary folder, removed at the end)
  -h, --help           show this help

Ports: the devnet, facilitator, seller and registry take 3999, 8085, 3003 and 8090 when free, otherwise any free
port.`;

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The batch-escrow contract the devnet preloads at genesis. */
const BATCH_ESCROW = 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow';
const EXAMPLES = {
  seller: join(ROOT, 'examples/seller/server.ts'),
  buyer: join(ROOT, 'examples/buyer/client.ts'),
};

type Stack = {
  devnet: Devnet;
  facilitator: FacilitatorService;
  seller: ChildProcess;
  sellerUrl: string;
  registry: RegistryService;
  /** The directory page of the seller's registered route, when the registry accepted it. */
  listingUrl: string | undefined;
  dataDir: string;
  ownsDataDir: boolean;
};

/** Runs the demo; resolves with the exit code. */
export async function runDemo(argv: string[], io: Io = processIo): Promise<number> {
  let values: { once?: boolean; 'block-time'?: string; 'data-dir'?: string; help?: boolean };
  try {
    values = parseArgs({
      args: argv,
      options: {
        once: { type: 'boolean' },
        'block-time': { type: 'string' },
        'data-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (error) {
    io.err(`x402-stacks demo: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT_USAGE;
  }
  if (values.help) {
    io.out(DEMO_USAGE);
    return 0;
  }
  const blockTime = Number(values['block-time'] ?? '2000');
  if (!Number.isInteger(blockTime) || blockTime < 100 || blockTime > 600_000) {
    io.err('x402-stacks demo: --block-time takes whole milliseconds from 100 to 600000');
    return EXIT_USAGE;
  }

  // Listening from before the stack starts (see listenForStop). A signal during the start or the tour is kept: the
  // step under way ends, nothing after it starts, and the stack stops, so no seller process or temporary folder is left
  // behind. From the first signal everything left gets the stop deadline: a hung step ends the process too, its seller
  // killed first.
  const stop = listenForStop();
  let signal: StopSignal | undefined;
  let stack: Stack | undefined;
  let stackStopped = false;
  void stop.first.then((heard) => {
    signal = heard;
    setTimeout(() => {
      // Stopped already, and only a child of the tour holds the process (a buyer it never waited for): the code set.
      if (stackStopped) process.exit();
      stack?.seller.kill('SIGKILL');
      if (stack?.ownsDataDir) rmSync(stack.dataDir, { recursive: true, force: true });
      io.err(`${heard}: still stopping after ${STOP_DEADLINE_MS / 1_000} s; exiting`);
      process.exit(1);
    }, STOP_DEADLINE_MS).unref();
  });
  /** What a demo cut short by `heard` prints and exits with: as a process ends on that signal. */
  const interruptedBy = (heard: StopSignal) => {
    io.out(`${heard}: demo interrupted; stopped`);
    return heard === 'SIGINT' ? 130 : 143;
  };
  try {
    try {
      stack = await startStack(io, blockTime, values['data-dir']);
    } catch (error) {
      // A Ctrl-C in a terminal reaches the seller too, and its start then fails: what started is stopped already.
      if (signal !== undefined) return interruptedBy(signal);
      throw error;
    }
    let served = false;
    try {
      served = signal === undefined && (await tour(io, stack));
      served = served && signal === undefined && (await batchTour(io, stack));
    } catch (error) {
      if (signal === undefined) {
        io.err(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    const interrupted = signal !== undefined;
    if (!values.once && !interrupted) {
      printTryIt(io, stack);
      await stop.first;
    }
    await stopStack(stack);
    stackStopped = true;
    if (interrupted) return interruptedBy(signal!);
    io.out(signal === undefined ? `demo ${served ? 'passed' : 'failed'}` : `${signal}: stopped`);
    return served ? 0 : 1;
  } finally {
    stop.release();
  }
}

async function startStack(io: Io, blockTime: number, dataDirOption?: string): Promise<Stack> {
  // What has started so far, stopped in reverse if a later part fails, so no process or port is left behind.
  const started: (() => unknown)[] = [];
  try {
    return await startParts(io, blockTime, dataDirOption, started);
  } catch (error) {
    // Every part, even after one fails to stop.
    for (const stop of started.reverse()) await Promise.resolve(stop()).catch(() => undefined);
    throw error;
  }
}

async function startParts(
  io: Io,
  blockTime: number,
  dataDirOption: string | undefined,
  started: (() => unknown)[],
): Promise<Stack> {
  step(io, 'Starting the local stack');
  const devnet = await startDevnet({
    port: await preferredPort(3999),
    mining: { mode: 'interval', intervalMs: blockTime },
  });
  started.push(() => devnet.stop());
  io.out(`  devnet        ${devnet.url}  (a block every ${blockTime / 1000} s)`);

  const ownsDataDir = dataDirOption === undefined;
  const dataDir = dataDirOption ?? mkdtempSync(join(tmpdir(), 'x402-stacks-demo-'));
  mkdirSync(dataDir, { recursive: true });
  if (ownsDataDir) started.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const facilitator = await startFacilitatorService(
    loadFacilitatorConfig({
      PORT: String(await preferredPort(8085)),
      STACKS_API_URL_TESTNET: devnet.url,
      DATABASE_URL: `sqlite:${join(dataDir, 'facilitator.db')}`,
      SPONSOR_PRIVATE_KEYS: sponsorOf(devnet).privateKey,
      BATCH_ESCROW_TESTNET: BATCH_ESCROW,
      BATCH_AUTHORIZER_KEY: authorizerOf(devnet).privateKey,
      // A channel is claimed once idle this long, so the demo's 100 requests go in one claim a second after the last.
      BATCH_CLAIM_MAX_AGE_MS: '1000',
      // The request log would drown the tour; warnings and errors still show.
      LOG_LEVEL: 'warn',
    }),
  );
  started.push(() => facilitator.stop());
  io.out(`  facilitator   ${facilitator.url}  (ledger ${join(dataDir, 'facilitator.db')})`);

  const port = await preferredPort(3003);
  const sellerUrl = `http://127.0.0.1:${port}`;
  const seller = runExample(EXAMPLES.seller, {
    NETWORK: 'testnet',
    SERVER_ADDRESS: sellerOf(devnet).address,
    PORT: String(port),
    FACILITATOR_URL: facilitator.url,
  });
  started.push(() => seller.kill('SIGTERM'));
  prefixOutput(seller, io, 'seller');
  await waitForLine(seller, /Server running on port/);
  io.out(
    `  seller        ${sellerUrl}  (examples/seller/server.ts, pays ${sellerOf(devnet).address})`,
  );

  const registry = await startRegistryService(
    loadRegistryConfig({
      PORT: String(await preferredPort(8090)),
      DATABASE_URL: `sqlite:${join(dataDir, 'registry.db')}`,
      // The demo seller is plain http on 127.0.0.1, which a public registry must refuse.
      ALLOW_INSECURE_LOCAL: 'true',
      LOG_LEVEL: 'error',
    }),
  );
  started.push(() => registry.stop());
  const registered = await registry.registry.register({ url: `${sellerUrl}/api/weather` });
  const listingUrl = registered.valid
    ? `${registry.url}/resources/${registered.stored!.id}`
    : undefined;
  io.out(
    `  registry      ${registry.url}/  (x402scan in local mode; ${
      listingUrl
        ? `the seller's /api/weather is listed at ${listingUrl}`
        : `refused: ${registered.error}`
    })`,
  );
  return { devnet, facilitator, seller, sellerUrl, registry, listingUrl, dataDir, ownsDataDir };
}

/** Steps 2 and 3 of the tour: the offer, then the example buyer. Resolves true when the buyer was served. */
async function tour(io: Io, stack: Stack): Promise<boolean> {
  const resource = `${stack.sellerUrl}/api/premium-data`;
  step(io, `An unpaid request: GET ${resource}`);
  const unpaid = await fetch(resource);
  const offer = decodePaymentRequiredHeader(unpaid.headers.get('payment-required') ?? '');
  io.out(`  ${unpaid.status} ${unpaid.statusText}, with a payment-required header offering:`);
  for (const accept of offer.accepts) {
    const asset = resolveAsset(accept.asset, 'testnet');
    const human =
      asset.decimals === undefined
        ? ''
        : ` = ${fromAtomic(accept.amount, asset.decimals)} ${asset.symbol ?? ''}`;
    io.out(
      `  - ${accept.amount} atomic units${human}` +
        ` to ${accept.payTo} on ${accept.network}` +
        (accept.extra?.sponsor ? ` (fees sponsored by ${accept.extra.sponsor})` : ''),
    );
  }

  const buyer = buyerOf(stack.devnet);
  const balanceBefore = stack.devnet.chain.state.stx(buyer.address);
  step(io, `The example buyer pays (examples/buyer/client.ts, wallet ${buyer.address})`);
  const child = runExample(EXAMPLES.buyer, {
    NETWORK: 'testnet',
    SERVER_URL: stack.sellerUrl,
    CLIENT_PRIVATE_KEY: buyer.privateKey,
    STACKS_API_URL: stack.devnet.url,
  });
  const output = prefixOutput(child, io, 'buyer');
  // The buyer's own axios timeout is 60 s; past twice that something hangs, and --once must still end.
  const deadline = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(deadline);
  const txid = /Payment transaction:\s*(?:0x)?([0-9a-f]{64})/.exec(output())?.[1];
  if (code !== 0 || !txid || !/Success! Data/.test(output())) {
    io.err(`  the buyer was not served (exit ${code})`);
    return false;
  }

  step(io, 'Confirmation');
  const settlement = await stack.facilitator.facilitator.status(txid);
  const txUrl = `${stack.devnet.url}/extended/v1/tx/0x${txid}`;
  const onChain = (await (await fetch(txUrl)).json()) as {
    tx_status?: string;
    block_height?: number;
  };
  io.out(`  facilitator  settlement ${settlement?.state ?? 'unknown'}`);
  io.out(
    `  chain        ${onChain.tx_status ?? 'unknown'} in block ${onChain.block_height ?? '?'}`,
  );
  io.out(`  txid         0x${txid}`);
  io.out(`  devnet       ${txUrl}`);
  io.out(`  explorer     ${getExplorerURL(txid, 'testnet', { apiUrl: stack.devnet.url })}`);
  const spent = balanceBefore - stack.devnet.chain.state.stx(buyer.address);
  const price = BigInt(offer.accepts[0]?.amount ?? '0');
  const fee = spent - price;
  io.out(
    `  the buyer spent ${spent} micro-STX: the price of ${price}` +
      (fee === 0n ? ', and no fee (the facilitator sponsored it)' : ` and a fee of ${fee}`),
  );
  return settlement?.state === 'success';
}

/** Step 5: 100 paid requests over one batch-settlement channel. Resolves true when they took at most 3 transactions. */
async function batchTour(io: Io, stack: Stack): Promise<boolean> {
  const payer = batchBuyerOf(stack.devnet);
  step(
    io,
    `batch-settlement: 100 paid requests over one channel (GET ${stack.sellerUrl}/api/quote, wallet ${payer.address})`,
  );
  return payOverOneChannel(io, stack.devnet, `${stack.sellerUrl}/api/quote`, {
    payer,
    seller: sellerOf(stack.devnet).address,
    feePayers: [sponsorOf(stack.devnet).address, authorizerOf(stack.devnet).address],
  });
}

function printTryIt(io: Io, stack: Stack): void {
  const payer = stack.devnet.accounts[3]!;
  step(io, 'The stack is running. Try it:');
  io.out(`  curl -i ${stack.sellerUrl}/api/premium-data`);
  io.out(
    `  STACKS_PRIVATE_KEY=${payer.privateKey} STACKS_API_URL=${stack.devnet.url} \\\n` +
      `    npx x402-stacks pay ${stack.sellerUrl}/api/premium-data`,
  );
  io.out(`  curl ${stack.facilitator.url}/supported`);
  io.out(
    `  open ${stack.registry.url}/  (the directory${stack.listingUrl ? `; the listing: ${stack.listingUrl}` : ''})`,
  );
  io.out(`  curl '${stack.registry.url}/api/v1/resources?q=weather'`);
  io.out(`  curl ${stack.devnet.url}/devnet/accounts`);
  io.out('  (devnet keys are public test keys, funded only on this local chain)');
  io.out('Ctrl-C stops everything.');
}

/** How long the seller gets to end on SIGTERM before it is killed. */
const SELLER_STOP_MS = 5_000;

/**
 * Stops every part, even after one fails (the first failure is thrown at the end), and removes a temporary folder.
 */
async function stopStack(stack: Stack): Promise<void> {
  const sellerGone = new Promise((resolve) => {
    if (stack.seller.exitCode !== null || stack.seller.signalCode !== null) resolve(undefined);
    else stack.seller.once('exit', resolve);
  });
  stack.seller.kill('SIGTERM');
  // A seller that does not end on SIGTERM within 5 s is killed: the demo never leaves it running.
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    sellerGone,
    new Promise((resolve) => {
      timer = setTimeout(resolve, SELLER_STOP_MS);
    }),
  ]);
  clearTimeout(timer);
  stack.seller.kill('SIGKILL');
  const failures: unknown[] = [];
  for (const part of [stack.registry, stack.facilitator, stack.devnet]) {
    await part.stop().catch((error: unknown) => failures.push(error));
  }
  if (stack.ownsDataDir) rmSync(stack.dataDir, { recursive: true, force: true });
  if (failures.length > 0) throw failures[0];
}

// Genesis accounts have fixed roles: the deployer buys, wallet_1 sells, wallet_2 pays over a channel, wallet_8 claims
// channels for the seller (the facilitator's receiver-authorizer), wallet_9 sponsors fees.
const buyerOf = (devnet: Devnet) => devnet.accounts[0]!;
const batchBuyerOf = (devnet: Devnet) => devnet.accounts[2]!;
const authorizerOf = (devnet: Devnet) => devnet.accounts[8]!;
const sellerOf = (devnet: Devnet) => devnet.accounts[1]!;
const sponsorOf = (devnet: Devnet) => devnet.accounts[9]!;

/** Runs an example file exactly as its README does: TypeScript through tsx, configured by environment only. */
function runExample(file: string, env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', file], {
    cwd: ROOT,
    // The repository's tsconfig maps `x402-stacks` to its sources, so a fresh checkout needs no build.
    env: { ...process.env, ...env, TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Echoes a child's lines under a label; returns what it printed so far. */
function prefixOutput(child: ChildProcess, io: Io, label: string): () => string {
  let all = '';
  const relay = (write: (line: string) => void) => {
    let partial = '';
    return (chunk: Buffer) => {
      all += chunk.toString();
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) write(`  [${label}] ${line}`);
    };
  };
  child.stdout?.on(
    'data',
    relay((line) => io.out(line)),
  );
  child.stderr?.on(
    'data',
    relay((line) => io.err(line)),
  );
  return () => all;
}

function waitForLine(child: ChildProcess, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      if (pattern.test(seen)) {
        child.stdout?.off('data', onData);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the example exited early (${code})`)));
  });
}

/** The documented port when it is free, otherwise one the system picks. */
async function preferredPort(port: number): Promise<number> {
  const free = (candidate: number) =>
    new Promise<number | undefined>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(undefined));
      probe.listen(candidate, '127.0.0.1', () => {
        const { port: bound } = probe.address() as { port: number };
        probe.close(() => resolve(bound));
      });
    });
  return (await free(port)) ?? (await free(0))!;
}

function step(io: Io, title: string): void {
  io.out(`\n== ${title}`);
}
