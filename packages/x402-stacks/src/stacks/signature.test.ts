import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { makeSTXTokenTransfer } from '@stacks/transactions';
import { fuzzRuns } from '@x402-stacks/test-kit';
import {
  type Base,
  buildBase,
  CURVE_ORDER,
  decodeStrict,
  HALF_CURVE_ORDER,
  originSignatureOf,
  Rng,
  referenceValid,
  type Sample,
  sOf,
  tamper,
  toHighS,
} from '@x402-stacks/test-kit/fixtures';
import { secp256k1Backend } from './secp256k1.js';
import { isHighS, verifyOriginSignature } from './signature.js';

// A fixed seed keeps CI reproducible; set X402_STACKS_SEED to explore other transactions or replay a failure.
const SEED = process.env.X402_STACKS_SEED ? Number(process.env.X402_STACKS_SEED) >>> 0 : 0x402c0de;
// Full counts under npm test; X402_FUZZ_RUNS=quick (the unit tier's default) runs a fortieth. The floors below are the
// full run's (10,000 compared with 2,000 of each verdict over 400 bases; 500, 50 and 200 over 18), scaled to the bases.
const BASES = fuzzRuns(400);
const NOBLE_BASES = fuzzRuns(18);
const scaled = (floor: number, fullBases: number, bases: number) =>
  Math.ceil((floor * bases) / fullBases);
const MIN_SAMPLES = scaled(10_000, 400, BASES);
const MIN_EACH = scaled(2_000, 400, BASES);
const NOBLE_MIN_SAMPLES = scaled(500, 18, NOBLE_BASES);
const NOBLE_MIN_VALID = scaled(50, 18, NOBLE_BASES);
const NOBLE_MIN_INVALID = scaled(200, 18, NOBLE_BASES);

const run = promisify(execFile);
const PAYER_KEY = '753b7cc01a1a2e86221266a154af739463fce51219d97e4f856cd7200c3bd2a601';
const PAY_TO = 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5';

/** Signature hex from r, s and v. */
function vrs(v: number, r: bigint, s: bigint): string {
  return (
    v.toString(16).padStart(2, '0') +
    r.toString(16).padStart(64, '0') +
    s.toString(16).padStart(64, '0')
  );
}

describe('isHighS', () => {
  const r = 0x1234n;
  test('S at or below half the curve order is low', () => {
    assert.equal(isHighS(vrs(0, r, 1n)), false);
    assert.equal(isHighS(vrs(1, r, 0n)), false);
    assert.equal(isHighS(vrs(0, r, HALF_CURVE_ORDER)), false);
    assert.equal(isHighS(vrs(0, r, HALF_CURVE_ORDER - 1n)), false);
  });

  test('S above half the curve order is high', () => {
    assert.equal(isHighS(vrs(0, r, HALF_CURVE_ORDER + 1n)), true);
    assert.equal(isHighS(vrs(1, r, CURVE_ORDER - 1n)), true);
    assert.equal(isHighS(vrs(0, r, 2n ** 256n - 1n)), true);
    assert.equal(isHighS(vrs(0, r, HALF_CURVE_ORDER + 1n).toUpperCase()), true);
  });

  test('only S matters: v and r are ignored', () => {
    const maxR = 2n ** 256n - 1n;
    assert.equal(isHighS(vrs(0xff, maxR, HALF_CURVE_ORDER)), false);
    assert.equal(isHighS(vrs(0x00, 0n, HALF_CURVE_ORDER + 1n)), true);
  });

  test('anything but 130 hex characters is not high-S', () => {
    const high = vrs(0, r, CURVE_ORDER - 1n);
    assert.equal(isHighS(''), false);
    assert.equal(isHighS(high.slice(2)), false);
    assert.equal(isHighS(`${high}00`), false);
  });

  test('a library signature is low-S, and its n − s twin is high-S', async () => {
    for (let nonce = 0n; nonce < 20n; nonce++) {
      const tx = await makeSTXTokenTransfer({
        recipient: PAY_TO,
        amount: 1000n + nonce,
        senderKey: PAYER_KEY,
        network: 'testnet',
        fee: 200n,
        nonce,
      });
      const hex = tx.serialize();
      assert.equal(isHighS(originSignatureOf(hex)), false, `nonce ${nonce}`);
      assert.equal(isHighS(originSignatureOf(toHighS(hex))), true, `nonce ${nonce}`);
    }
  });
});

describe('secp256k1Backend', () => {
  test('reports the native binding when it loads, noble otherwise', () => {
    let loadable = false;
    try {
      createRequire(import.meta.url)('secp256k1/bindings');
      loadable = true;
    } catch {
      loadable = false;
    }
    const disabled = process.env.X402_STACKS_DISABLE_NATIVE_SECP256K1 === '1';
    assert.equal(secp256k1Backend, loadable && !disabled ? 'libsecp256k1' : 'noble');
  });
});

type Tally = {
  compared: number;
  valid: number;
  invalid: number;
  validHighS: number;
  skippedThrows: number;
  skippedNonCanonical: number;
  mismatches: string[];
};

/** Compares `verifyOriginSignature` with `verifyOrigin()` on one sample. */
function compare(sample: Sample, tally: Tally): void {
  const decoded = decodeStrict(sample.hex);
  if (decoded.status === 'throws') {
    tally.skippedThrows++;
    return;
  }
  if (decoded.status === 'non-canonical') {
    tally.skippedNonCanonical++;
    return;
  }
  const { raw, tx } = decoded;
  const expected = referenceValid(tx);
  const verdict = verifyOriginSignature(raw, tx);
  const condition = tx.auth.spendingCondition;
  const expectedHighS =
    'signature' in condition && sOf(condition.signature.data) > HALF_CURVE_ORDER;
  tally.compared++;
  if (expected) tally.valid++;
  else tally.invalid++;
  if (expected && expectedHighS) tally.validHighS++;
  if (verdict.valid !== expected || verdict.highS !== expectedHighS) {
    tally.mismatches.push(
      `${sample.kind} of ${sample.base}: verifyOrigin ${expected}, verifyOriginSignature ` +
        `${JSON.stringify(verdict)}, expected highS ${expectedHighS}; hex ${sample.hex}`,
    );
  }
}

describe('verifyOriginSignature agrees with verifyOrigin()', () => {
  test(`differential over at least ${MIN_SAMPLES} transactions (seed ${SEED})`, async (t) => {
    const started = performance.now();
    const rng = new Rng(SEED);
    const bases: Base[] = [];
    for (let i = 0; i < BASES; i++) bases.push(await buildBase(rng));
    const built = performance.now();

    const tally: Tally = {
      compared: 0,
      valid: 0,
      invalid: 0,
      validHighS: 0,
      skippedThrows: 0,
      skippedNonCanonical: 0,
      mismatches: [],
    };
    const kinds = new Map<string, { valid: number; invalid: number }>();
    for (let i = 0; i < bases.length; i++) {
      for (const sample of tamper(bases[i]!, bases[(i + 1) % bases.length]!, rng)) {
        const before = tally.valid;
        const comparedBefore = tally.compared;
        compare(sample, tally);
        if (tally.compared === comparedBefore) continue;
        const counts = kinds.get(sample.kind) ?? { valid: 0, invalid: 0 };
        if (tally.valid > before) counts.valid++;
        else counts.invalid++;
        kinds.set(sample.kind, counts);
      }
    }
    const finished = performance.now();
    t.diagnostic(
      `seed ${SEED}, backend ${secp256k1Backend}: ${tally.compared} compared (${tally.valid} valid, ` +
        `${tally.invalid} invalid, ${tally.validHighS} valid high-S); skipped ${tally.skippedThrows} ` +
        `undecodable, ${tally.skippedNonCanonical} non-canonical; build ${Math.round(built - started)} ms, ` +
        `compare ${Math.round(finished - built)} ms`,
    );

    const context = `seed ${SEED} (replay with X402_STACKS_SEED=${SEED})`;
    assert.deepEqual(tally.mismatches.slice(0, 10), [], `${context}: verdicts differ`);
    assert.equal(tally.mismatches.length, 0, context);
    assert.ok(tally.compared >= MIN_SAMPLES, `${context}: only ${tally.compared} compared`);
    assert.ok(tally.valid >= MIN_EACH, `${context}: only ${tally.valid} valid`);
    assert.ok(tally.invalid >= MIN_EACH, `${context}: only ${tally.invalid} invalid`);
    // Every base yields one valid high-S twin: the flag is exercised on valid signatures, not only on garbage.
    assert.ok(tally.validHighS >= BASES, `${context}: only ${tally.validHighS} valid high-S`);
    // The generator is what it claims: untouched and malleated transactions verify, tampered ones do not.
    assert.deepEqual(kinds.get('untampered'), { valid: BASES, invalid: 0 }, context);
    assert.deepEqual(kinds.get('high-s'), { valid: BASES, invalid: 0 }, context);
    for (const kind of ['signature-bit', 'r-bit', 'nonce-bit', 'fee-bit', 'swapped-signature']) {
      assert.equal(kinds.get(kind)?.valid, 0, `${context}: a ${kind} sample verified`);
    }
    assert.equal(kinds.get('sponsor-toggle')?.valid, 0, `${context}: a sponsor toggle verified`);
    assert.ok((kinds.get('sponsor-field')?.valid ?? 0) > 0, `${context}: no sponsor-field samples`);
  });

  test(`the noble fallback agrees too (child process, seed ${(SEED + 1) >>> 0})`, async () => {
    const seed = (SEED + 1) >>> 0;
    const here = fileURLToPath(new URL('.', import.meta.url));
    const tampering = pathToFileURL(
      fileURLToPath(new URL('../../../test-kit/src/fixtures/tampering.ts', import.meta.url)),
    );
    const signature = pathToFileURL(fileURLToPath(new URL('./signature.ts', import.meta.url)));
    const secp256k1 = pathToFileURL(fileURLToPath(new URL('./secp256k1.ts', import.meta.url)));
    const script = `
      const { Rng, buildBase, tamper, decodeStrict, referenceValid } = await import(${JSON.stringify(tampering.href)});
      const { verifyOriginSignature } = await import(${JSON.stringify(signature.href)});
      const { secp256k1Backend } = await import(${JSON.stringify(secp256k1.href)});
      const rng = new Rng(${seed});
      const bases = [];
      for (let i = 0; i < ${NOBLE_BASES}; i++) bases.push(await buildBase(rng));
      const out = { backend: secp256k1Backend, compared: 0, valid: 0, invalid: 0, mismatches: [] };
      for (let i = 0; i < bases.length; i++) {
        for (const sample of tamper(bases[i], bases[(i + 1) % bases.length], rng)) {
          const decoded = decodeStrict(sample.hex);
          if (decoded.status !== 'ok') continue;
          const expected = referenceValid(decoded.tx);
          const verdict = verifyOriginSignature(decoded.raw, decoded.tx);
          out.compared++;
          if (expected) out.valid++; else out.invalid++;
          if (verdict.valid !== expected) out.mismatches.push(sample.kind + ' ' + sample.hex);
        }
      }
      console.log(JSON.stringify(out));
    `;
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '--eval', script],
      {
        cwd: here,
        env: { ...process.env, X402_STACKS_DISABLE_NATIVE_SECP256K1: '1' },
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      backend: string;
      compared: number;
      valid: number;
      invalid: number;
      mismatches: string[];
    };
    const context = `seed ${seed}`;
    assert.equal(result.backend, 'noble', context);
    assert.deepEqual(result.mismatches, [], context);
    assert.ok(result.compared >= NOBLE_MIN_SAMPLES, `${context}: only ${result.compared} compared`);
    assert.ok(result.valid >= NOBLE_MIN_VALID, `${context}: only ${result.valid} valid`);
    assert.ok(result.invalid >= NOBLE_MIN_INVALID, `${context}: only ${result.invalid} invalid`);
  });
});
