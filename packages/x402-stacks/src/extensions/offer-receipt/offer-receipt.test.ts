/**
 * The offer-receipt extension's pure side: signing offers and receipts with SIP-018 and verifying them offline, with
 * every refusal by its name.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { privateKeyToAccount } from '../../stacks/accounts.js';
import { structuredDataHash, verifyStructuredDataSignature } from '../../stacks/structured-data.js';
import {
  bindSigner,
  findSignedOffer,
  type OfferReceiptSigningRequest,
  offersExtension,
  readSignedOffers,
  readSignedReceipt,
  receiptExtension,
  type SignedOffer,
  type SignedReceipt,
  signOffer,
  signReceipt,
  verifyOffer,
  verifyReceipt,
} from './index.js';
import { offerTupleCV, structuredDomainOf } from './tuples.js';

const SELLER_KEY = '7287ba251d44a4d3fd9276c88ce34c5c52a038955511cccaf77e61068649c17801';
const OTHER_KEY = 'd655b2523bcd65e34889725c73064feb17ceb796831c0e111ba1a552b0f31b3901';
const seller = privateKeyToAccount(SELLER_KEY, 'testnet');
const other = privateKeyToAccount(OTHER_KEY, 'testnet');
const PAYER = 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG';
const TESTNET = 'stacks:2147483648';
const NOW = 1_767_225_600;
const TXID = `0x${'ab'.repeat(32)}`;

const terms = {
  resourceUrl: 'https://api.example.com/premium',
  scheme: 'exact',
  network: TESTNET,
  asset: 'STX',
  payTo: seller.address,
  amount: '340282366920938463463374607431768211455',
};

const offer = (overrides: Partial<typeof terms> = {}, key = SELLER_KEY) =>
  signOffer({ ...terms, ...overrides }, { signer: key, validUntil: NOW + 300, acceptIndex: 0 });
const receiptFor = (signed: SignedOffer, key = SELLER_KEY) =>
  signReceipt(
    { ...signed.payload, payer: PAYER, transaction: TXID, issuedAt: NOW + 10 },
    { signer: key },
  );

test('a signed offer verifies against the seller, its domain and its validity, amounts exact to u128', async () => {
  const signed = await offer();
  assert.deepEqual(signed.domain, { name: 'api.example.com', version: '1', chainId: 0x80000000 });
  const verdict = verifyOffer(signed, { now: NOW, network: 'testnet' });
  assert.ok(verdict.valid);
  assert.equal(verdict.signer, seller.address);
  assert.equal(verdict.payload.amount, terms.amount);
  // JSON round trip: what a buyer stores and shows later verifies the same.
  assert.ok(verifyOffer(JSON.parse(JSON.stringify(signed)), { now: NOW }).valid);
});

test('the signature is plain SIP-018 over the documented tuple, so any SIP-018 verifier accepts it', async () => {
  const signed = await offer();
  const verdict = verifyStructuredDataSignature(
    structuredDomainOf(signed.domain),
    offerTupleCV(signed.payload),
    signed.signature,
    seller.address,
  );
  assert.deepEqual(verdict, { valid: true });
});

test('a remote signer (the key elsewhere) is asked the hash and produces the same artifact', async () => {
  const local = bindSigner(SELLER_KEY, TESTNET);
  const asked: string[] = [];
  const remote = {
    address: seller.address,
    sign: async (request: OfferReceiptSigningRequest) => {
      asked.push(request.hash);
      return local.sign(request.domain, request.message);
    },
  };
  const signed = await signOffer(terms, { signer: remote, validUntil: NOW + 300 });
  assert.equal(
    asked[0],
    Buffer.from(
      structuredDataHash(structuredDomainOf(signed.domain), offerTupleCV(signed.payload)),
    ).toString('hex'),
  );
  assert.ok(verifyOffer(signed, { now: NOW }).valid);
});

test('refusals of an offer, each by its name', async () => {
  const signed = await offer();
  const check = (artifact: unknown, options = {}) => {
    const verdict = verifyOffer(artifact, { now: NOW, ...options });
    return verdict.valid ? 'valid' : verdict.problem;
  };
  // Tampered terms: the signature no longer recovers to the seller.
  assert.equal(check({ ...signed, payload: { ...signed.payload, amount: '1' } }), 'wrong_signer');
  assert.equal(
    check({ ...signed, payload: { ...signed.payload, payTo: PAYER } }, { signer: seller.address }),
    'wrong_signer',
  );
  // Another key signed it.
  assert.equal(check(await offer({}, OTHER_KEY)), 'wrong_signer');
  assert.equal(check(signed, { signer: other.address }), 'wrong_signer');
  assert.equal(check(signed, { signer: [other.address, seller.address] }), 'valid');
  // Another service, or another domain version.
  assert.equal(check(signed, { serviceName: 'evil.example.com' }), 'wrong_domain');
  assert.equal(
    check({ ...signed, domain: { ...signed.domain, name: 'evil.example.com' } }),
    'wrong_domain',
  );
  assert.equal(check({ ...signed, domain: { ...signed.domain, version: '2' } }), 'wrong_domain');
  // Another chain: the domain's chain id, or a network the verifier did not expect.
  assert.equal(check({ ...signed, domain: { ...signed.domain, chainId: 1 } }), 'wrong_chain');
  assert.equal(check(signed, { network: 'mainnet' }), 'wrong_chain');
  assert.equal(
    check({ ...signed, payload: { ...signed.payload, network: 'eip155:8453' } }),
    'unsupported_network',
  );
  // Expired.
  assert.equal(check(signed, { now: NOW + 301 }), 'offer_expired');
  assert.equal(check(signed, { now: NOW + 300 }), 'valid');
  // Not ours, or not well formed.
  assert.equal(check({ ...signed, format: 'eip712' }), 'unsupported_format');
  assert.equal(
    check({ ...signed, payload: { ...signed.payload, amount: '1.5' } }),
    'malformed_artifact',
  );
  assert.equal(
    check({ ...signed, payload: { ...signed.payload, amount: (1n << 128n).toString() } }),
    'malformed_artifact',
  );
  assert.equal(
    check({ ...signed, payload: { ...signed.payload, resourceUrl: 'https://é.example' } }),
    'malformed_artifact',
  );
  assert.equal(
    check(
      { ...signed, payload: { ...signed.payload, payTo: 'nobody' } },
      { signer: seller.address },
    ),
    'malformed_artifact',
  );
  assert.equal(check({ ...signed, domain: undefined }), 'malformed_artifact');
  assert.equal(check('offer'), 'malformed_artifact');
  assert.equal(check({ ...signed, signature: 'zz' }), 'malformed_signature');
  assert.equal(check({ ...signed, signature: highS(signed.signature) }), 'high_s_signature');
});

test('a receipt verifies, matches the offer it answers, and refuses by name', async () => {
  const signed = await offer();
  const receipt = await receiptFor(signed);
  const check = (artifact: unknown, options = {}) => {
    const verdict = verifyReceipt(artifact, { offer: signed, payer: PAYER, ...options });
    return verdict.valid ? 'valid' : verdict.problem;
  };
  assert.equal(check(receipt), 'valid');
  assert.equal(check(receipt, { offer: signed.payload }), 'valid');
  // A receipt for a different offer (another amount, asset, resource), honestly signed.
  const cheaper = await offer({ amount: '5' });
  assert.equal(check(await receiptFor(cheaper)), 'receipt_offer_mismatch');
  assert.equal(
    check(
      await receiptFor(
        await offer({ asset: 'ST1F7QA2MDF17S807EPA36TSS8AMEFY4KA9TVGWXT.sbtc-token' }),
      ),
    ),
    'receipt_offer_mismatch',
  );
  assert.equal(
    check(await receiptFor(await offer({ resourceUrl: 'https://api.example.com/other' }))),
    'receipt_offer_mismatch',
  );
  assert.equal(check(receipt, { offer: { nope: true } }), 'malformed_artifact');
  assert.equal(check(receipt, { payer: seller.address }), 'wrong_payer');
  assert.equal(check({ ...receipt, payload: { ...receipt.payload, amount: '1' } }), 'wrong_signer');
  assert.equal(check(await receiptFor(signed, OTHER_KEY)), 'wrong_signer');
  assert.equal(check(receipt, { serviceName: 'other.example.com' }), 'wrong_domain');
  assert.equal(check({ ...receipt, domain: { ...receipt.domain, chainId: 1 } }), 'wrong_chain');
  assert.equal(
    check({ ...receipt, payload: { ...receipt.payload, transaction: 'abc' } }),
    'malformed_artifact',
  );
  // An offer's signature never passes as a receipt's: the tuples differ in kind and fields.
  assert.equal(check({ ...receipt, signature: signed.signature }), 'wrong_signer');
});

test('the envelopes sit where upstream puts them and read back; offers match accepts by their fields', async () => {
  const first = await offer();
  const second = await offer({ amount: '7' });
  const extensions = { 'offer-receipt': offersExtension([first, { ...second, acceptIndex: 1 }]) };
  const offers = readSignedOffers(JSON.parse(JSON.stringify(extensions)));
  assert.equal(offers.length, 2);
  assert.deepEqual(findSignedOffer(offers, { ...terms, amount: '7' }, 1)?.payload?.amount, '7');
  assert.deepEqual(findSignedOffer(offers, { ...terms, amount: '7' }, 0)?.payload?.amount, '7');
  assert.equal(findSignedOffer(offers, { ...terms, amount: '8' }), undefined);
  assert.deepEqual(readSignedOffers(undefined), []);
  assert.deepEqual(readSignedOffers({ 'offer-receipt': { info: { offers: 'no' } } }), []);
  const receipt: SignedReceipt = await receiptFor(first);
  assert.deepEqual(readSignedReceipt({ 'offer-receipt': receiptExtension(receipt) }), receipt);
  assert.equal(readSignedReceipt({}), undefined);
});

/** The same signature with S replaced by n − S (and the recovery bit flipped): valid ECDSA, but malleated. */
function highS(rsv: string): string {
  const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
  const s = BigInt(`0x${rsv.slice(64, 128)}`);
  const flipped = (Number.parseInt(rsv.slice(128), 16) ^ 1).toString(16).padStart(2, '0');
  return `${rsv.slice(0, 64)}${(n - s).toString(16).padStart(64, '0')}${flipped}`;
}
