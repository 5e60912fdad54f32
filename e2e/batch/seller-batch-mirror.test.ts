/**
 * The seller's own check of a voucher on a channel it charged a moment ago (`server/batch/channel-mirror.ts`), through
 * two Express sellers in front of one facilitator service over HTTP, with a counting proxy between them and the
 * service: after a charge, the next voucher costs one facilitator call (`/settle`), not two; a voucher the seller's
 * copy cannot vouch for (a foreign signature, a copy another seller made stale) is never served unpaid; a stale copy
 * runs the handler at most once, with its response held back, and is dropped on the refusal.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import type { FacilitatorService } from '@x402-stacks/facilitator';
import type { PaymentRequirements } from 'x402-stacks';
import { signVoucher } from 'x402-stacks/batch';
import { encodePaymentSignatureHeader } from 'x402-stacks/protocol';
import {
  type BatchSeller,
  batchOffer,
  ESCROW,
  get,
  handBuyer,
  NETWORK,
  PRICE,
  ROLES,
  startBatchSeller,
  startBatchService,
} from './seller-stack.js';

/** A proxy to the facilitator service that counts the paths it forwards. */
async function countingProxy(target: string): Promise<{
  url: string;
  calls: string[];
  stop(): Promise<void>;
}> {
  const calls: string[] = [];
  const upstream = new URL(target);
  const server: Server = createServer((incoming, outgoing) => {
    calls.push(incoming.url ?? '');
    const forwarded = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: incoming.url,
        method: incoming.method,
        headers: incoming.headers,
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forwarded.on('error', () => outgoing.destroy());
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("the seller's own check of a fresh channel's voucher", () => {
  let devnet: Devnet;
  let dir: string;
  let service: FacilitatorService;
  let proxy: Awaited<ReturnType<typeof countingProxy>>;
  /** The second seller's own way to the service: another process's, as far as the first seller can tell. */
  let otherProxy: Awaited<ReturnType<typeof countingProxy>>;
  let first: BatchSeller;
  let second: BatchSeller;
  let offer: PaymentRequirements;
  let buyer: ReturnType<typeof handBuyer>;
  let charged = 0n;

  before(async () => {
    devnet = await startDevnet({ port: 0, accounts: 8 });
    dir = mkdtempSync(join(tmpdir(), 'seller-batch-mirror-'));
    service = await startBatchService(devnet, `sqlite:${join(dir, 'ledger.db')}`);
    proxy = await countingProxy(service.url);
    otherProxy = await countingProxy(service.url);
    const payTo = devnet.accounts[ROLES.seller]!.address;
    first = await startBatchSeller({ facilitatorUrl: proxy.url, payTo });
    // Sellers on one facilitator share their channel copies in a process (`seller-channels.ts`): the second seller
    // names the service by another URL, as a seller in another process would hold its own copies.
    second = await startBatchSeller({ facilitatorUrl: otherProxy.url, payTo });
    offer = await batchOffer(`${first.url}/paid`);
    buyer = handBuyer(devnet.url, devnet.accounts[2]!.account, offer, 'b3');
    const opened = await get(`${first.url}/paid`, await buyer.deposit(20n * PRICE, PRICE));
    assert.equal(opened.status, 200, opened.body);
    charged = PRICE;
  });
  after(async () => {
    await first?.stop();
    await second?.stop();
    await proxy?.stop();
    await otherProxy?.stop();
    await service?.stop();
    await devnet?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** What `work` asked of the facilitator. */
  const callsDuring = async (work: () => Promise<void>): Promise<string[]> => {
    const from = proxy.calls.length;
    await work();
    return proxy.calls.slice(from);
  };

  test('after a charge, each next voucher costs one facilitator call: /settle, never /verify', async () => {
    const calls = await callsDuring(async () => {
      for (let i = 0; i < 5; i++) {
        const answer = await get(`${first.url}/paid`, buyer.voucher(charged + PRICE));
        assert.equal(answer.status, 200, answer.body);
        assert.equal(answer.receipt?.extra?.chargedAmount, PRICE.toString());
        charged += PRICE;
      }
    });
    assert.deepEqual(calls, Array(5).fill('/settle'));
  });

  test('a voucher signed by another key is sent to /verify and refused there; the handler never runs', async () => {
    const runs = first.runs.length;
    const ceiling = charged + PRICE;
    const forged = encodePaymentSignatureHeader({
      x402Version: 2,
      accepted: offer,
      payload: {
        type: 'voucher',
        channelConfig: buyer.config,
        voucher: {
          channelId: buyer.channelId,
          maxClaimableAmount: ceiling.toString(),
          signature: signVoucher(
            devnet.accounts[3]!.privateKey,
            NETWORK,
            ESCROW,
            buyer.channelId,
            ceiling,
          ),
        },
      },
    });
    let answer: Awaited<ReturnType<typeof get>> | undefined;
    const calls = await callsDuring(async () => {
      answer = await get(`${first.url}/paid`, { 'payment-signature': forged });
    });
    assert.equal(answer!.status, 402);
    assert.equal(answer!.required?.error, 'invalid_batch_settlement_stacks_voucher_signature');
    assert.deepEqual(calls, ['/verify']);
    assert.equal(first.runs.length, runs, 'the handler did not run');
  });

  test('a copy made stale by the other seller runs the handler once, unserved, then asks /verify', async () => {
    // The first seller's copy is fresh again after a charge of its own.
    const own = await get(`${first.url}/paid`, buyer.voucher(charged + PRICE));
    assert.equal(own.status, 200, own.body);
    charged += PRICE;
    // The second seller charges the next request: the first seller's copy is now one request behind.
    const used = buyer.voucher(charged + PRICE);
    const elsewhere = await get(`${second.url}/paid`, used);
    assert.equal(elsewhere.status, 200, elsewhere.body);
    charged += PRICE;

    // The voucher the second seller already charged, replayed at the first: its copy vouches for it, so the handler
    // runs, but the facilitator refuses the charge and the response is never sent.
    const runs = first.runs.length;
    const replayed = await get(`${first.url}/paid`, used);
    assert.equal(replayed.status, 402);
    assert.equal(
      replayed.required?.error,
      'invalid_batch_settlement_stacks_cumulative_amount_mismatch',
    );
    assert.doesNotMatch(replayed.body, /secret/, 'the held response was not sent');
    assert.equal(first.runs.length, runs + 1, 'one run, held back');

    // The refusal dropped the copy: the same replay again is refused by /verify before the handler.
    let again: Awaited<ReturnType<typeof get>> | undefined;
    const calls = await callsDuring(async () => {
      again = await get(`${first.url}/paid`, used);
    });
    assert.equal(again!.status, 402);
    assert.deepEqual(calls, ['/verify']);
    assert.equal(first.runs.length, runs + 1, 'no second run');

    // And the buyer's next voucher is served, charged once.
    const next = await get(`${first.url}/paid`, buyer.voucher(charged + PRICE));
    assert.equal(next.status, 200, next.body);
    charged += PRICE;
    assert.equal(
      (next.receipt?.extra as { channelState?: { chargedCumulativeAmount?: string } })?.channelState
        ?.chargedCumulativeAmount,
      charged.toString(),
    );
  });
});
