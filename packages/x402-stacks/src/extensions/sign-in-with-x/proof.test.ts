/**
 * The Stacks sign-in proof through the `x402-stacks/extensions` entry: a proof made from a challenge verifies, and each
 * way a proof can be wrong is refused with its own reason.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { REASON_CODES } from '../../protocol/reasons.js';
import { SERVER_REASON_CODES } from '../../server/reasons.js';
import { privateKeyToAccount } from '../../stacks/accounts.js';
import { signStructuredData } from '../../stacks/structured-data.js';
import {
  createSiwxStacksProof,
  declareSiwxStacks,
  encodeSiwxHeader,
  isSiwxChallengeFor,
  readSiwxDeclaration,
  readSiwxHeader,
  type SiwxExpectations,
  type SiwxInfo,
  type SiwxPayload,
  type SiwxRefusalReason,
  siwxStacksChain,
  verifySiwxStacksProof,
} from '../index.js';

const KEY = '7287ba251d44a4d3fd9276c88ce34c5c52a038955511cccaf77e61068649c17801';
const OTHER_KEY = 'd655b2523bcd65e34889725c73064feb17ceb796831c0e111ba1a552b0f31b3901';
const TESTNET = 'stacks:2147483648';
const MAINNET = 'stacks:1';
const account = privateKeyToAccount(KEY, 'testnet');
const NOW = Date.parse('2026-01-15T10:30:00.000Z');

const info: SiwxInfo = {
  domain: 'api.example.com',
  uri: 'https://api.example.com/premium',
  version: '1',
  nonce: '0123456789abcdef0123456789abcdef',
  issuedAt: new Date(NOW).toISOString(),
  expirationTime: new Date(NOW + 300_000).toISOString(),
  statement: 'Sign in to read premium data ✓',
};
const expected: SiwxExpectations = {
  domain: 'api.example.com',
  uri: 'https://api.example.com/premium',
  chainIds: [TESTNET],
  now: NOW + 1_000,
};
const signWith =
  (key: string) =>
  (
    domain: Parameters<typeof signStructuredData>[1],
    message: Parameters<typeof signStructuredData>[2],
  ) =>
    signStructuredData(key, domain, message);

async function proofFor(
  fields: Partial<SiwxInfo> = {},
  { chainId = TESTNET, address = account.address, key = KEY } = {},
): Promise<SiwxPayload> {
  return createSiwxStacksProof({ ...info, ...fields }, chainId, address, signWith(key));
}

function refusalOf(payload: SiwxPayload, overrides: Partial<SiwxExpectations> = {}) {
  const verdict = verifySiwxStacksProof(payload, { ...expected, ...overrides });
  assert.equal(verdict.ok, false, 'expected a refusal');
  return verdict.ok ? undefined : verdict.reason;
}

describe('sign-in-with-x on Stacks: the proof', () => {
  test('a proof made from the challenge verifies, naming its signer and network', async () => {
    const verdict = verifySiwxStacksProof(await proofFor(), expected);
    assert.deepEqual(verdict.ok && { address: verdict.address, network: verdict.network.caip2 }, {
      address: account.address,
      network: TESTNET,
    });
  });

  test('the header round-trips, and a malformed one is invalid_siwx_header', async () => {
    const proof = await proofFor();
    const read = readSiwxHeader(encodeSiwxHeader(proof));
    assert.deepEqual(read.ok && read.payload, proof);
    for (const bad of [
      'not base64!',
      Buffer.from('{').toString('base64'),
      Buffer.from(JSON.stringify({ ...proof, nonce: undefined })).toString('base64'),
      Buffer.from(JSON.stringify({ ...proof, uri: 'https://api.example.com/é' })).toString(
        'base64',
      ),
      'A'.repeat(10_000),
    ]) {
      const refused = readSiwxHeader(bad);
      assert.equal(refused.ok ? 'ok' : refused.reason, 'invalid_siwx_header', bad.slice(0, 40));
    }
  });

  test('another host: invalid_siwx_domain_mismatch; the domain edited to match: invalid_siwx_signature', async () => {
    const proof = await proofFor({ domain: 'evil.example' });
    assert.equal(refusalOf(proof), 'invalid_siwx_domain_mismatch');
    assert.equal(refusalOf({ ...proof, domain: 'api.example.com' }), 'invalid_siwx_signature');
  });

  test('another resource: invalid_siwx_uri_mismatch', async () => {
    assert.equal(
      refusalOf(await proofFor({ uri: 'https://api.example.com/other' })),
      'invalid_siwx_uri_mismatch',
    );
  });

  test('a testnet proof at a mainnet seller: invalid_siwx_unsupported_chain; relabelled mainnet: refused', async () => {
    const proof = await proofFor();
    assert.equal(refusalOf(proof, { chainIds: [MAINNET] }), 'invalid_siwx_unsupported_chain');
    // Relabelled: the ST address is not a mainnet address.
    assert.equal(
      refusalOf({ ...proof, chainId: MAINNET }, { chainIds: [MAINNET] }),
      'invalid_siwx_chain_id',
    );
    // Relabelled with the same key's SP address: the SIP-018 domain's chain id differs, so the signature does not hold.
    const mainnetAddress = privateKeyToAccount(KEY, 'mainnet').address;
    assert.equal(
      refusalOf({ ...proof, chainId: MAINNET, address: mainnetAddress }, { chainIds: [MAINNET] }),
      'invalid_siwx_signature',
    );
  });

  test('another signature type or a foreign chain: invalid_siwx_unsupported_chain', async () => {
    const proof = await proofFor();
    assert.equal(refusalOf({ ...proof, type: 'eip191' }), 'invalid_siwx_unsupported_chain');
    assert.equal(
      refusalOf({ ...proof, chainId: 'eip155:8453' }, { chainIds: ['eip155:8453'] }),
      'invalid_siwx_unsupported_chain',
    );
  });

  test('time: issued ahead, not yet valid, expired', async () => {
    const proof = await proofFor({ notBefore: new Date(NOW + 60_000).toISOString() });
    assert.equal(refusalOf(proof), 'invalid_siwx_not_yet_valid');
    assert.equal(refusalOf(await proofFor(), { now: NOW + 300_000 }), 'invalid_siwx_expired');
    assert.equal(
      refusalOf(await proofFor(), { now: NOW - 60_000 }),
      'invalid_siwx_issued_at_in_future',
    );
  });

  test('a challenge the seller did not issue: invalid_siwx_nonce', async () => {
    assert.equal(refusalOf(await proofFor(), { issued: () => false }), 'invalid_siwx_nonce');
  });

  test('signatures: malformed, high-S, another signer, a changed field', async () => {
    const proof = await proofFor();
    assert.equal(refusalOf({ ...proof, signature: 'abcd' }), 'invalid_siwx_malformed_signature');
    assert.equal(
      refusalOf({ ...proof, signature: highS(proof.signature) }),
      'invalid_siwx_high_s_signature',
    );
    assert.equal(refusalOf(await proofFor({}, { key: OTHER_KEY })), 'invalid_siwx_signature');
    assert.equal(refusalOf({ ...proof, statement: 'something else' }), 'invalid_siwx_signature');
    assert.equal(
      refusalOf({ ...proof, nonce: 'ffffffffffffffffffffffffffffffff' }),
      'invalid_siwx_signature',
    );
  });

  test('every reason is a documented seller reason code', () => {
    const reasons: SiwxRefusalReason[] = [
      'invalid_siwx_header',
      'invalid_siwx_domain_mismatch',
      'invalid_siwx_uri_mismatch',
      'invalid_siwx_unsupported_chain',
      'invalid_siwx_chain_id',
      'invalid_siwx_issued_at_in_future',
      'invalid_siwx_expired',
      'invalid_siwx_not_yet_valid',
      'invalid_siwx_nonce',
      'invalid_siwx_nonce_reused',
      'invalid_siwx_malformed_signature',
      'invalid_siwx_high_s_signature',
      'invalid_siwx_signature',
      'siwx_capacity_exceeded',
    ];
    for (const reason of reasons) {
      assert.ok(reason in REASON_CODES, reason);
      assert.ok(reason in SERVER_REASON_CODES, reason);
    }
  });
});

describe('sign-in-with-x on Stacks: the declaration', () => {
  test('declared, read back, and its Stacks chain found', () => {
    const extensions = { 'sign-in-with-x': declareSiwxStacks(info, [TESTNET]) };
    const read = readSiwxDeclaration(extensions);
    assert.deepEqual(read?.info, info);
    assert.deepEqual(siwxStacksChain(read!, TESTNET), { chainId: TESTNET, type: 'sip018' });
    assert.equal(siwxStacksChain(read!, MAINNET), undefined);
    assert.equal(readSiwxDeclaration({ 'sign-in-with-x': { info: { domain: 1 } } }), undefined);
    assert.equal(readSiwxDeclaration(undefined), undefined);
  });

  test('a buyer signs only a challenge naming the origin that sent it', () => {
    assert.equal(isSiwxChallengeFor(info, 'https://api.example.com/premium?x=1'), true);
    assert.equal(isSiwxChallengeFor(info, 'https://evil.example/premium'), false);
    assert.equal(isSiwxChallengeFor(info, 'http://api.example.com/premium'), false);
    assert.equal(
      isSiwxChallengeFor({ ...info, uri: 'nonsense' }, 'https://api.example.com/'),
      false,
    );
  });
});

/** The same signature in its high-S form: s' = n − s, and the recovery id's parity flipped. */
function highS(rsv: string): string {
  const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
  const s = BigInt(`0x${rsv.slice(64, 128)}`);
  const v = Number.parseInt(rsv.slice(128), 16) ^ 1;
  return `${rsv.slice(0, 64)}${(n - s).toString(16).padStart(64, '0')}${v.toString(16).padStart(2, '0')}`;
}
