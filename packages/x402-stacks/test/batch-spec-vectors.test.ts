/**
 * The batch-settlement spec (`docs/batch-settlement-stacks.md`) against the library: every JSON example in it parses,
 * its offers, payloads and answers fit the wire schemas, every signature in it recovers to the payer it names, and the
 * test vectors are what `x402-stacks/batch` computes. A spec proposed upstream must not drift from the code.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { serializeCV } from '@stacks/transactions';
import {
  BatchExtraSchema,
  BatchSettleExtraSchema,
  ChannelConfigSchema,
  channelConfigCV,
  channelIdOf,
  claimBatchHash,
  DepositPayloadSchema,
  refundHash,
  signVoucher,
  VoucherSchema,
  voucherHash,
  voucherSigner,
} from '../src/batch/index.js';
import { REASON_CODES } from '../src/protocol/reasons.js';
import { toHex } from '../src/stacks/bytes.js';
import { mnemonicToAccounts, STACKS_NETWORKS } from '../src/stacks/index.js';

const NETWORK = STACKS_NETWORKS.testnet;
// Clarinet's published devnet mnemonic (public on purpose): the spec names its accounts 1 to 3.
const DEVNET_MNEMONIC =
  'twice kind fence tip hidden tilt action fragile skin nothing glory cousin green tomorrow spring wrist shed math olympic multiply hip blue scout claw';
const [, payer, receiver, receiverAuthorizer] = mnemonicToAccounts(DEVNET_MNEMONIC, 'testnet', {
  count: 4,
});
// biome-ignore lint/suspicious/noExplicitAny: the spec's JSON examples, read by shape and checked by the wire schemas
type JsonBlock = Record<string, any>;
const SPEC = readFileSync(
  fileURLToPath(new URL('../../../docs/batch-settlement-stacks.md', import.meta.url)),
  'utf8',
);
// Every fenced JSON block, parsed: a block that is not JSON fails here, by its position.
const blocks = [...SPEC.matchAll(/```json\n([\s\S]*?)\n```/g)].map((match, index) => {
  try {
    return JSON.parse(match[1]!) as JsonBlock;
  } catch (error) {
    throw new Error(`JSON block ${index + 1} of the spec does not parse: ${String(error)}`);
  }
});
const vectors = blocks.find((block) => 'configSerialized' in block)!;
const escrow = (
  blocks.find((block) => block.scheme === 'batch-settlement')!.extra as { escrow: string }
).escrow;

function payloadOf(type: string): JsonBlock {
  const found = blocks.find((block) => block.payload?.type === type);
  assert.ok(found, `the spec shows a ${type} payload`);
  return found.payload;
}

function assertSignedByPayer(voucher: unknown): void {
  const parsed = VoucherSchema.parse(voucher);
  assert.equal(voucherSigner(NETWORK, escrow, parsed), payer!.address);
}

test('the spec has its JSON examples and they all parse', () => {
  assert.ok(blocks.length >= 9, `found ${blocks.length} JSON blocks`);
});

test('the test vectors are what the library computes', () => {
  const config = ChannelConfigSchema.parse(vectors.channelConfig);
  assert.deepEqual(
    [config.payer, config.payerAuthorizer, config.receiver, config.receiverAuthorizer],
    [payer!.address, payer!.address, receiver!.address, receiverAuthorizer!.address],
  );
  assert.equal(serializeCV(channelConfigCV(config)), vectors.configSerialized.slice(2));
  assert.equal(channelIdOf(config), vectors.channelId);

  const ceiling = BigInt(vectors.voucher.maxClaimableAmount);
  assert.equal(
    `0x${toHex(voucherHash(NETWORK, escrow, vectors.channelId, ceiling))}`,
    vectors.voucher.digest,
  );
  assert.equal(
    signVoucher(payer!.privateKey, NETWORK, escrow, vectors.channelId, ceiling),
    vectors.voucher.signature,
  );

  const rows = vectors.claimBatch.rows.map((row: { channelId: string; claimed: string }) => ({
    channelId: row.channelId,
    claimed: BigInt(row.claimed),
  }));
  assert.equal(`0x${toHex(claimBatchHash(NETWORK, escrow, rows))}`, vectors.claimBatch.digest);
  assert.equal(
    `0x${toHex(refundHash(NETWORK, escrow, vectors.channelId, BigInt(vectors.refund.amount), BigInt(vectors.refund.nonce)))}`,
    vectors.refund.digest,
  );
});

test('the offer, /supported and corrective 402 examples fit the batch extra', () => {
  const offer = blocks.find((block) => block.scheme === 'batch-settlement')!;
  const parsedOffer = BatchExtraSchema.parse(offer.extra);
  assert.equal(parsedOffer.withdrawDelay, vectors.channelConfig.withdrawDelay);
  assert.equal(parsedOffer.receiverAuthorizer, receiverAuthorizer!.address);
  assert.equal(offer.payTo, receiver!.address);

  const supported = blocks.find((block) => Array.isArray(block.kinds))!;
  const kind = supported.kinds.find((k: { scheme: string }) => k.scheme === 'batch-settlement');
  assert.equal(kind.extra.escrow, escrow);
  assert.equal(kind.extra.receiverAuthorizer, receiverAuthorizer!.address);

  const corrective = blocks.find(
    (block) => block.error === 'invalid_batch_settlement_stacks_cumulative_amount_mismatch',
  )!;
  const extra = BatchExtraSchema.parse(corrective.accepts[0].extra);
  assert.ok(extra.channelState && extra.voucherState);
  assert.equal(
    voucherSigner(NETWORK, escrow, {
      channelId: extra.channelState.channelId,
      maxClaimableAmount: extra.voucherState.signedMaxClaimable,
      signature: extra.voucherState.signature,
    }),
    payer!.address,
  );
  assert.ok(
    BigInt(extra.channelState.chargedCumulativeAmount!) <=
      BigInt(extra.voucherState.signedMaxClaimable),
  );
});

test('the payload examples are signed by the payer of the vector channel', () => {
  const deposit = DepositPayloadSchema.parse(payloadOf('deposit'));
  assert.equal(channelIdOf(deposit.channelConfig), deposit.voucher.channelId);
  assert.ok(BigInt(deposit.voucher.maxClaimableAmount) <= BigInt(deposit.deposit.amount));
  assertSignedByPayer(deposit.voucher);
  assertSignedByPayer(payloadOf('voucher').voucher);
  assertSignedByPayer(payloadOf('refund').voucher);
});

test('the payment-response and /verify examples carry a channel snapshot the schemas accept', () => {
  const response = blocks.find((block) => block.success === true)!;
  assert.equal(response.transaction, '');
  assert.equal('amount' in response, false, 'a voucher-only response has no amount');
  const extra = BatchSettleExtraSchema.parse(response.extra);
  assert.equal(extra.channelState.channelId, vectors.channelId);

  const verified = blocks.find((block) => block.isValid === true)!;
  assert.equal(verified.payer, payer!.address);
  BatchSettleExtraSchema.parse(verified.extra);
});

test('the error table lists exactly the invalid_batch_settlement_stacks_* reason codes', () => {
  const inSpec = new Set(
    [...SPEC.matchAll(/^\| `(invalid_batch_settlement_stacks_[a-z_]+)`/gm)].map(
      (match) => match[1],
    ),
  );
  const inCode = new Set(
    Object.keys(REASON_CODES).filter((code) => code.startsWith('invalid_batch_settlement_stacks_')),
  );
  assert.deepEqual([...inSpec].sort(), [...inCode].sort());
});
