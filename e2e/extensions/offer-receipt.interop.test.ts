/**
 * offer-receipt interoperability with the stock `@x402/extensions` 2.27: the envelopes it produces (EIP-712 and JWS
 * offers, a receipt) parse with ours on the fields the two share, and ours read with its client helpers. Upstream has
 * no Stacks signature format, so each side verifies only its own formats: ours names theirs `unsupported_format`,
 * and their payload decoders refuse `sip018` (asserted below, so a stock release that learns it is noticed).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  decodePaymentRequiredHeader as stockDecodePaymentRequired,
  decodePaymentResponseHeader as stockDecodePaymentResponse,
} from '@x402/core/http';
import type { PaymentRequirements as StockRequirements } from '@x402/core/types';
import {
  createEIP712OfferReceiptIssuer,
  createJWSOfferReceiptIssuer,
  createOfferReceiptExtension,
  decodeSignedOffers,
  extractOffersFromPaymentRequired,
  extractReceiptFromResponse,
  findAcceptsObjectFromSignedOffer,
  OFFER_RECEIPT as STOCK_OFFER_RECEIPT,
} from '@x402/extensions/offer-receipt';
import { type PaymentRequirements, privateKeyToAccount } from 'x402-stacks';
import {
  findSignedOffer,
  OFFER_RECEIPT,
  OfferPayloadSchema,
  offersExtension,
  readSignedOffers,
  readSignedReceipt,
  receiptExtension,
  signOffer,
  signReceipt,
  verifyOffer,
  verifyReceipt,
} from 'x402-stacks/extensions';
import { encodePaymentRequiredHeader, encodePaymentResponseHeader } from 'x402-stacks/protocol';

const KEY = '7287ba251d44a4d3fd9276c88ce34c5c52a038955511cccaf77e61068649c17801';
const seller = privateKeyToAccount(KEY, 'testnet');
const BUYER = 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG';
const RESOURCE = 'https://api.example.com/premium';
const TXID = 'ab'.repeat(32);
const accepts: PaymentRequirements[] = [
  {
    scheme: 'exact',
    network: 'stacks:2147483648',
    amount: '1000',
    asset: 'STX',
    payTo: seller.address,
    maxTimeoutSeconds: 300,
  },
  {
    scheme: 'exact',
    network: 'stacks:2147483648',
    amount: '25',
    asset: 'ST1F7QA2MDF17S807EPA36TSS8AMEFY4KA9TVGWXT.sbtc-token',
    payTo: seller.address,
    maxTimeoutSeconds: 300,
  },
];

// Stock signers need not verify to shape an envelope: a fixed signature stands in for viem's and jose's.
const eip712Issuer = createEIP712OfferReceiptIssuer(
  'did:pkh:eip155:1:0x0000000000000000000000000000000000000001',
  async () => `0x${'11'.repeat(65)}`,
);
const jwsIssuer = createJWSOfferReceiptIssuer('did:web:api.example.com#key-1', {
  kid: 'did:web:api.example.com#key-1',
  format: 'jws',
  algorithm: 'ES256K',
  sign: async () => 'c2lnbmF0dXJl',
});

async function stockOffers(issuer: typeof eip712Issuer) {
  const extension = createOfferReceiptExtension(issuer);
  const enriched = await extension.enrichPaymentRequiredResponse!({}, {
    requirements: accepts as StockRequirements[],
    paymentRequiredResponse: { x402Version: 2, resource: { url: RESOURCE }, accepts },
  } as never);
  assert.ok(enriched);
  return enriched as { info: Record<string, unknown>; schema?: Record<string, unknown> };
}

describe('stock @x402/extensions 2.27 → ours', () => {
  test('EIP-712 offers: envelope and payload fields parse, each matches its accepts entry; not verified (not Stacks)', async () => {
    const envelope = await stockOffers(eip712Issuer);
    const offers = readSignedOffers({ [STOCK_OFFER_RECEIPT]: envelope });
    assert.equal(offers.length, accepts.length);
    accepts.forEach((entry, index) => {
      const offer = findSignedOffer(offers, entry, index);
      assert.equal(offer?.format, 'eip712');
      assert.equal(offer?.acceptIndex, index);
      const payload = OfferPayloadSchema.parse(offer?.payload);
      assert.equal(payload.amount, entry.amount);
      assert.equal(payload.resourceUrl, RESOURCE);
      assert.ok(payload.validUntil > 0);
      const verdict = verifyOffer(offer);
      assert.equal(verdict.valid === false && verdict.problem, 'unsupported_format');
    });
  });

  test('JWS offers: the envelope parses; with no payload there is nothing to match, and the format is named', async () => {
    const envelope = await stockOffers(jwsIssuer);
    const offers = readSignedOffers({ [STOCK_OFFER_RECEIPT]: envelope });
    assert.equal(offers.length, accepts.length);
    assert.equal(offers[0]?.format, 'jws');
    assert.equal(findSignedOffer(offers, accepts[0]!, 0), undefined);
    const verdict = verifyOffer(offers[0]);
    assert.equal(verdict.valid === false && verdict.problem, 'unsupported_format');
  });

  test('a stock receipt parses on the shared fields (network, resourceUrl, payer, issuedAt)', async () => {
    const extension = createOfferReceiptExtension(eip712Issuer);
    const enriched = await extension.enrichSettlementResponse!({ includeTxHash: true }, {
      result: { success: true, payer: BUYER, network: 'stacks:2147483648', transaction: TXID },
      transportContext: { request: { adapter: { getUrl: () => RESOURCE } } },
    } as never);
    const receipt = readSignedReceipt({ [STOCK_OFFER_RECEIPT]: enriched });
    assert.equal(receipt?.format, 'eip712');
    assert.deepEqual(
      {
        network: receipt?.payload?.network,
        resourceUrl: receipt?.payload?.resourceUrl,
        payer: receipt?.payload?.payer,
        transaction: receipt?.payload?.transaction,
      },
      { network: 'stacks:2147483648', resourceUrl: RESOURCE, payer: BUYER, transaction: TXID },
    );
    assert.equal(typeof receipt?.payload?.issuedAt, 'number');
    const verdict = verifyReceipt(receipt);
    assert.equal(verdict.valid === false && verdict.problem, 'unsupported_format');
  });
});

describe('ours → stock @x402/extensions 2.27 and @x402/core 2.27', () => {
  test('our 402 decodes with stock core; its client helpers find our offers and the accepts entry each one signs', async () => {
    const offers = await Promise.all(
      accepts.map((entry, acceptIndex) =>
        signOffer(
          { ...entry, resourceUrl: RESOURCE },
          { signer: KEY, validUntil: 2_000_000_000, acceptIndex },
        ),
      ),
    );
    const header = encodePaymentRequiredHeader({
      x402Version: 2,
      resource: { url: RESOURCE },
      accepts,
      extensions: { [OFFER_RECEIPT]: offersExtension(offers) },
    });
    const paymentRequired = stockDecodePaymentRequired(header);
    const found = extractOffersFromPaymentRequired(paymentRequired);
    assert.deepEqual(found, offers);
    // Stock's matcher works on decoded offers (payload fields at the top), which ours carry under the same names.
    offers.forEach((offer, index) => {
      const decoded = { ...offer.payload, signedOffer: offer as never, format: 'eip712' as const };
      const entry = findAcceptsObjectFromSignedOffer(decoded, paymentRequired.accepts);
      assert.deepEqual(entry, paymentRequired.accepts[index]);
    });
    // Stock decodes only JWS and EIP-712 payloads: sip018 is ours to verify.
    assert.throws(() => decodeSignedOffers(found), /sip018/);
    assert.ok(verifyOffer(found[0], { now: 1_900_000_000 }).valid);
  });

  test('our receipt in payment-response is what stock extractReceiptFromResponse returns, and verifies with ours', async () => {
    const offer = await signOffer(
      { ...accepts[0]!, resourceUrl: RESOURCE },
      { signer: KEY, validUntil: 2_000_000_000 },
    );
    const receipt = await signReceipt(
      { ...offer.payload, payer: BUYER, transaction: TXID, issuedAt: 1_900_000_000 },
      { signer: KEY },
    );
    const value = encodePaymentResponseHeader({
      success: true,
      transaction: TXID,
      network: 'stacks:2147483648',
      payer: BUYER,
      extensions: { [OFFER_RECEIPT]: receiptExtension(receipt) },
    });
    assert.equal(stockDecodePaymentResponse(value).success, true);
    const extracted = extractReceiptFromResponse(
      new Response(null, { headers: { 'PAYMENT-RESPONSE': value } }),
    );
    assert.deepEqual(extracted, receipt);
    assert.ok(verifyReceipt(extracted, { offer, payer: BUYER }).valid);
  });
});
