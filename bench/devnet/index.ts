/**
 * bench/devnet: how fast the devnet admits and mines payments, and what 100,000 transactions cost in memory.
 * - broadcasts/s: `chain.broadcast(raw)` in-process, manual mining, so it is admission alone with full verification
 *   (decode, signature, version, fee, nonce, funds), over STX payments from many distinct senders;
 * - the baseline: the library's `checkPaymentTransaction` on the same transactions, in the same run
 *   (target: broadcast ≥ 0.8 × check);
 * - mined transactions/s: `mineBlock()` over blocks of 1,000 pending transactions;
 * - RSS after all transactions are broadcast and mined (target: ≤ 200 MB after 100,000).
 *
 * Every broadcast is a distinct transaction (sender, nonce) with its own valid signature. Signing 100,000 through
 * the builders takes minutes, so one library-built payment is the template: each sender patches in its signer hash,
 * each (sender, nonce) its nonce, and the signature is computed over the real sighash with libsecp256k1.
 *
 * Usage: npm run bench:devnet [-- --seconds 1.5 --transactions 100000 --senders 2000]
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { privateKeyToPublic, signWithKey } from '@stacks/transactions';
import { DevnetChain } from '@x402-stacks/devnet';
import { PAY_TO } from '@x402-stacks/test-kit/fixtures';
import {
  addressFromHash160,
  checkPaymentTransaction,
  createPaymentTransaction,
  privateKeyToAccount,
  secp256k1Backend,
} from 'x402-stacks/stacks';
import { flag, formatRate, measure, peakRssMiB, printTable } from '../lib.js';

const seconds = Number(flag('seconds', '1.5'));
// The memory target is judged in a child process that holds only the devnet and its transactions: the rate phases'
// buffers and JIT garbage would otherwise count against the chain.
const memoryOnly = process.argv.includes('--memory-only');
const transactions = Number(flag('transactions', '100000'));
const senders = Number(flag('senders', '2000'));
const BLOCK = 1000;
/** Rounds left out of the rates while the JIT warms up. */
const WARM_UP_ROUNDS = 2;
const AMOUNT = 5000n;
const FEE = 500n;
const RSS_TARGET_MB = 200;

if (!Number.isSafeInteger(transactions) || transactions < BLOCK * (WARM_UP_ROUNDS + 1)) {
  throw new Error(`--transactions must be an integer of at least ${BLOCK * (WARM_UP_ROUNDS + 1)}`);
}
if (!Number.isSafeInteger(senders) || senders < BLOCK / 25) {
  throw new Error(`--senders must be at least ${BLOCK / 25}: a block chains at most 25 per sender`);
}
if (!(seconds > 0)) throw new Error('--seconds must be positive');

// Serialized layout of a standard single-sig transaction (see packages/x402-stacks/src/stacks/signature.ts):
// version(1) chain id(4) auth type(1) | hash mode(1) signer(20) nonce(8) fee(8) key encoding(1) signature(65)
const SIGNER_OFFSET = 7;
const NONCE_OFFSET = 27;
const FEE_OFFSET = 35;
const SIGNATURE_OFFSET = 44;
const AUTH_STANDARD = 0x04;

const signer = loadSigner();
const requirements = {
  scheme: 'exact',
  network: 'stacks:2147483648',
  amount: AMOUNT.toString(),
  asset: 'STX',
  payTo: PAY_TO,
  maxTimeoutSeconds: 300,
};

console.error(
  `bench/devnet: ${formatRate(transactions)} transactions from ${formatRate(senders)} senders in blocks of ` +
    `${formatRate(BLOCK)}; secp256k1: ${secp256k1Backend} (verify), ${signer.name} (bench signer)`,
);

// One payment built by the library; every transaction below is this template re-signed for its sender and nonce.
const templateKey = senderKey(0);
const template = Buffer.from(
  (
    await createPaymentTransaction({
      account: privateKeyToAccount(`${hex(templateKey)}01`, 'testnet'),
      requirements,
      nonce: 0n,
      fee: FEE,
    })
  ).transaction,
  'hex',
);

type Sender = { key: Uint8Array; address: string; raw: Buffer; initialSigHash: Buffer };
const chain = new DevnetChain();
const perSender = BigInt(Math.ceil(transactions / senders)) * (AMOUNT + FEE);
const pool: Sender[] = [];
let setupStart = performance.now();
for (let index = 0; index < senders; index++) {
  const key = senderKey(index);
  const hash160 = ripemd160(sha256(signer.publicKey(key)));
  const raw = Buffer.from(template);
  raw.set(hash160, SIGNER_OFFSET);
  // The initial sighash: nonce, fee and signature zeroed. It does not depend on the nonce, so once per sender.
  const cleared = Buffer.from(raw);
  cleared.fill(0, NONCE_OFFSET, FEE_OFFSET + 8);
  cleared.fill(0, SIGNATURE_OFFSET, SIGNATURE_OFFSET + 65);
  const address = addressFromHash160(26, hash160.toString('hex'));
  chain.fund(address, { stx: perSender });
  pool.push({ key, address, raw, initialSigHash: sha512_256(cleared) });
}
console.error(
  `  ${formatRate(senders)} senders funded in ${((performance.now() - setupStart) / 1000).toFixed(1)} s`,
);

/** Transaction `i`: sender `i mod senders`, nonce `i div senders`, so a block of 1,000 has 1,000 distinct senders. */
function sign(i: number): Uint8Array {
  const sender = pool[i % senders]!;
  const nonce = BigInt(Math.floor(i / senders));
  const raw = Buffer.from(sender.raw);
  raw.writeBigUInt64BE(nonce, NONCE_OFFSET);
  const preSign = Buffer.alloc(32 + 1 + 8 + 8);
  sender.initialSigHash.copy(preSign, 0);
  preSign[32] = AUTH_STANDARD;
  raw.copy(preSign, 33, FEE_OFFSET, FEE_OFFSET + 8);
  preSign.writeBigUInt64BE(nonce, 41);
  raw.set(signer.sign(sha512_256(preSign), sender.key), SIGNATURE_OFFSET);
  return raw;
}

// The baseline on the same transactions: the first two blocks' worth, signed the same way.
const check = memoryOnly ? { opsPerSecond: Number.NaN } : await measureCheck();

async function measureCheck() {
  const checkPool = Array.from({ length: 2 * BLOCK }, (_, i) =>
    Buffer.from(sign(i)).toString('hex'),
  );
  const checkOnce = (hex: string) => {
    const result = checkPaymentTransaction(hex, { ...requirements });
    if (!result.isValid) {
      throw new Error(`check refused a bench transaction: ${result.invalidReason}`);
    }
  };
  let nextCheck = 0;
  return measure(
    `checkPaymentTransaction, ${formatRate(checkPool.length)} distinct payers`,
    () => checkOnce(checkPool[nextCheck++ % checkPool.length]!),
    seconds,
  );
}

// Memory is read after a full collection, so it measures what the chain keeps, not garbage awaiting the next GC.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
collectGarbage();
const before = process.memoryUsage();
const rounds = Math.ceil(transactions / BLOCK);
let signMs = 0;
let broadcastMs = 0;
let broadcastCount = 0;
let mineMs = 0;
let minedCount = 0;
const progressEvery = Math.max(1, Math.floor(rounds / 10));
setupStart = performance.now();
for (let round = 0; round < rounds; round++) {
  const first = round * BLOCK;
  const count = Math.min(BLOCK, transactions - first);
  let started = performance.now();
  const batch = Array.from({ length: count }, (_, j) => sign(first + j));
  signMs += performance.now() - started;

  started = performance.now();
  for (const raw of batch) {
    const result = chain.broadcast(raw);
    if (!result.accepted) {
      throw new Error(`broadcast refused: ${result.reason} ${JSON.stringify(result.reason_data)}`);
    }
  }
  const broadcastTime = performance.now() - started;

  started = performance.now();
  const block = chain.mineBlock();
  const mineTime = performance.now() - started;
  if (block?.txids.length !== count) {
    throw new Error(`block ${block?.height} holds ${block?.txids.length}, expected ${count}`);
  }
  if (round >= WARM_UP_ROUNDS) {
    broadcastMs += broadcastTime;
    broadcastCount += count;
    mineMs += mineTime;
    minedCount += count;
  }
  progress(round + 1);
}
if (process.stderr.isTTY) process.stderr.write('\n');

const mempoolLeft = chain.mempool.length;
const received = chain.state.stx(PAY_TO);
const lastStatus = chain.transaction(chain.tip?.txids.at(-1) ?? '')?.status;
if (mempoolLeft !== 0 || received !== BigInt(transactions) * AMOUNT || lastStatus !== 'success') {
  throw new Error(
    `unexpected end state: mempool ${mempoolLeft}, received ${received}, last ${lastStatus}`,
  );
}
collectGarbage();
const memory = process.memoryUsage();
const broadcastRate = broadcastCount / (broadcastMs / 1000);
const mineRate = minedCount / (mineMs / 1000);
const signRate = transactions / (signMs / 1000);
if (memoryOnly) {
  console.log(
    JSON.stringify({
      rssBefore: before.rss,
      rssAfter: memory.rss,
      heapGrowth: memory.heapUsed - before.heapUsed,
    }),
  );
  process.exit(0);
}
// Twice: as plain JavaScript (the devnet bundled with esbuild, as a built devnet runs), and under tsx, whose loader
// thread alone adds ~35 MB. The target is judged on the first: tsx is a development loader, not part of the chain.
const memoryArgs = [
  '--memory-only',
  '--transactions',
  String(transactions),
  '--senders',
  String(senders),
];
const devnetOnly = runMemoryChild([await bundleForPlainNode(), ...memoryArgs]);
const underTsx = runMemoryChild(['--import', 'tsx', fileURLToPath(import.meta.url), ...memoryArgs]);

type MemoryRun = { rssBefore: number; rssAfter: number; heapGrowth: number };

function runMemoryChild(args: string[]): MemoryRun {
  const child = spawnSync(process.execPath, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
  });
  if (child.status !== 0) throw new Error(`the memory run failed with exit code ${child.status}`);
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as MemoryRun;
}

async function bundleForPlainNode(): Promise<string> {
  const { build } = await import('esbuild');
  // Inside node_modules, so the bundle resolves the native secp256k1 binding from the workspace like the sources do.
  const outfile = fileURLToPath(
    new URL('../../node_modules/.cache/x402-bench/devnet.mjs', import.meta.url),
  );
  await build({
    entryPoints: [fileURLToPath(import.meta.url)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    external: ['secp256k1', 'esbuild'],
    banner: {
      js: "import { createRequire as createRequireForBundle } from 'node:module'; const require = createRequireForBundle(import.meta.url);",
    },
    logLevel: 'warning',
  });
  return outfile;
}
const devnetRssMB = devnetOnly.rssAfter / 1e6;
const ratio = broadcastRate / check.opsPerSecond;

console.log(
  `\nbench/devnet (secp256k1: ${secp256k1Backend}; ${formatRate(transactions)} transactions, ` +
    `${formatRate(senders)} senders, blocks of ${formatRate(BLOCK)}; rates leave out ` +
    `${WARM_UP_ROUNDS} warm-up blocks)\n`,
);
printTable(
  ['measurement', 'value'],
  [
    ['broadcasts/s (chain.broadcast, full admission)', formatRate(broadcastRate)],
    ['checkPaymentTransaction/s (baseline, same txs)', formatRate(check.opsPerSecond)],
    ['broadcast ÷ check', ratio.toFixed(2)],
    [`mined transactions/s (blocks of ${formatRate(BLOCK)})`, formatRate(mineRate)],
    [
      'devnet-only process (plain node): RSS before the first broadcast (MiB)',
      (devnetOnly.rssBefore / 2 ** 20).toFixed(1),
    ],
    [
      `devnet-only process (plain node): RSS after ${formatRate(transactions)} (MiB)`,
      (devnetOnly.rssAfter / 2 ** 20).toFixed(1),
    ],
    [
      'devnet-only process (plain node): heap growth per transaction (bytes)',
      formatRate(devnetOnly.heapGrowth / transactions),
    ],
    [
      `devnet-only process (under tsx): RSS after ${formatRate(transactions)} (MiB)`,
      (underTsx.rssAfter / 2 ** 20).toFixed(1),
    ],
    [
      `this process (rates phases too): RSS after ${formatRate(transactions)} (MiB)`,
      (memory.rss / 2 ** 20).toFixed(1),
    ],
    ['peak RSS (MiB)', peakRssMiB().toFixed(1)],
    ['bench signer, signs/s (not a target)', formatRate(signRate)],
  ],
);
const rssLabel =
  transactions === 100_000
    ? 'after 100,000'
    : `after ${formatRate(transactions)} (target is for 100,000)`;
console.log(
  `\ntargets: broadcast ≥ 0.8 × check: ${ratio.toFixed(2)} ${ratio >= 0.8 ? 'met' : 'NOT met'}; ` +
    `RSS ≤ ${RSS_TARGET_MB} MB ${rssLabel}: ${devnetRssMB.toFixed(1)} MB ${devnetRssMB <= RSS_TARGET_MB ? 'met' : 'NOT met'}`,
);

function progress(done: number): void {
  const line = `  ${formatRate(Math.min(done * BLOCK, transactions))}/${formatRate(transactions)} broadcast and mined, ${((performance.now() - setupStart) / 1000).toFixed(1)} s`;
  if (process.stderr.isTTY) process.stderr.write(`\r${line}`);
  else if (done % progressEvery === 0 || done === rounds) process.stderr.write(`${line}\n`);
}

/** A deterministic private key per sender, so runs are reproducible. */
function senderKey(index: number): Uint8Array {
  return sha256(Buffer.from(`x402-stacks bench/devnet sender ${index}`));
}

function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

function ripemd160(data: Uint8Array): Buffer {
  return createHash('ripemd160').update(data).digest();
}

function sha512_256(data: Uint8Array): Buffer {
  return createHash('sha512-256').update(data).digest();
}

type Signer = {
  name: string;
  /** Compressed public key. */
  publicKey(key: Uint8Array): Uint8Array;
  /** A 65-byte VRS signature (recovery id first, low S) over a 32-byte hash. */
  sign(hash: Uint8Array, key: Uint8Array): Uint8Array;
};

type NativeSecp256k1 = {
  publicKeyCreate(key: Uint8Array, compressed: boolean): Uint8Array;
  ecdsaSign(msg32: Uint8Array, key: Uint8Array): { signature: Uint8Array; recid: number };
};

function loadSigner(): Signer {
  try {
    // secp256k1 is an optional dependency of the library package, so resolve it from there.
    const require = createRequire(
      new URL('../../packages/x402-stacks/package.json', import.meta.url),
    );
    const native = require('secp256k1/bindings') as NativeSecp256k1;
    return {
      name: 'libsecp256k1',
      publicKey: (key) => native.publicKeyCreate(key, true),
      sign(hash, key) {
        const { signature, recid } = native.ecdsaSign(hash, key);
        const vrs = new Uint8Array(65);
        vrs[0] = recid;
        vrs.set(signature, 1);
        return vrs;
      },
    };
  } catch {
    console.error('libsecp256k1 did not load: the bench signs with noble, about 20 times slower');
    return {
      name: 'noble',
      publicKey: (key) => Buffer.from(privateKeyToPublic(`${hex(key)}01`) as string, 'hex'),
      sign: (hash, key) => Buffer.from(signWithKey(`${hex(key)}01`, hex(hash)), 'hex'),
    };
  }
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
