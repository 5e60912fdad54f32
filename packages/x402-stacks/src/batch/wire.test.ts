/**
 * The batch wire's principals are read as Clarity reads them: text of the right shape that is not c32, or whose
 * checksum fails, is a malformed payload (a named refusal), never a principal that throws later in the channel id.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatchPayloadSchema, type ChannelConfig } from './wire.js';

const config: ChannelConfig = {
  payer: 'ST2ST2H80NP5C9SPR4ENJ1Z9CDM9PKAJVPYWPQZ50',
  payerAuthorizer: 'ST2ST2H80NP5C9SPR4ENJ1Z9CDM9PKAJVPYWPQZ50',
  receiver: 'ST2Y2SFNVZBT8SSZ00XXKH930MCN0RFREB2GQG7CJ',
  receiverAuthorizer: 'STPJ2HPED2TMR1HAFBFA5VQF986CRD4ZWHH36F6X',
  token: 'SN3VMHXEN64ZZF71JQ5VESXDWTR301XTTXGF4J8F1.sbtc-token',
  withdrawDelay: 144,
  salt: `0x${'ab'.repeat(32)}`,
};
const voucher = {
  channelId: `0x${'cd'.repeat(32)}`,
  maxClaimableAmount: '1000',
  signature: `0x${'01'.repeat(65)}`,
};
const payloadWith = (change: Partial<ChannelConfig>) => ({
  type: 'voucher',
  channelConfig: { ...config, ...change },
  voucher,
});

test('a voucher payload names principals whose c32 checksum holds', () => {
  assert.equal(BatchPayloadSchema.safeParse(payloadWith({})).success, true);
  const badChecksum = `${config.payer.slice(0, -1)}${config.payer.endsWith('0') ? '1' : '0'}`;
  for (const change of [
    { payer: badChecksum },
    { receiver: 'STIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIII' },
    { token: `${badChecksum}.token` },
  ]) {
    const parsed = BatchPayloadSchema.safeParse(payloadWith(change));
    assert.equal(parsed.success, false, JSON.stringify(change));
  }
});
