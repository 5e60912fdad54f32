/**
 * The `sip018` sign-in message as Clarity sees it, in the Clarinet simnet: the tuple the README documents, written
 * here in Clarity's own syntax, hashes under SIP-018 to the hash our proof signs, and `secp256k1-recover?` with
 * `principal-of?` gives back the proof's address. So another implementation (or a contract) following the README
 * produces what we verify.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { getSDK, type Simnet } from '@stacks/clarinet-sdk';
import { Cl, deserializeCV } from '@stacks/transactions';
import {
  createSiwxStacksProof,
  siwxStacksDomain,
  siwxStacksMessage,
  siwxStacksNetwork,
} from '../src/extensions/index.js';
import { toHex } from '../src/stacks/bytes.js';
import { privateKeyToAccount } from '../src/stacks/index.js';
import { signStructuredData, structuredDataHash } from '../src/stacks/structured-data.js';

const KEY = '7287ba251d44a4d3fd9276c88ce34c5c52a038955511cccaf77e61068649c17801';
const account = privateKeyToAccount(KEY, 'testnet');
let simnet: Simnet;

before(async () => {
  simnet = await getSDK();
  await simnet.initEmptySession(null);
  simnet.setEpoch('3.3');
});

function run(snippet: string) {
  return deserializeCV(simnet.runSnippet(snippet) as string);
}

const info = {
  domain: 'api.example.com',
  uri: 'https://api.example.com/premium',
  version: '1',
  nonce: '0123456789abcdef0123456789abcdef',
  issuedAt: '2026-01-15T10:30:00.000Z',
  expirationTime: '2026-01-15T10:35:00.000Z',
  statement: 'Sign in to read',
  resources: ['https://api.example.com/premium'],
};

test('the documented tuple, written in Clarity, hashes to what our sip018 proof signs; Clarity recovers the signer', async () => {
  const chainId = 'stacks:2147483648';
  const proof = await createSiwxStacksProof(info, chainId, account.address, (domain, message) =>
    signStructuredData(KEY, domain, message),
  );
  const network = siwxStacksNetwork(chainId)!;
  const ours = toHex(
    structuredDataHash(siwxStacksDomain(proof, network), siwxStacksMessage(proof)),
  );
  const domain = `{ name: "api.example.com", version: "1", chain-id: u2147483648 }`;
  const message = `{ address: '${account.address}, chain-id: "stacks:2147483648", domain: "api.example.com", expiration-time: (some "2026-01-15T10:35:00.000Z"), issued-at: "2026-01-15T10:30:00.000Z", nonce: "0123456789abcdef0123456789abcdef", not-before: none, request-id: none, resources: (list "https://api.example.com/premium"), statement: (some u"Sign in to read"), uri: "https://api.example.com/premium", version: "1" }`;
  const hash = `(sha256 (concat 0x534950303138 (concat (sha256 (unwrap-panic (to-consensus-buff? ${domain}))) (sha256 (unwrap-panic (to-consensus-buff? ${message}))))))`;
  assert.deepEqual(run(hash), Cl.bufferFromHex(ours));
  const signer = run(
    `(principal-of? (unwrap-panic (secp256k1-recover? ${hash} 0x${proof.signature})))`,
  );
  assert.deepEqual(signer, Cl.ok(Cl.principal(account.address)));
});

// An empty list literal has no element type Clarity could serialize; a typed empty list serializes the same as any.
test('absent optional fields are none and absent resources an empty list, in Clarity too', async () => {
  const { statement: _s, resources: _r, expirationTime: _e, ...bare } = info;
  const mainnet = privateKeyToAccount(KEY, 'mainnet').address;
  const proof = await createSiwxStacksProof(bare, 'stacks:1', mainnet, () => '');
  const ours = toHex(
    structuredDataHash(
      siwxStacksDomain(proof, siwxStacksNetwork('stacks:1')!),
      siwxStacksMessage(proof),
    ),
  );
  const message = `{ address: '${mainnet}, chain-id: "stacks:1", domain: "api.example.com", expiration-time: none, issued-at: "2026-01-15T10:30:00.000Z", nonce: "0123456789abcdef0123456789abcdef", not-before: none, request-id: none, resources: (unwrap-panic (slice? (list "x") u0 u0)), statement: none, uri: "https://api.example.com/premium", version: "1" }`;
  const clarity = run(
    `(sha256 (concat 0x534950303138 (concat (sha256 (unwrap-panic (to-consensus-buff? { name: "api.example.com", version: "1", chain-id: u1 }))) (sha256 (unwrap-panic (to-consensus-buff? ${message}))))))`,
  );
  assert.deepEqual(clarity, Cl.bufferFromHex(ours));
});
