/**
 * bench/verify: how fast payments are signed and checked, against two floors measured in the same run:
 * - the library's own path, `deserializeTransaction` + `verifyOrigin`;
 * - raw libsecp256k1 public-key recovery, the cost no signature check can go below.
 *
 * Usage: npm run bench [-- --seconds 2]
 */
import { createRequire } from 'node:module';
import {
  deserializeTransaction,
  publicKeyFromSignatureVrs,
  randomPrivateKey,
} from '@stacks/transactions';
import { PAY_TO, PAYER_KEY } from '@x402-stacks/test-kit/fixtures';
import {
  checkPaymentTransaction,
  createPaymentTransaction,
  privateKeyToAccount,
  secp256k1Backend,
} from 'x402-stacks/stacks';
import { flag, formatRate, measure, peakRssMiB, printTable } from '../lib.js';

type NativeSecp256k1 = {
  ecdsaSign(msg32: Uint8Array, key: Uint8Array): { signature: Uint8Array; recid: number };
  ecdsaRecover(sig: Uint8Array, recid: number, msg32: Uint8Array, compressed: boolean): Uint8Array;
};

const seconds = Number(flag('seconds', '1.5'));
const account = privateKeyToAccount(PAYER_KEY, 'testnet');
const requirementsFor = (asset: string) => ({
  scheme: 'exact',
  network: 'stacks:2147483648',
  amount: '5000',
  asset,
  payTo: PAY_TO,
  maxTimeoutSeconds: 300,
});

console.error(`bench/verify: ${seconds} s per row, secp256k1 backend: ${secp256k1Backend}`);
const POOL = 1000;
const rows: {
  asset: string;
  sign: number;
  check: number;
  checkRepeat: number;
  verifyOrigin: number;
}[] = [];
for (const asset of ['STX', 'sBTC']) {
  const requirements = requirementsFor(asset);
  let nonce = 0n;
  const sign = await measure(
    `sign ${asset}`,
    () => createPaymentTransaction({ account, requirements, nonce: nonce++, fee: 500n }),
    seconds,
  );
  // Payments from distinct payers, so no address cache is warm: the worst case a facilitator meets.
  const pool: string[] = [];
  for (let i = 0; i < POOL; i++) {
    const payer = privateKeyToAccount(randomPrivateKey(), 'testnet');
    pool.push(
      (await createPaymentTransaction({ account: payer, requirements, nonce: 0n, fee: 500n }))
        .transaction,
    );
  }
  let next = 0;
  const check = await measure(
    `check ${asset}, ${POOL} distinct payers`,
    () => {
      // A fresh requirements object per call, as a facilitator gets from each JSON request.
      const result = checkPaymentTransaction(pool[next++ % POOL]!, { ...requirements });
      if (!result.isValid) throw new Error(result.invalidReason);
    },
    seconds,
  );
  const checkRepeat = await measure(
    `check ${asset}, one payer`,
    () => checkPaymentTransaction(pool[0]!, { ...requirements }),
    seconds,
  );
  const verifyOrigin = await measure(
    `deserializeTransaction + verifyOrigin ${asset}`,
    () => deserializeTransaction(pool[next++ % POOL]!).verifyOrigin(),
    seconds,
  );
  rows.push({
    asset,
    sign: sign.opsPerSecond,
    check: check.opsPerSecond,
    checkRepeat: checkRepeat.opsPerSecond,
    verifyOrigin: verifyOrigin.opsPerSecond,
  });
}

const message = new Uint8Array(32).fill(7);
const native = loadNative();
let recoverLibsecp = Number.NaN;
if (native) {
  const { signature, recid } = native.ecdsaSign(message, new Uint8Array(32).fill(3));
  recoverLibsecp = (
    await measure(
      'libsecp256k1 ecdsaRecover',
      () => native.ecdsaRecover(signature, recid, message, true),
      seconds,
    )
  ).opsPerSecond;
}
const vrs = deserializeTransaction(
  (
    await createPaymentTransaction({
      account,
      requirements: requirementsFor('STX'),
      nonce: 0n,
      fee: 500n,
    })
  ).transaction,
).auth.spendingCondition;
const signatureHex = 'signature' in vrs ? vrs.signature.data : '';
const recoverNoble = (
  await measure(
    'noble recover (publicKeyFromSignatureVrs)',
    () => publicKeyFromSignatureVrs('07'.repeat(32), signatureHex),
    seconds,
  )
).opsPerSecond;

console.log(
  `\nbench/verify (secp256k1 backend: ${secp256k1Backend}; ${seconds} s per measurement)\n`,
);
printTable(
  [
    'asset',
    'sign/s',
    'check/s (distinct payers)',
    'check/s (one payer)',
    'verifyOrigin/s (baseline)',
    'check ÷ verifyOrigin',
    'check ÷ libsecp recover',
  ],
  rows.map((row) => [
    row.asset,
    formatRate(row.sign),
    formatRate(row.check),
    formatRate(row.checkRepeat),
    formatRate(row.verifyOrigin),
    `${(row.check / row.verifyOrigin).toFixed(1)}×`,
    (row.check / recoverLibsecp).toFixed(2),
  ]),
);
console.log('');
printTable(
  ['floor', 'ops/s'],
  [
    ['libsecp256k1 public-key recovery', formatRate(recoverLibsecp)],
    ['noble public-key recovery', formatRate(recoverNoble)],
  ],
);
const worst = rows.reduce((a, b) => (a.check / a.verifyOrigin < b.check / b.verifyOrigin ? a : b));
const worstFloor = Math.min(...rows.map((row) => row.check / recoverLibsecp));
console.log(
  `\ntargets: check ≥ 8× verifyOrigin: ${(worst.check / worst.verifyOrigin).toFixed(1)}× ${worst.check / worst.verifyOrigin >= 8 ? 'met' : 'NOT met'}; ` +
    `check ≥ 0.4 × libsecp recovery: ${worstFloor.toFixed(2)} ${worstFloor >= 0.4 ? 'met' : 'NOT met'}`,
);
console.log(
  `peak RSS: ${peakRssMiB().toFixed(1)} MiB; heap used now: ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(1)} MiB`,
);

function loadNative(): NativeSecp256k1 | undefined {
  try {
    // secp256k1 is a dependency of the library package, so resolve it from there.
    const require = createRequire(
      new URL('../../packages/x402-stacks/package.json', import.meta.url),
    );
    return require('secp256k1/bindings') as NativeSecp256k1;
  } catch {
    console.error('libsecp256k1 is not available: the recovery floor is not measured');
    return undefined;
  }
}
