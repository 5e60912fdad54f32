/**
 * Reading a tool result for payment, in the order the MCP transport spec gives clients: `structuredContent` itself,
 * then `structuredContent["x402/error"].data`, then `content[0].text` (the wrapper or the object); and the results that
 * say nothing about payment.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MCP_META, readPaymentSignal } from './meta.js';

const required = {
  x402Version: 2,
  error: 'payment_required',
  resource: { url: 'mcp://tool/t' },
  accepts: [{ scheme: 'exact', network: 'stacks:1', amount: '1', asset: 'STX', payTo: 'SP1' }],
};
const text = (value: unknown) => [{ type: 'text' as const, text: JSON.stringify(value) }];

test('structuredContent as the PaymentRequired comes first', () => {
  const signal = readPaymentSignal({
    isError: true,
    structuredContent: required,
    content: text({
      [MCP_META.error]: { code: 402, message: 'x', data: { ...required, error: 'other' } },
    }),
  });
  assert.equal(signal?.status, 402);
  assert.equal(signal?.paymentRequired?.error, 'payment_required');
});

test('then structuredContent["x402/error"].data', () => {
  const signal = readPaymentSignal({
    isError: true,
    structuredContent: { [MCP_META.error]: { code: 402, message: 'x', data: required } },
    content: [],
  });
  assert.deepEqual(signal?.paymentRequired, required);
});

test('then content[0].text: the x402/error wrapper, or the PaymentRequired itself', () => {
  const wrapped = readPaymentSignal({
    isError: true,
    content: text({ [MCP_META.error]: { code: 402, message: 'x', data: required } }),
  });
  assert.deepEqual(wrapped?.paymentRequired, required);
  const bare = readPaymentSignal({ isError: true, content: text(required) });
  assert.deepEqual(bare?.paymentRequired, required);
});

test('a settlement failure beside the challenge is read as the settlement', () => {
  const failure = {
    success: false,
    errorReason: 'settlement_pending',
    transaction: 'ab',
    network: 'stacks:1',
  };
  const signal = readPaymentSignal({
    isError: true,
    structuredContent: { ...required, [MCP_META.paymentResponse]: failure },
    content: [],
  });
  assert.deepEqual(signal?.settlement, failure);
});

test('a served result carries its settlement in _meta; other results say nothing about payment', () => {
  const settlement = { success: true, transaction: 'ab', network: 'stacks:1' };
  const served = readPaymentSignal({
    content: [],
    _meta: { [MCP_META.paymentResponse]: settlement },
  });
  assert.equal(served?.status, 200);
  assert.deepEqual(served?.settlement, settlement);
  assert.equal(readPaymentSignal({ content: text({ ok: true }) }), undefined);
  assert.equal(
    readPaymentSignal({ isError: true, content: [{ type: 'text', text: 'the tool failed' }] }),
    undefined,
  );
  // A non-402 payment error keeps its code and body.
  const down = readPaymentSignal({
    isError: true,
    content: text({
      [MCP_META.error]: { code: 502, message: 'x', data: { error: 'facilitator_unreachable' } },
    }),
  });
  assert.equal(down?.status, 502);
  assert.deepEqual(down?.body, { error: 'facilitator_unreachable' });
});
