import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { privateKeyToPublic, signMessageHashRsv } from '@stacks/transactions';
import { fromHex, toHex } from './bytes.js';
import { recoverPublicKey, secp256k1Backend, signHashRsv } from './secp256k1.js';

const SAMPLES = 200;

/** Keys (bare and with the compressed suffix) and hashes, fixed by a seed-free draw checked against the reference. */
function samples(): { key: string; hash: Uint8Array }[] {
  return Array.from({ length: SAMPLES }, (_, index) => ({
    key: toHex(randomBytes(32)) + (index % 2 === 0 ? '01' : ''),
    hash: new Uint8Array(randomBytes(32)),
  }));
}

describe('secp256k1', () => {
  test('the native binding is the backend here', () => {
    assert.equal(secp256k1Backend, 'libsecp256k1');
  });

  test("signHashRsv gives @stacks/transactions' bytes, and the signer's key recovers from them", () => {
    for (const { key, hash } of samples()) {
      const signature = signHashRsv(hash, key);
      assert.equal(signature, signMessageHashRsv({ messageHash: toHex(hash), privateKey: key }));
      const rsv = fromHex(signature);
      const vrs = new Uint8Array(65);
      vrs[0] = rsv[64]!;
      vrs.set(rsv.subarray(0, 64), 1);
      assert.equal(
        toHex(recoverPublicKey(hash, vrs, true)!),
        privateKeyToPublic(`${key.slice(0, 64)}01`),
      );
    }
  });

  test('the noble fallback signs the same bytes (child process)', async () => {
    const drawn = samples().slice(0, 20);
    const module = pathToFileURL(fileURLToPath(new URL('./secp256k1.ts', import.meta.url)));
    const script = `
      const { signHashRsv, secp256k1Backend } = await import(${JSON.stringify(module.href)});
      const drawn = ${JSON.stringify(drawn.map(({ key, hash }) => ({ key, hash: toHex(hash) })))};
      const hex = (h) => Uint8Array.from(h.match(/../g).map((b) => parseInt(b, 16)));
      console.log(JSON.stringify({ backend: secp256k1Backend, signatures: drawn.map(({ key, hash }) => signHashRsv(hex(hash), key)) }));
    `;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { env: { ...process.env, X402_STACKS_DISABLE_NATIVE_SECP256K1: '1' } },
    );
    const out = JSON.parse(stdout) as { backend: string; signatures: string[] };
    assert.equal(out.backend, 'noble');
    assert.deepEqual(
      out.signatures,
      drawn.map(({ key, hash }) => signHashRsv(hash, key)),
    );
  });

  test('a key of the wrong length is refused, not signed with', () => {
    assert.throws(() => signHashRsv(new Uint8Array(32), 'abcd'));
  });
});
