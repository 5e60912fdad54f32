import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hexToBytes } from '@stacks/common';
import {
  AddressHashMode,
  AuthType,
  deserializeTransaction,
  type MultiSigHashMode,
  serializeSpendingConditionBytes,
  sponsorTransaction,
} from '@stacks/transactions';
import {
  asWitness,
  flipByte,
  MULTISIG_MODES,
  multisigPayer,
  multisigPayment,
  PAYER_KEY,
  Rng,
  SPONSOR,
  VECTORS,
} from '@x402-stacks/test-kit/fixtures';
import { privateKeyToAccount } from '../accounts.js';
import { transactionIdOf, verifySponsorSignature } from '../signature.js';
import { checkPaymentTransaction } from './check.js';
import { createPaymentTransaction } from './create.js';
import { signAsSponsor } from './sponsor.js';

const rng = new Rng(0x5905);
const SPONSOR_KEY = rng.privateKey(true);
const MEMBER_KEYS = [rng.privateKey(true), rng.privateKey(true), rng.privateKey(true)];
const requirements = (asset: string) => ({
  ...VECTORS.stx.requirements,
  asset,
  maxTimeoutSeconds: 300,
  extra: { sponsor: SPONSOR },
});

/** A sponsored payment from each kind of origin the offline check accepts. */
async function sponsoredPayments(asset: string): Promise<[string, string][]> {
  const single = await createPaymentTransaction({
    account: privateKeyToAccount(PAYER_KEY, 'testnet'),
    requirements: requirements(asset),
    nonce: 3n,
  });
  const payments: [string, string][] = [['p2pkh', single.transaction]];
  if (asset === 'STX') payments.push(['p2wpkh', asWitness(single.transaction, PAYER_KEY)]);
  const multisig = async (
    name: string,
    keys: string[],
    required: number,
    mode: MultiSigHashMode,
  ) => {
    const payer = multisigPayer(keys, required, mode);
    const paid = await multisigPayment(payer, { requirements: requirements(asset), nonce: 3n });
    payments.push([name, paid.transaction]);
  };
  await multisig('1-of-1 p2sh', MEMBER_KEYS.slice(0, 1), 1, AddressHashMode.P2SH);
  for (const [name, mode] of Object.entries(MULTISIG_MODES)) {
    await multisig(`2-of-3 ${name}`, MEMBER_KEYS, 2, mode);
  }
  return payments;
}

async function sponsoredPayment(asset: string, origin: string): Promise<string> {
  const found = (await sponsoredPayments(asset)).find(([name]) => name === origin);
  assert.ok(found, origin);
  return found[1];
}

/** The sponsor slot, in hex characters: after the header and the origin condition, which are the payer's to keep. */
function sponsorSlotOf(hex: string): { start: number; end: number } {
  const origin = serializeSpendingConditionBytes(
    deserializeTransaction(hex).auth.spendingCondition,
  );
  const start = 2 * (6 + origin.length);
  return { start, end: start + 2 * 103 };
}

describe('signAsSponsor', () => {
  for (const asset of ['STX', 'sBTC']) {
    test(`signs for every origin the check accepts (${asset}); the origin bytes are untouched`, async () => {
      for (const [name, payment] of await sponsoredPayments(asset)) {
        const check = checkPaymentTransaction(payment, requirements(asset));
        assert.equal(check.isValid, true, `${name}: ${check.isValid ? '' : check.invalidReason}`);
        const signed = signAsSponsor({
          transaction: payment,
          privateKey: SPONSOR_KEY,
          fee: 600n,
          nonce: 9n,
          network: 'testnet',
        });
        const raw = hexToBytes(signed.transaction);
        const tx = deserializeTransaction(raw);
        assert.equal(verifySponsorSignature(raw, tx).valid, true, name);
        assert.equal(signed.txid, transactionIdOf(raw), name);
        assert.equal(signed.transaction.length, payment.length, `${name}: same length`);
        const slot = sponsorSlotOf(payment);
        assert.equal(signed.transaction.slice(0, slot.start), payment.slice(0, slot.start), name);
        assert.equal(signed.transaction.slice(slot.end), payment.slice(slot.end), name);
        const sponsor =
          tx.auth.authType === AuthType.Sponsored ? tx.auth.sponsorSpendingCondition : undefined;
        assert.equal(sponsor?.fee, 600n, name);
        assert.equal(sponsor?.nonce, 9n, name);
      }
    });
  }

  test('makes the same bytes as @stacks/transactions where that can sign at all', async () => {
    const payment = await sponsoredPayment('STX', 'p2pkh');
    const theirs = await sponsorTransaction({
      transaction: deserializeTransaction(payment),
      sponsorPrivateKey: SPONSOR_KEY,
      fee: 600n,
      sponsorNonce: 9n,
      network: 'testnet',
    });
    const ours = signAsSponsor({
      transaction: `0x${payment}`,
      privateKey: SPONSOR_KEY,
      fee: 600n,
      nonce: 9n,
      network: 'stacks:2147483648',
    });
    assert.equal(ours.transaction, theirs.serialize());
    assert.equal(ours.txid, theirs.txid());
  });

  test('signs with an uncompressed sponsor key', async () => {
    const multisig = await sponsoredPayment('STX', '2-of-3 p2wsh-order-independent');
    const signed = signAsSponsor({
      transaction: multisig,
      privateKey: rng.privateKey(false),
      fee: 1n,
      nonce: 0n,
      network: 'testnet',
    });
    const raw = hexToBytes(signed.transaction);
    assert.equal(verifySponsorSignature(raw, deserializeTransaction(raw)).valid, true);
  });

  test('refuses what no sponsor signature can make valid', async () => {
    const sponsored = await sponsoredPayment('STX', '2-of-3 p2sh');
    const standard = await createPaymentTransaction({
      account: privateKeyToAccount(PAYER_KEY, 'testnet'),
      requirements: { ...requirements('STX'), extra: {} },
      nonce: 0n,
      fee: 300n,
    });
    const sign =
      (transaction: string, network = 'testnet') =>
      () =>
        signAsSponsor({ transaction, privateKey: SPONSOR_KEY, fee: 1n, nonce: 0n, network });
    assert.throws(sign(standard.transaction), /not sponsored/);
    assert.throws(sign(sponsored, 'mainnet'), /not for stacks:1/);
    // A byte of the payload changed after the members signed.
    assert.throws(sign(flipByte(sponsored, sponsored.length / 2 - 3)), /origin signature/);
  });
});
