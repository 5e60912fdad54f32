/**
 * Paid MCP tools against the devnet and the facilitator service, through the real SDK on both sides, over streamable
 * HTTP and over stdio: the paying client pays STX, sBTC and sponsored tools; an unpaid call gets the payment-required
 * result; a payment copied without its id is refused while the buyer's own retry under its id is answered again,
 * paid once; a facilitator that is down is a named error; an over-budget call signs
 * nothing; a tool that throws under after-handler is not charged.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import {
  createPayer,
  PaymentPolicyError,
  readPaymentChallenge,
  SettlementPendingError,
} from 'x402-stacks/client';
import { PAYMENT_IDENTIFIER, readPaymentIdentifier } from 'x402-stacks/extensions';
import { getPaymentReceipt, MCP_META, wrapMcpClientWithPayment } from 'x402-stacks/mcp';
import { decodePaymentSignatureHeader } from 'x402-stacks/protocol';
import { type McpStack, startMcpStack, TRANSPORTS } from './mcp-stack.js';

let stack: McpStack;
before(async () => {
  stack = await startMcpStack();
});
after(() => stack.stop());

const call = (name: string, text = 'hello') => ({ name, arguments: { text } });
const textOf = (result: CallToolResult) =>
  JSON.parse((result.content[0] as { text: string }).text) as Record<string, unknown>;

/** The payment's bytes without the buyer's `payment-identifier` id: what a replayer who copied them can send. */
function withoutPaymentId<T extends { extensions?: Record<string, unknown> }>(payment: T): T {
  const { [PAYMENT_IDENTIFIER]: _id, ...extensions } = payment.extensions ?? {};
  return { ...payment, extensions };
}

for (const transport of TRANSPORTS) {
  describe(`over ${transport}`, () => {
    test('the listing shows each paid tool’s price; the free tool has none', async () => {
      const client = await stack.connect(transport);
      const { tools } = await client.listTools();
      const stx = tools.find((tool) => tool.name === 'stx_echo')!;
      assert.match(stx.description!, /Paid tool \(x402\): 0\.001 STX per call\./);
      const accepts = stx._meta?.[MCP_META.accepts] as { amount: string; payTo: string }[];
      assert.equal(accepts[0]!.amount, '1000');
      assert.equal(accepts[0]!.payTo, stack.payTo);
      const dynamic = tools.find((tool) => tool.name === 'dynamic_echo')!;
      assert.match(dynamic.description!, /priced per call/);
      const free = tools.find((tool) => tool.name === 'free_echo')!;
      assert.equal(free._meta?.[MCP_META.accepts], undefined);
    });

    test('an unpaid call gets the payment-required result and runs nothing', async () => {
      const client = await stack.connect(transport);
      const result = (await client.callTool(call('stx_echo'))) as CallToolResult;
      assert.equal(result.isError, true);
      const required = result.structuredContent as { error: string; accepts: { amount: string }[] };
      assert.equal(required.error, 'payment_required');
      assert.equal(required.accepts[0]!.amount, '1000');
      assert.doesNotMatch(JSON.stringify(result), /"echo"/);
    });

    test('STX: the paying client pays once, the tool runs, the settlement is in _meta', async () => {
      const client = await stack.connect(transport);
      const buyer = stack.buyer();
      const [buyerBefore, sellerBefore] = [stack.stx(buyer.address), stack.stx(stack.payTo)];
      const settled: string[] = [];
      const paying = wrapMcpClientWithPayment(client, buyer, {
        apiUrl: stack.devnet.url,
        onPaymentSettled: (receipt) => settled.push(receipt.txid),
      });
      const result = await paying.callTool(call('stx_echo'));
      assert.equal(result.isError, undefined);
      const settlement = result._meta?.[MCP_META.paymentResponse] as { transaction: string };
      assert.equal(textOf(result).transaction, settlement.transaction);
      const receipt = getPaymentReceipt(result)!;
      assert.equal(receipt.amount, 1000n);
      assert.deepEqual(settled, [receipt.txid]);
      assert.equal(stack.stx(stack.payTo), sellerBefore + 1000n);
      assert.equal(stack.stx(buyer.address), buyerBefore - 1000n - receipt.fee);
      assert.equal(paying.payer.spent('STX'), 1000n);
    });

    test('sBTC: paid in the token, the fee in STX', async () => {
      const client = await stack.connect(transport);
      const buyer = stack.buyer();
      const [tokenBefore, sellerBefore] = [stack.sbtc(buyer.address), stack.sbtc(stack.payTo)];
      const result = await wrapMcpClientWithPayment(client, buyer, {
        apiUrl: stack.devnet.url,
      }).callTool(call('sbtc_echo'));
      assert.equal(result.isError, undefined);
      assert.equal(stack.sbtc(buyer.address), tokenBefore - 250n);
      assert.equal(stack.sbtc(stack.payTo), sellerBefore + 250n);
    });

    test('sponsored: signed with fee 0; the sponsor pays the fee', async () => {
      const client = await stack.connect(transport);
      const buyer = stack.buyer();
      const [buyerBefore, sponsorBefore] = [stack.stx(buyer.address), stack.stx(stack.sponsor)];
      const result = await wrapMcpClientWithPayment(client, buyer, {
        apiUrl: stack.devnet.url,
      }).callTool(call('sponsored_echo'));
      assert.equal(result.isError, undefined);
      assert.equal(getPaymentReceipt(result)!.fee, 0n);
      assert.equal(stack.stx(buyer.address), buyerBefore - 700n);
      assert.ok(stack.stx(stack.sponsor) < sponsorBefore);
    });

    test('a dynamic price is priced from the arguments', async () => {
      const client = await stack.connect(transport);
      const buyer = stack.buyer();
      const result = await wrapMcpClientWithPayment(client, buyer, {
        apiUrl: stack.devnet.url,
      }).callTool(call('dynamic_echo', 'abcd'));
      assert.equal(getPaymentReceipt(result)!.amount, 40n);
    });

    test('a tool with an output schema: the payment objects ride in content[0].text; the SDK client pays it', async () => {
      const client = await stack.connect(transport);
      // Listing makes the SDK client check structuredContent against the output schema on every call.
      await client.listTools();
      const unpaid = (await client.callTool(call('typed_echo'))) as CallToolResult;
      assert.equal(unpaid.isError, true);
      assert.equal(unpaid.structuredContent, undefined);
      const buyer = stack.buyer();
      const result = await wrapMcpClientWithPayment(client, buyer, {
        apiUrl: stack.devnet.url,
      }).callTool(call('typed_echo'));
      assert.deepEqual(result.structuredContent, { echo: 'hello' });
      assert.equal(getPaymentReceipt(result)!.amount, 1000n);
    });

    test('after-handler: paid after the tool ran', async () => {
      const client = await stack.connect(transport);
      const buyer = stack.buyer();
      const sellerBefore = stack.stx(stack.payTo);
      const result = await wrapMcpClientWithPayment(client, buyer, {
        apiUrl: stack.devnet.url,
      }).callTool(call('after_echo'));
      assert.equal(result.isError, undefined);
      assert.equal(textOf(result).echo, 'hello');
      assert.equal(stack.stx(stack.payTo), sellerBefore + 1000n);
    });

    test('after-handler: a tool that throws is not charged', async () => {
      const client = await stack.connect(transport);
      const buyer = stack.buyer();
      const [buyerBefore, sellerBefore] = [stack.stx(buyer.address), stack.stx(stack.payTo)];
      const result = await wrapMcpClientWithPayment(client, buyer, {
        apiUrl: stack.devnet.url,
      }).callTool(call('after_throws'));
      assert.equal(result.isError, true);
      assert.match((result.content[0] as { text: string }).text, /the tool failed/);
      assert.equal(result._meta?.[MCP_META.paymentResponse], undefined);
      assert.equal(getPaymentReceipt(result), undefined);
      // Nothing waits to be mined either: the signed payment never reached the facilitator's settle.
      stack.devnet.chain.mine();
      assert.equal(stack.stx(buyer.address), buyerBefore);
      assert.equal(stack.stx(stack.payTo), sellerBefore);
    });

    test('a replayed payment without its id is refused and runs nothing; the buyer’s retry under its id is answered again, paid once', async () => {
      const client = await stack.connect(transport);
      const buyer = stack.buyer();
      const unpaid = (await client.callTool(call('stx_echo'))) as CallToolResult;
      const challenge = readPaymentChallenge({ header: undefined, body: unpaid.structuredContent });
      const prepared = await createPayer(buyer, { apiUrl: stack.devnet.url }).preparePayment(
        challenge,
        {
          url: 'mcp://tool/stx_echo',
        },
      );
      const payment = decodePaymentSignatureHeader(prepared.header.value);
      assert.equal(
        readPaymentIdentifier(payment.extensions).status,
        'present',
        'the buyer sends an id',
      );
      const paid = { ...call('stx_echo'), _meta: { [MCP_META.payment]: payment } };
      const first = (await client.callTool(paid)) as CallToolResult;
      assert.equal(first.isError, undefined);
      const sellerAfterFirst = stack.stx(stack.payTo);
      const copied = {
        ...call('stx_echo'),
        _meta: { [MCP_META.payment]: withoutPaymentId(payment) },
      };
      const again = (await client.callTool(copied)) as CallToolResult;
      assert.equal(again.isError, true);
      const refusal = again.structuredContent as { error: string };
      assert.match(refusal.error, /duplicate_settlement|txid_reused|nonce_reused/);
      assert.doesNotMatch(JSON.stringify(again), /"echo"/);
      // A result lost on the way back: the same payment under the same id is answered with the stored settlement.
      const retried = (await client.callTool(paid)) as CallToolResult;
      assert.equal(retried.isError, undefined, JSON.stringify(retried));
      assert.equal(textOf(retried).echo, 'hello');
      stack.devnet.chain.mine();
      assert.equal(stack.stx(stack.payTo), sellerAfterFirst);
    });

    test('settlement_pending: named as over HTTP, never served pending; the same payment is served once confirmed', async () => {
      const client = await stack.connect(transport);
      const buyer = stack.buyer();
      stack.devnet.chain.stall(true);
      try {
        await assert.rejects(
          wrapMcpClientWithPayment(client, buyer, { apiUrl: stack.devnet.url }).callTool(
            call('stx_echo'),
          ),
          (error: unknown) =>
            error instanceof SettlementPendingError && /^[0-9a-f]{64}$/.test(error.txid),
        );
        const unpaid = (await client.callTool(call('stx_echo'))) as CallToolResult;
        const challenge = readPaymentChallenge({
          header: undefined,
          body: unpaid.structuredContent,
        });
        const other = stack.buyer();
        const prepared = await createPayer(other, { apiUrl: stack.devnet.url }).preparePayment(
          challenge,
          { url: 'mcp://tool/stx_echo' },
        );
        const paid = {
          ...call('stx_echo'),
          _meta: { [MCP_META.payment]: decodePaymentSignatureHeader(prepared.header.value) },
        };
        const pending = (await client.callTool(paid)) as CallToolResult;
        assert.equal(pending.isError, true);
        const required = pending.structuredContent as {
          error: string;
          [MCP_META.paymentResponse]: { errorReason: string };
        };
        assert.equal(required.error, 'settlement_pending');
        assert.equal(required[MCP_META.paymentResponse].errorReason, 'settlement_pending');
        assert.doesNotMatch(JSON.stringify(pending), /"echo"/);
        stack.devnet.chain.stall(false);
        stack.devnet.chain.mine();
        await stack.idle();
        const served = (await client.callTool(paid)) as CallToolResult;
        assert.equal(served.isError, undefined, JSON.stringify(served));
        assert.equal(textOf(served).echo, 'hello');
        // Promotion needs the buyer's id: the same bytes copied without it are refused.
        const copied = {
          ...paid,
          _meta: { [MCP_META.payment]: withoutPaymentId(paid._meta[MCP_META.payment]) },
        };
        const again = (await client.callTool(copied)) as CallToolResult;
        assert.equal(again.isError, true);
      } finally {
        stack.devnet.chain.stall(false);
        stack.devnet.chain.mine();
        await stack.idle();
      }
    });

    test('one payment sent to an after-handler tool 5 times at once: served once, charged once', async () => {
      const client = await stack.connect(transport);
      const buyer = stack.buyer();
      const sellerBefore = stack.stx(stack.payTo);
      const unpaid = (await client.callTool(call('after_echo'))) as CallToolResult;
      const challenge = readPaymentChallenge({ header: undefined, body: unpaid.structuredContent });
      const prepared = await createPayer(buyer, { apiUrl: stack.devnet.url }).preparePayment(
        challenge,
        { url: 'mcp://tool/after_echo' },
      );
      const paid = {
        ...call('after_echo'),
        _meta: { [MCP_META.payment]: decodePaymentSignatureHeader(prepared.header.value) },
      };
      const results = (await Promise.all(
        Array.from({ length: 5 }, () => client.callTool(paid)),
      )) as CallToolResult[];
      const served = results.filter((result) => result.isError !== true);
      assert.equal(served.length, 1);
      for (const refused of results.filter((result) => result.isError === true)) {
        assert.match(
          (refused.structuredContent as { error: string }).error,
          /payment_in_progress|duplicate_settlement|txid_reused|nonce_reused/,
        );
      }
      assert.equal(stack.stx(stack.payTo), sellerBefore + 1000n);
    });

    test('one Payer shared by two paying clients keeps one budget for both', async () => {
      const buyer = stack.buyer();
      const payer = createPayer(buyer, { apiUrl: stack.devnet.url, budget: { STX: 1500n } });
      const first = wrapMcpClientWithPayment(await stack.connect(transport), payer);
      const second = wrapMcpClientWithPayment(await stack.connect(transport), payer);
      assert.equal((await first.callTool(call('stx_echo'))).isError, undefined);
      await assert.rejects(
        second.callTool(call('stx_echo')),
        (error: unknown) =>
          error instanceof PaymentPolicyError && error.reason === 'payment_over_budget',
      );
      assert.equal(payer.spent('STX'), 1000n);
    });

    test('a paid result lost on the way back: the same payment under its id is sent again, served, paid once', async () => {
      const client = await stack.connect(transport);
      // The server runs the tool and settles; only the buyer never hears the first paid result.
      const lossy = Object.create(client) as typeof client;
      const sent: unknown[] = [];
      let drops = 1;
      lossy.callTool = async (params, resultSchema, options) => {
        const result = await client.callTool(params, resultSchema, options);
        const payment = params._meta?.[MCP_META.payment];
        if (payment !== undefined) {
          sent.push(payment);
          if (drops-- > 0) throw new Error('connection reset');
        }
        return result;
      };
      const buyer = stack.buyer();
      const buyerBefore = stack.stx(buyer.address);
      const sellerBefore = stack.stx(stack.payTo);
      const paying = wrapMcpClientWithPayment(lossy, buyer, { apiUrl: stack.devnet.url });
      const result = await paying.callTool(call('stx_echo'));
      assert.equal(result.isError, undefined, JSON.stringify(result));
      assert.equal(textOf(result).echo, 'hello');
      assert.equal(sent.length, 2);
      assert.deepEqual(sent[1], sent[0], 'the same payment, the same id');
      const receipt = getPaymentReceipt(result)!;
      assert.equal(paying.payer.spent('STX'), 1000n);
      stack.devnet.chain.mine();
      assert.equal(stack.stx(stack.payTo), sellerBefore + 1000n);
      assert.equal(stack.stx(buyer.address), buyerBefore - 1000n - receipt.fee);
    });

    test('a malformed payment gets the payment-required result with the HTTP reason, nothing run', async () => {
      const client = await stack.connect(transport);
      const result = (await client.callTool({
        ...call('stx_echo'),
        _meta: { [MCP_META.payment]: { x402Version: 2, nonsense: true } },
      })) as CallToolResult;
      assert.equal(result.isError, true);
      const wrapper = JSON.parse((result.content[0] as { text: string }).text)[MCP_META.error];
      assert.equal(wrapper.code, 402);
      const required = result.structuredContent as { error: string; accepts: unknown[] };
      assert.equal(required.error, 'invalid_header_schema');
      assert.equal(required.accepts.length, 1);
      assert.doesNotMatch(JSON.stringify(result), /"echo"/);
    });

    test('a facilitator that is down: the unpaid call still gets its challenge; the paid one a named 502', async () => {
      const client = await stack.connect(transport);
      const buyer = stack.buyer();
      const buyerBefore = stack.stx(buyer.address);
      const result = await wrapMcpClientWithPayment(client, buyer, {
        apiUrl: stack.devnet.url,
      }).callTool(call('down_echo'));
      assert.equal(result.isError, true);
      const wrapper = JSON.parse((result.content[0] as { text: string }).text)[MCP_META.error];
      assert.equal(wrapper.code, 502);
      assert.equal(wrapper.data.error, 'facilitator_unreachable');
      assert.equal(getPaymentReceipt(result), undefined);
      assert.equal(stack.stx(buyer.address), buyerBefore);
    });

    test('over budget: refused with payment_over_budget, nothing signed, nothing spent', async () => {
      const client = await stack.connect(transport);
      const buyer = stack.buyer();
      const buyerBefore = stack.stx(buyer.address);
      let asked = 0;
      const paying = wrapMcpClientWithPayment(client, buyer, {
        apiUrl: stack.devnet.url,
        budget: { STX: 999n },
        onPaymentRequired: () => {
          asked += 1;
          return true;
        },
      });
      await assert.rejects(
        paying.callTool(call('stx_echo')),
        (error: unknown) =>
          error instanceof PaymentPolicyError && error.reason === 'payment_over_budget',
      );
      assert.equal(asked, 0);
      assert.equal(paying.payer.spent('STX'), 0n);
      assert.equal(stack.stx(buyer.address), buyerBefore);
    });

    test('the consent hook declines: payment_declined, nothing signed', async () => {
      const client = await stack.connect(transport);
      const buyer = stack.buyer();
      const paying = wrapMcpClientWithPayment(client, buyer, {
        apiUrl: stack.devnet.url,
        onPaymentRequired: () => false,
      });
      await assert.rejects(
        paying.callTool(call('stx_echo')),
        (error: unknown) =>
          error instanceof PaymentPolicyError && error.reason === 'payment_declined',
      );
      assert.equal(paying.payer.spent('STX'), 0n);
    });

    test('a free tool is called once, never paid', async () => {
      const client = await stack.connect(transport);
      const paying = wrapMcpClientWithPayment(client, stack.buyer(), { apiUrl: stack.devnet.url });
      const result = await paying.callTool(call('free_echo'));
      assert.equal(textOf(result).echo, 'hello');
      assert.equal(getPaymentReceipt(result), undefined);
    });
  });
}
