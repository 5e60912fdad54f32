/**
 * SIP-018 against the two references the issue names: @stacks/transactions' own structured-data functions (hash and
 * signature), and Clarity's `secp256k1-recover?` over the same hash, run in the Clarinet simnet.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sha256 } from '@noble/hashes/sha2';
import {
  bufferCV,
  encodeStructuredDataBytes,
  hashStructuredDataBytes,
  listCV,
  principalCV,
  signStructuredData as referenceSign,
  someCV,
  stringAsciiCV,
  stringUtf8CV,
  tupleCV,
  uintCV,
} from '@stacks/transactions';
import { fuzzRuns } from '@x402-stacks/test-kit';
import { privateKeyToAccount } from './accounts.js';
import { fromHex, toHex } from './bytes.js';
import { STACKS_NETWORKS } from './networks.js';
import {
  recoverStructuredDataSigner,
  signStructuredData,
  structuredDataDomainCV,
  structuredDataHash,
  verifyStructuredDataSignature,
} from './structured-data.js';

const KEY = '7287ba251d44a4d3fd9276c88ce34c5c52a038955511cccaf77e61068649c17801';
const OTHER_KEY = 'd655b2523bcd65e34889725c73064feb17ceb796831c0e111ba1a552b0f31b3901';
const account = privateKeyToAccount(KEY, 'testnet');
const other = privateKeyToAccount(OTHER_KEY, 'testnet');
const domain = { name: 'x402-stacks', version: '1', chainId: STACKS_NETWORKS.testnet.chainId };
const message = tupleCV({
  domain: stringAsciiCV('api.example.com'),
  nonce: bufferCV(new Uint8Array(16).fill(7)),
  amount: uintCV(1_000_000n),
  payer: principalCV(account.address),
  note: someCV(stringUtf8CV('café')),
  tags: listCV([stringAsciiCV('a'), stringAsciiCV('b')]),
});

test('the hash is the one @stacks/transactions encodes and hashes', () => {
  const reference = sha256(
    encodeStructuredDataBytes({ message, domain: structuredDataDomainCV(domain) }),
  );
  assert.equal(toHex(structuredDataHash(domain, message)), toHex(reference));
  // The domain is the reference's own domain shape (its encoder refuses any other), hashed where SIP-018 puts it.
  const encoded = encodeStructuredDataBytes({ message, domain: structuredDataDomainCV(domain) });
  assert.equal(
    toHex(encoded.subarray(6, 38)),
    toHex(hashStructuredDataBytes(structuredDataDomainCV(domain))),
  );
});

test('signatures match the reference signer byte for byte, and verify both ways', () => {
  for (let i = 0; i < fuzzRuns(20); i++) {
    const value = tupleCV({ i: uintCV(i), text: stringAsciiCV(`n${i}`) });
    const ours = signStructuredData(KEY, domain, value);
    const theirs = referenceSign({
      message: value,
      domain: structuredDataDomainCV(domain),
      privateKey: KEY,
    });
    assert.equal(ours, theirs);
    assert.deepEqual(verifyStructuredDataSignature(domain, value, theirs, account.address), {
      valid: true,
    });
  }
});

test('a signature is refused for another signer, domain, chain or message, each with its problem', () => {
  const signature = signStructuredData(KEY, domain, message);
  const wrong = { valid: false, problem: 'wrong_signer' };
  assert.deepEqual(verifyStructuredDataSignature(domain, message, signature, other.address), wrong);
  assert.deepEqual(
    verifyStructuredDataSignature(
      { ...domain, name: 'other' },
      message,
      signature,
      account.address,
    ),
    wrong,
  );
  assert.deepEqual(
    verifyStructuredDataSignature({ ...domain, chainId: 1 }, message, signature, account.address),
    wrong,
  );
  assert.deepEqual(
    verifyStructuredDataSignature(
      domain,
      tupleCV({ nonce: uintCV(1) }),
      signature,
      account.address,
    ),
    wrong,
  );
  // The same key's mainnet address is the same hash160: the domain's chain id, not the address, binds the network.
  const mainnetTwin = privateKeyToAccount(KEY, 'mainnet').address;
  assert.deepEqual(verifyStructuredDataSignature(domain, message, signature, mainnetTwin), {
    valid: true,
  });
});

test('malformed and malleated signatures are refused by name', () => {
  const signature = signStructuredData(KEY, domain, message);
  const malformed = { valid: false, problem: 'malformed_signature' };
  assert.deepEqual(
    verifyStructuredDataSignature(domain, message, signature.slice(2), account.address),
    malformed,
  );
  assert.deepEqual(
    verifyStructuredDataSignature(domain, message, `${signature.slice(0, 128)}07`, account.address),
    malformed,
  );
  assert.deepEqual(
    verifyStructuredDataSignature(domain, message, 'zz'.repeat(65), account.address),
    malformed,
  );
  assert.deepEqual(
    verifyStructuredDataSignature(domain, message, `0x${signature}`, account.address),
    { valid: true },
  );
  // (r, n - s, v ^ 1) is the same signature's high-S twin; a node would refuse it and so do we.
  const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
  const s = BigInt(`0x${signature.slice(64, 128)}`);
  const twin = `${signature.slice(0, 64)}${(n - s).toString(16).padStart(64, '0')}0${Number.parseInt(signature.slice(128), 16) ^ 1}`;
  assert.deepEqual(verifyStructuredDataSignature(domain, message, twin, account.address), {
    valid: false,
    problem: 'high_s_signature',
  });
});

test('recoverStructuredDataSigner answers what a contract recovers: the signer, high-S twins too, nothing from junk', () => {
  const hash = structuredDataHash(domain, message);
  const signature = signStructuredData(KEY, domain, message);
  const version = STACKS_NETWORKS.testnet.addressVersion.singleSig;
  assert.equal(recoverStructuredDataSigner(hash, fromHex(signature), version), account.address);
  assert.equal(
    recoverStructuredDataSigner(
      hash,
      fromHex(signStructuredData(OTHER_KEY, domain, message)),
      version,
    ),
    other.address,
  );
  // secp256k1-recover? accepts the high-S twin and recovers the same key.
  const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
  const s = BigInt(`0x${signature.slice(64, 128)}`);
  const twin = `${signature.slice(0, 64)}${(n - s).toString(16).padStart(64, '0')}0${Number.parseInt(signature.slice(128), 16) ^ 1}`;
  assert.equal(recoverStructuredDataSigner(hash, fromHex(twin), version), account.address);
  // Another hash recovers another key; a short signature, a recovery id above 3 or r = 0 recover nothing.
  assert.notEqual(
    recoverStructuredDataSigner(
      structuredDataHash({ ...domain, version: '2' }, message),
      fromHex(signature),
      version,
    ),
    account.address,
  );
  assert.equal(
    recoverStructuredDataSigner(hash, fromHex(signature).subarray(0, 64), version),
    undefined,
  );
  assert.equal(
    recoverStructuredDataSigner(hash, fromHex(`${signature.slice(0, 128)}04`), version),
    undefined,
  );
  assert.equal(recoverStructuredDataSigner(hash, new Uint8Array(65), version), undefined);
});
