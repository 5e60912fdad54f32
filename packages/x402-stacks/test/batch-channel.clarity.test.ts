/**
 * The batch-escrow's hashes computed off chain by `x402-stacks/batch` against the real contract in the Clarinet simnet
 * (a GPL devDependency, tests only): the same channel id, the same voucher, claim-batch and refund hashes, and a voucher
 * we sign passes the contract's own `check-voucher`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { getSDK, type Simnet } from '@stacks/clarinet-sdk';
import { Cl, type ClarityValue, cvToHex } from '@stacks/transactions';
import {
  channelConfigCV,
  channelIdOf,
  claimBatchHash,
  isVoucherSignedBy,
  refundHash,
  signVoucher,
  voucherHash,
  voucherSigner,
} from '../src/batch/channel.js';
import type { ChannelConfig } from '../src/batch/wire.js';
import { toHex } from '../src/stacks/bytes.js';
import { privateKeyToAccount, STACKS_NETWORKS } from '../src/stacks/index.js';

const NETWORK = STACKS_NETWORKS.testnet;
const DEPLOYER = 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM';
const ESCROW = `${DEPLOYER}.batch-escrow`;
const PAYER_KEY = '7287ba251d44a4d3fd9276c88ce34c5c52a038955511cccaf77e61068649c17801';
const payer = privateKeyToAccount(PAYER_KEY, 'testnet').address;
const CONFIG: ChannelConfig = {
  payer,
  payerAuthorizer: payer,
  receiver: 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG',
  receiverAuthorizer: 'ST2JHG361ZXG51QTKY2NQCVBPPRRE2KZB1HR05NNC',
  token: null,
  withdrawDelay: 144,
  salt: `0x${'ab'.repeat(32)}`,
};
let simnet: Simnet;

before(async () => {
  simnet = await getSDK();
  await simnet.initEmptySession(null);
  simnet.setEpoch('3.3');
  const source = readFileSync(
    fileURLToPath(new URL('../../devnet/contracts/batch-escrow.clar', import.meta.url)),
    'utf8',
  );
  simnet.deployContract('batch-escrow', source, { clarityVersion: 3 }, DEPLOYER);
});

function readOnly(fn: string, args: ClarityValue[]): string {
  return cvToHex(simnet.callReadOnlyFn(ESCROW, fn, args, DEPLOYER).result);
}

test('the channel id is what get-channel-id answers, for STX and for a token', () => {
  for (const config of [
    CONFIG,
    { ...CONFIG, token: `${DEPLOYER}.sbtc-token`, salt: `0x${'00'.repeat(32)}` },
  ]) {
    const id = channelIdOf(config);
    assert.equal(
      readOnly('get-channel-id', [channelConfigCV(config)]),
      cvToHex(Cl.bufferFromHex(id.slice(2))),
    );
  }
});

test('voucher, claim-batch and refund hashes are the contract’s', () => {
  const id = channelIdOf(CONFIG);
  const idCV = Cl.bufferFromHex(id.slice(2));
  for (const max of [0n, 12_345n, 2n ** 100n, 2n ** 128n - 1n]) {
    assert.equal(
      readOnly('voucher-hash', [idCV, Cl.uint(max)]),
      cvToHex(Cl.buffer(voucherHash(NETWORK, ESCROW, id, max))),
      `voucher-hash of ${max}`,
    );
  }
  // Another escrow's template: the bytes are written per escrow, never shared.
  const other = `${DEPLOYER}.x`;
  assert.notEqual(
    toHex(voucherHash(NETWORK, other, id, 5n)),
    toHex(voucherHash(NETWORK, ESCROW, id, 5n)),
  );
  const rows = [
    { channelId: id, claimed: 7n },
    { channelId: `0x${'11'.repeat(32)}`, claimed: 2n ** 100n },
  ];
  assert.equal(
    readOnly('claim-batch-hash', [
      Cl.list(
        rows.map((r) =>
          Cl.tuple({
            'channel-id': Cl.bufferFromHex(r.channelId.slice(2)),
            claimed: Cl.uint(r.claimed),
          }),
        ),
      ),
    ]),
    cvToHex(Cl.buffer(claimBatchHash(NETWORK, ESCROW, rows))),
  );
  assert.equal(
    readOnly('refund-hash', [idCV, Cl.uint(500n), Cl.uint(3n)]),
    cvToHex(Cl.buffer(refundHash(NETWORK, ESCROW, id, 500n, 3n))),
  );
});

test('a voucher we sign recovers to the payer, off chain and in the contract; another escrow’s does not', () => {
  const id = channelIdOf(CONFIG);
  const signature = signVoucher(PAYER_KEY, NETWORK, ESCROW, id, 900n);
  const voucher = { channelId: id, maxClaimableAmount: '900', signature };
  assert.equal(voucherSigner(NETWORK, ESCROW, voucher), payer);
  assert.equal(isVoucherSignedBy(NETWORK, ESCROW, voucher, payer), true);
  assert.equal(isVoucherSignedBy(NETWORK, ESCROW, voucher, CONFIG.receiver), false);
  assert.equal(
    isVoucherSignedBy(NETWORK, ESCROW, { ...voucher, maxClaimableAmount: '901' }, payer),
    false,
  );
  assert.equal(isVoucherSignedBy(STACKS_NETWORKS.mainnet, ESCROW, voucher, payer), false);
  // Once the payer's key is known, a voucher signed by any other key is still refused, and the payer's key vouches for
  // no other address.
  const otherKey = 'b8d99fd45da58038d630d9855d3ca2466e8e0f89d3894c4724f0efc9ff4b51f001';
  const forged = {
    ...voucher,
    signature: signVoucher(otherKey, NETWORK, ESCROW, id, 900n),
  };
  assert.equal(isVoucherSignedBy(NETWORK, ESCROW, forged, payer), false);
  assert.equal(isVoucherSignedBy(NETWORK, ESCROW, voucher, payer), true);
  assert.equal(
    isVoucherSignedBy(NETWORK, ESCROW, forged, privateKeyToAccount(otherKey, 'testnet').address),
    true,
  );
  assert.equal(isVoucherSignedBy(NETWORK, ESCROW, voucher, CONFIG.receiverAuthorizer), false);
  assert.equal(
    isVoucherSignedBy(NETWORK, ESCROW, { ...voucher, signature: `0x${'ff'.repeat(65)}` }, payer),
    false,
  );
  assert.notEqual(voucherSigner(NETWORK, `${DEPLOYER}.other-escrow`, voucher), payer);
  assert.notEqual(voucherSigner(NETWORK, ESCROW, { ...voucher, maxClaimableAmount: '901' }), payer);
  assert.notEqual(voucherSigner(STACKS_NETWORKS.mainnet, ESCROW, voucher), payer);
  // Recovered by Clarity itself over the contract's own hash.
  const recovered = simnet.runSnippet(
    `(principal-of? (unwrap-panic (secp256k1-recover? (contract-call? '${ESCROW} voucher-hash 0x${id.slice(2)} u900) ${signature})))`,
  );
  assert.equal(recovered, cvToHex(Cl.ok(Cl.principal(payer))));
  assert.equal(toHex(voucherHash(NETWORK, ESCROW, id, 900n)).length, 64);
});
