/**
 * The x402 MCP transport (coinbase/x402 `specs/transports-v2/mcp.md`) checked field by field from the spec's text,
 * not from this library's schemas: the payment-required tool result, the payment in the request's `_meta`, the
 * settlement in the result's `_meta`, and the settlement failure. Each assertion quotes the sentence or table row it
 * checks. Run against the devnet and the facilitator, through the real SDK client over streamable HTTP.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { createPayer, readPaymentChallenge } from 'x402-stacks/client';
import { decodePaymentSignatureHeader } from 'x402-stacks/protocol';
import { type McpStack, startMcpStack } from './mcp-stack.js';

let stack: McpStack;
before(async () => {
  stack = await startMcpStack();
});
after(() => stack.stop());

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** "PaymentRequired": x402Version, error, resource { url, description, mimeType }, accepts [ ... ]. */
function assertPaymentRequired(value: unknown): asserts value is Record<string, unknown> {
  assert.ok(isObject(value), 'PaymentRequired is an object');
  assert.equal(value.x402Version, 2, '"x402Version": 2');
  assert.equal(typeof value.error, 'string', '"error": a string');
  assert.ok(isObject(value.resource), '"resource": an object');
  assert.equal(typeof value.resource.url, 'string', '"resource.url": a string');
  assert.equal(typeof value.resource.description, 'string', '"resource.description"');
  assert.equal(typeof value.resource.mimeType, 'string', '"resource.mimeType"');
  assert.ok(
    Array.isArray(value.accepts) && value.accepts.length > 0,
    '"accepts": a non-empty array',
  );
  for (const entry of value.accepts as unknown[]) {
    assert.ok(isObject(entry));
    for (const field of ['scheme', 'network', 'amount', 'asset', 'payTo']) {
      assert.equal(typeof entry[field], 'string', `accepts[].${field}: a string`);
    }
    assert.match(entry.amount as string, /^\d+$/, 'accepts[].amount: atomic units as a string');
    assert.equal(typeof entry.maxTimeoutSeconds, 'number', 'accepts[].maxTimeoutSeconds');
    if (entry.extra !== undefined) assert.ok(isObject(entry.extra), 'accepts[].extra: an object');
  }
}

/** "`content[0].text` (REQUIRED): JSON-encoded with `x402/error` wrapper" — code (number, 402), message, data. */
function assertErrorWrapper(result: CallToolResult): Record<string, unknown> {
  const first = result.content[0];
  assert.ok(first && first.type === 'text', 'content[0] is text');
  const parsed = JSON.parse(first.text) as Record<string, unknown>;
  const wrapper = parsed['x402/error'];
  assert.ok(isObject(wrapper), 'the x402/error wrapper');
  assert.equal(wrapper.code, 402, '"code": MUST be 402 for payment-required errors');
  assert.equal(typeof wrapper.message, 'string', '"message": a human-readable string');
  assertPaymentRequired(wrapper.data);
  return wrapper.data;
}

async function paymentFor(result: CallToolResult) {
  const challenge = readPaymentChallenge({ header: undefined, body: result.structuredContent });
  const buyer = stack.buyer();
  const prepared = await createPayer(buyer, { apiUrl: stack.devnet.url }).preparePayment(
    challenge,
    { url: 'mcp://tool/stx_echo' },
  );
  return decodePaymentSignatureHeader(prepared.header.value) as unknown as Record<string, unknown>;
}

test('payment required: "a tool result with isError: true containing the PaymentRequired data"', async () => {
  const client = await stack.connect('http');
  const result = (await client.callTool({
    name: 'stx_echo',
    arguments: { text: 'x' },
  })) as CallToolResult;
  assert.equal(result.isError, true, '"isError": true');
  // "structuredContent (OPTIONAL): Direct PaymentRequired object"
  assertPaymentRequired(result.structuredContent);
  assert.equal(
    (result.structuredContent as { resource: { url: string } }).resource.url,
    'mcp://tool/stx_echo',
    'the spec names a tool resource "mcp://tool/<name>"',
  );
  const data = assertErrorWrapper(result);
  assert.deepEqual(data, result.structuredContent, 'the same PaymentRequired in both places');
});

test('payment and settlement: `_meta["x402/payment"]` in, `_meta["x402/payment-response"]` out', async () => {
  const client = await stack.connect('http');
  const unpaid = (await client.callTool({
    name: 'stx_echo',
    arguments: { text: 'x' },
  })) as CallToolResult;
  const payment = await paymentFor(unpaid);
  // "PaymentPayload": x402Version, resource, accepted, payload.
  assert.equal(payment.x402Version, 2);
  assert.ok(isObject(payment.resource) && typeof payment.resource.url === 'string');
  assert.ok(isObject(payment.accepted) && typeof payment.accepted.amount === 'string');
  assert.ok(isObject(payment.payload));

  const paid = (await client.callTool({
    name: 'stx_echo',
    arguments: { text: 'x' },
    _meta: { 'x402/payment': payment },
  })) as CallToolResult;
  assert.notEqual(paid.isError, true);
  assert.ok(paid.content.length > 0, 'the tool result itself');
  const settlement = paid._meta?.['x402/payment-response'];
  assert.ok(isObject(settlement), '"_meta["x402/payment-response"] field in response result"');
  assert.equal(settlement.success, true, '"success": true');
  assert.equal(typeof settlement.transaction, 'string', '"transaction": a string');
  assert.ok((settlement.transaction as string).length > 0);
  assert.equal(settlement.network, 'stacks:2147483648', '"network": CAIP-2');
  assert.equal(typeof settlement.payer, 'string', '"payer": a string');

  // Settlement failure: the same payment again, without the buyer's payment-identifier id (which would make it the
  // buyer's own retry, answered again), is refused at settlement.
  // "servers MUST return a tool result with isError: true containing the failure details"
  const { 'payment-identifier': _id, ...extensions } = isObject(payment.extensions)
    ? payment.extensions
    : {};
  const again = (await client.callTool({
    name: 'stx_echo',
    arguments: { text: 'x' },
    _meta: { 'x402/payment': { ...payment, extensions } },
  })) as CallToolResult;
  assert.equal(again.isError, true);
  assertPaymentRequired(again.structuredContent);
  const failure = (again.structuredContent as Record<string, unknown>)['x402/payment-response'];
  assert.ok(isObject(failure), 'structuredContent["x402/payment-response"]');
  assert.equal(failure.success, false, '"success": false');
  assert.equal(typeof failure.errorReason, 'string', '"errorReason": a string');
  assert.equal(typeof failure.transaction, 'string', '"transaction": a string (may be empty)');
  assert.equal(failure.network, 'stacks:2147483648', '"network"');
  assertErrorWrapper(again);
});
