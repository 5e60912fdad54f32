/**
 * SIP-018 signatures as a Clarity contract sees them: in the Clarinet simnet (`@stacks/clarinet-sdk`, a GPL
 * devDependency used only in tests), `secp256k1-recover?` over our hash and our signature gives back the signer's
 * public key, and `principal-of?` of it is the signer's address. So a contract can check what the library signs.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { getSDK, type Simnet } from '@stacks/clarinet-sdk';
import {
  Cl,
  deserializeCV,
  privateKeyToPublic,
  stringAsciiCV,
  tupleCV,
  uintCV,
} from '@stacks/transactions';
import { toHex } from '../src/stacks/bytes.js';
import { privateKeyToAccount, STACKS_NETWORKS } from '../src/stacks/index.js';
import { signStructuredData, structuredDataHash } from '../src/stacks/structured-data.js';

const KEY = '7287ba251d44a4d3fd9276c88ce34c5c52a038955511cccaf77e61068649c17801';
let simnet: Simnet;

before(async () => {
  simnet = await getSDK();
  await simnet.initEmptySession(null);
  simnet.setEpoch('3.3');
});

function run(snippet: string) {
  return deserializeCV(simnet.runSnippet(snippet) as string);
}

test('Clarity recovers the signer of our SIP-018 signature over our hash', () => {
  for (const [network, version] of [
    ['testnet', STACKS_NETWORKS.testnet],
    ['mainnet', STACKS_NETWORKS.mainnet],
  ] as const) {
    const domain = { name: 'x402-stacks', version: '1', chainId: version.chainId };
    const message = tupleCV({
      nonce: stringAsciiCV('Zm9vYmFyYmF6cXV4'),
      expires: uintCV(1_800_000_000n),
    });
    const hash = toHex(structuredDataHash(domain, message));
    const signature = signStructuredData(KEY, domain, message);
    const recovered = run(`(secp256k1-recover? 0x${hash} 0x${signature})`);
    assert.deepEqual(
      recovered,
      Cl.ok(Cl.bufferFromHex(privateKeyToPublic(KEY) as string)),
      network,
    );
    // A different hash recovers some other key, never the signer's.
    const tampered = `${hash.slice(0, 63)}${hash.at(-1) === '0' ? '1' : '0'}`;
    const other = run(`(secp256k1-recover? 0x${tampered} 0x${signature})`);
    assert.notDeepEqual(other, recovered);
  }
});

test('Clarity computes the same SIP-018 hash from the same domain and message', () => {
  const domain = { name: 'x402-stacks', version: '1', chainId: STACKS_NETWORKS.testnet.chainId };
  const message = tupleCV({ amount: uintCV(42n), memo: stringAsciiCV('hello') });
  const clarity = run(
    `(sha256 (concat 0x534950303138 (concat (sha256 (unwrap-panic (to-consensus-buff? { name: "x402-stacks", version: "1", chain-id: u2147483648 }))) (sha256 (unwrap-panic (to-consensus-buff? { amount: u42, memo: "hello" }))))))`,
  );
  assert.deepEqual(clarity, Cl.bufferFromHex(toHex(structuredDataHash(domain, message))));
  // The signing account's address is what principal-of? derives from the recovered key.
  const account = privateKeyToAccount(KEY, 'testnet');
  const principal = run(`(principal-of? 0x${privateKeyToPublic(KEY) as string})`);
  assert.deepEqual(principal, Cl.ok(Cl.principal(account.address)));
});
