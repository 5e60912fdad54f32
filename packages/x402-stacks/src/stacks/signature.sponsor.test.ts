import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bytesToHex, hexToBytes } from '@stacks/common';
import {
  deserializeTransaction,
  makeSTXTokenTransfer,
  randomPrivateKey,
  sponsorTransaction,
} from '@stacks/transactions';
import { FEE_OFFSET, flipByte, PAY_TO, PAYER_KEY } from '@x402-stacks/test-kit/fixtures';
import { verifyOriginSignature, verifySponsorSignature } from './signature.js';

const SPONSOR_KEY = randomPrivateKey();

async function sponsored(sponsorFee = 500n, sponsorNonce = 3n): Promise<string> {
  const unsigned = await makeSTXTokenTransfer({
    recipient: PAY_TO,
    amount: 42n,
    senderKey: PAYER_KEY,
    network: 'testnet',
    fee: 0n,
    nonce: 0n,
    sponsored: true,
  });
  const signed = await sponsorTransaction({
    transaction: deserializeTransaction(unsigned.serialize()),
    sponsorPrivateKey: SPONSOR_KEY,
    fee: sponsorFee,
    sponsorNonce,
    network: 'testnet',
  });
  return signed.serialize();
}

const verdict = (hex: string) => {
  const raw = hexToBytes(hex);
  return verifySponsorSignature(raw, deserializeTransaction(raw));
};

describe('verifySponsorSignature', () => {
  test('accepts a sponsor signature made by @stacks/transactions', async () => {
    assert.equal(verdict(await sponsored()).valid, true);
    assert.equal(verdict(await sponsored(1n, 0n)).valid, true);
  });

  test('refuses an unsigned sponsor slot and a standard transaction', async () => {
    const unsigned = await makeSTXTokenTransfer({
      recipient: PAY_TO,
      amount: 42n,
      senderKey: PAYER_KEY,
      network: 'testnet',
      fee: 0n,
      nonce: 0n,
      sponsored: true,
    });
    assert.equal(verdict(unsigned.serialize()).valid, false);
    const raw = hexToBytes(unsigned.serialize());
    assert.equal(verifyOriginSignature(raw, deserializeTransaction(raw)).valid, true);
    const standard = await makeSTXTokenTransfer({
      recipient: PAY_TO,
      amount: 42n,
      senderKey: PAYER_KEY,
      network: 'testnet',
      fee: 200n,
      nonce: 0n,
    });
    assert.equal(verdict(standard.serialize()).valid, false);
  });

  test('refuses a tampered sponsor fee, sponsor signature or origin field', async () => {
    const hex = await sponsored();
    const tx = deserializeTransaction(hex);
    const sponsorCondition = (tx.auth as { sponsorSpendingCondition?: { fee: bigint } })
      .sponsorSpendingCondition!;
    assert.equal(sponsorCondition.fee, 500n);
    // Sponsor condition starts right after the 103-byte origin condition at offset 6.
    const sponsorFeeOffset = 6 + 103 + 1 + 20 + 8;
    assert.equal(verdict(flipByte(hex, sponsorFeeOffset + 7)).valid, false, 'sponsor fee');
    assert.equal(
      verdict(flipByte(hex, 6 + 103 + 1 + 20 + 8 + 8 + 1 + 10)).valid,
      false,
      'sponsor sig',
    );
    assert.equal(verdict(flipByte(hex, FEE_OFFSET + 7)).valid, false, 'origin fee');
    assert.equal(
      verdict(bytesToHex(hexToBytes(hex))).valid,
      true,
      'the untouched copy still verifies',
    );
  });
});
