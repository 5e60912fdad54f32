import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cl, makeUnsignedContractCall } from '@stacks/transactions';
import { PAY_TO, PAYER_KEY } from '@x402-stacks/test-kit/fixtures';
import { c32addressDecode } from 'c32check';
import { generateKeypair, privateKeyToAccount } from './accounts.js';
import { KNOWN_TOKENS } from './assets.js';
import { SignerError } from './errors.js';
import { STACKS_NETWORKS } from './networks.js';
import { checkPaymentTransaction } from './payment/check.js';
import { createPaymentTransaction } from './payment/create.js';
import { readUnsignedPayment } from './payment/unsigned.js';
import { isSigner, privateKeySigner, type Signer, toSigner } from './signer.js';

const account = privateKeyToAccount(PAYER_KEY, 'testnet');
const stx = {
  scheme: 'exact',
  network: STACKS_NETWORKS.testnet.caip2,
  amount: '1000',
  asset: 'STX',
  payTo: PAY_TO,
  maxTimeoutSeconds: 60,
};
const sbtc = { ...stx, amount: '250', asset: 'sBTC' };
const SBTC_TESTNET = KNOWN_TOKENS.sBTC.contracts.testnet;
const build = (signer: Signer | typeof account, requirements = stx) =>
  createPaymentTransaction({ account: signer, requirements, nonce: 3n, fee: 500n });

/** The unsigned bytes a signer is asked to sign for these terms. */
async function unsignedOf(requirements: typeof stx, memo?: string): Promise<string> {
  let unsigned = '';
  const capture: Signer = {
    ...privateKeySigner(PAYER_KEY, 'testnet'),
    async signTransaction(request) {
      unsigned = request.transaction;
      throw new Error('stop');
    },
  };
  await createPaymentTransaction({
    account: capture,
    requirements,
    nonce: 3n,
    fee: 500n,
    ...(memo === undefined ? {} : { memo }),
  }).catch(() => {});
  return unsigned;
}

describe('Signer', () => {
  test('a private key signer makes the very bytes the account makes', async () => {
    const signer = privateKeySigner(PAYER_KEY, 'testnet');
    assert.ok(isSigner(signer));
    assert.equal(toSigner(account)?.address, account.address);
    for (const requirements of [stx, sbtc]) {
      const [byAccount, bySigner] = await Promise.all([
        build(account, requirements),
        build(signer, requirements),
      ]);
      assert.equal(bySigner.transaction, byAccount.transaction);
      assert.equal(checkPaymentTransaction(bySigner.transaction, requirements).isValid, true);
    }
  });

  test('a remote signer is asked with the unsigned bytes and their sighash, and its signature is used', async () => {
    const inner = privateKeySigner(PAYER_KEY, 'testnet');
    const asked: string[] = [];
    const remote: Signer = {
      ...inner,
      async signTransaction(request) {
        const read = readUnsignedPayment(request.transaction, 'testnet');
        assert.ok(read.ok);
        asked.push(`${read.payTo} ${read.amount} ${read.asset}`);
        return inner.signTransaction(request);
      },
    };
    const payment = await build(remote, sbtc);
    assert.deepEqual(asked, [
      `${PAY_TO} 250 SN3VMHXEN64ZZF71JQ5VESXDWTR301XTTXGF4J8F1.sbtc-token::sbtc-token`,
    ]);
    assert.equal(checkPaymentTransaction(payment.transaction, sbtc).isValid, true);
  });

  test('a signature by another key, or not a signature, is refused with signer_signature_invalid', async () => {
    const other = privateKeySigner(generateKeypair('testnet').privateKey, 'testnet');
    const lying: Signer = {
      ...privateKeySigner(PAYER_KEY, 'testnet'),
      signTransaction: (request) => other.signTransaction({ ...request, address: other.address }),
    };
    const garbage: Signer = { ...lying, signTransaction: async () => 'zz' };
    for (const signer of [lying, garbage]) {
      await assert.rejects(
        build(signer),
        (error: unknown) =>
          error instanceof SignerError && error.reason === 'signer_signature_invalid',
      );
    }
  });

  test('a private key signer signs for its own address only (origin_mismatch)', async () => {
    const signer = privateKeySigner(PAYER_KEY, 'testnet');
    await assert.rejects(
      signer.signTransaction({ sighash: '00'.repeat(32), address: PAY_TO, transaction: '00' }),
      (error: unknown) => error instanceof SignerError && error.signerReason === 'origin_mismatch',
    );
  });

  test('readUnsignedPayment reads payTo, amount and asset from the bytes, and names what it cannot read', async () => {
    const unsigned = await unsignedOf(stx);
    const read = readUnsignedPayment(unsigned, 'testnet');
    assert.ok(read.ok);
    assert.deepEqual(
      [read.payer, read.payTo, read.amount, read.asset, read.nonce, read.fee],
      [account.address, PAY_TO, 1000n, 'STX', 3n, 500n],
    );
    assert.equal(
      readUnsignedPayment(unsigned, 'mainnet').ok === false && 'network_mismatch',
      'network_mismatch',
    );
    const bad = readUnsignedPayment('zz', 'testnet');
    assert.equal(bad.ok === false && bad.reason, 'malformed_transaction');
    // Bytes the reading does not cover: a signer must not decide on part of what it is handed.
    for (const cut of [`${unsigned}00`, `${unsigned}${unsigned}`, unsigned.slice(0, -2)]) {
      const uncovered = readUnsignedPayment(cut, 'testnet');
      assert.equal(uncovered.ok === false && uncovered.reason, 'malformed_transaction');
    }
    // A contract call that is not a token transfer: whatever it does, a payment signer has no business signing it.
    const call = await makeUnsignedContractCall({
      publicKey: account.publicKey,
      contractAddress: 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5',
      contractName: 'vault',
      functionName: 'withdraw-all',
      functionArgs: [Cl.principal(PAY_TO)],
      network: 'testnet',
      nonce: 1n,
      fee: 500n,
      client: { fetch: async () => new Response('{}') },
    });
    const other = readUnsignedPayment(call.serialize(), 'testnet');
    assert.equal(other.ok === false && other.reason, 'not_a_payment');
  });

  test('readUnsignedPayment reads a token payment from its whole bytes, for the contract it calls', async () => {
    const unsigned = await unsignedOf(sbtc, 'order 42');
    const read = readUnsignedPayment(unsigned, 'testnet');
    assert.ok(read.ok);
    assert.equal(read.asset, `${SBTC_TESTNET}::sbtc-token`);
    const reasonOf = (hex: string) => {
      const refused = readUnsignedPayment(hex, 'testnet');
      return refused.ok ? 'read' : refused.reason;
    };
    // The memo is an optional buffer, the last field: cut inside its length prefix, or inside its bytes.
    const memoAt = unsigned.lastIndexOf(Buffer.from('order 42').toString('hex'));
    for (const cut of [unsigned.slice(0, memoAt - 4), unsigned.slice(0, -2), `${unsigned}00`]) {
      assert.equal(reasonOf(cut), 'malformed_transaction');
    }
    // The contract appears twice: in the post-condition's asset, then in the payload (version byte, hash160, name).
    const [version, hash160] = c32addressDecode(SBTC_TESTNET.split('.')[0]!);
    const contract = `${version.toString(16)}${hash160}0a${Buffer.from('sbtc-token').toString('hex')}`;
    const inCondition = unsigned.indexOf(contract);
    const inPayload = unsigned.lastIndexOf(contract);
    assert.ok(inCondition >= 0 && inPayload > inCondition);
    const withVersion = (at: number, version: string) =>
      `${unsigned.slice(0, at)}${version}${unsigned.slice(at + 2)}`;
    // A post-condition naming the token of another contract than the one called.
    assert.equal(reasonOf(withVersion(inCondition, '1a')), 'not_a_payment');
    // A called contract whose address version no address can carry: a refusal, not a throw.
    assert.equal(reasonOf(withVersion(inPayload, '20')), 'malformed_transaction');
  });
});
