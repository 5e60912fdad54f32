import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { createChainClient } from 'x402-stacks/chain';
import { type Devnet, startDevnet } from '../src/server.js';
import { stxTransfer } from './helpers.js';

/** A raw JSON-RPC connection to the devnet's channel, with every message it was sent. */
async function connect(devnet: Devnet) {
  const socket = new WebSocket(`${devnet.url.replace('http', 'ws')}/extended/v1/ws`);
  const messages: Record<string, unknown>[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data))));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return {
    socket,
    messages,
    /** Closes the connection and waits until the devnet has let it go. */
    async close() {
      const closed = new Promise((resolve) => socket.once('close', resolve));
      socket.close();
      await closed;
    },
    send: (message: unknown) =>
      socket.send(typeof message === 'string' ? message : JSON.stringify(message)),
    /** Waits for the message count to reach `count`. */
    async received(count: number) {
      await until(() => messages.length >= count);
      return messages;
    },
  };
}

async function until(condition: () => boolean): Promise<void> {
  const end = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('block events (the WebSocket channel at /extended/v1/ws)', () => {
  let devnet: Devnet;
  before(async () => {
    devnet = await startDevnet({ port: 0 });
  });
  after(() => devnet.stop());

  test('answers JSON-RPC as the API does: subscribe, unsubscribe, unknown methods and events, bad JSON, notifications', async () => {
    const client = await connect(devnet);
    client.send({ jsonrpc: '2.0', id: 1, method: 'subscribe', params: { event: 'block' } });
    client.send({ jsonrpc: '2.0', id: 2, method: 'subscribe', params: { event: 'tx_update' } });
    client.send({ jsonrpc: '2.0', id: 3, method: 'ping' });
    client.send('{ not json');
    client.send([1]);
    client.send({ jsonrpc: '2.0', method: 'subscribe', params: { event: 'block' } });
    client.send({ jsonrpc: '2.0', id: 4, method: 'unsubscribe', params: { event: 'block' } });
    const messages = await client.received(6);
    assert.deepEqual(messages.slice(0, 6), [
      { jsonrpc: '2.0', id: 1, result: {} },
      {
        jsonrpc: '2.0',
        id: 2,
        error: { code: -32602, message: 'invalid params: the devnet pushes only the block event' },
      },
      { jsonrpc: '2.0', id: 3, error: { code: -32601, message: 'method not found' } },
      {
        jsonrpc: '2.0',
        id: null,
        error: { code: -32700, message: 'parse error: the message is not JSON' },
      },
      {
        jsonrpc: '2.0',
        id: null,
        error: { code: -32600, message: 'invalid request: expected a JSON-RPC 2.0 request object' },
      },
      { jsonrpc: '2.0', id: 4, result: {} },
    ]);
    // The notification subscribed (no answer), and the unsubscribe after it ended the subscription.
    assert.equal(devnet.blockEvents.subscribers, 0);
    await client.close();
  });

  test("pushes each mined block to its subscribers, with the broadcast's txid in txs", async () => {
    const client = await connect(devnet);
    client.send({ jsonrpc: '2.0', id: 1, method: 'subscribe', params: { event: 'block' } });
    await client.received(1);
    assert.equal(devnet.blockEvents.subscribers, 1);
    const chain = createChainClient({ network: 'testnet', url: devnet.url, blockEvents: false });
    const sent = await chain.broadcast(await stxTransfer({ nonce: 0n }));
    assert.ok(sent.accepted);
    const [, pushed] = await client.received(2);
    const block = (pushed as { params: Record<string, unknown> }).params;
    assert.equal((pushed as { method: string }).method, 'block');
    assert.deepEqual(block.txs, [`0x${sent.txid}`]);
    assert.equal(block.height, devnet.chain.height);
    assert.equal(block.hash, devnet.chain.tip?.hash);
    assert.equal(block.canonical, true);
    assert.equal(typeof block.burn_block_height, 'number');
    devnet.mine(1);
    const [, , empty] = await client.received(3);
    assert.deepEqual((empty as { params: { txs: unknown } }).params.txs, []);
    await client.close();
  });

  test('the chain client hears blocks through it, and again after every connection is dropped', async () => {
    const chain = createChainClient({ network: 'testnet', url: devnet.url });
    const heights: number[] = [];
    await until(() => devnet.blockEvents.subscribers === 0);
    const stop = chain.watchBlocks!((block) => heights.push(block.height));
    // The earlier tests' connections are gone; this one's subscription is the only one.
    await until(() => devnet.blockEvents.subscribers === 1);
    devnet.mine(1);
    await until(() => heights.length === 1);
    devnet.blockEvents.dropConnections();
    assert.equal(devnet.blockEvents.subscribers, 0);
    // Opened again after its first retry wait (1 s).
    await until(() => devnet.blockEvents.subscribers === 1);
    devnet.mine(1);
    await until(() => heights.length === 2);
    assert.equal(heights[1], heights[0]! + 1);
    stop();
    await until(() => devnet.blockEvents.subscribers === 0);
  });

  test('an upgrade anywhere else is refused with 404', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const upgrade = request(`${devnet.url}/extended/v1/elsewhere`, {
        headers: {
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-version': '13',
          'sec-websocket-key': Buffer.alloc(16, 1).toString('base64'),
        },
      });
      upgrade.once('response', (response) => resolve(response.statusCode ?? 0));
      upgrade.once('upgrade', () => reject(new Error('upgraded')));
      upgrade.once('error', reject);
      upgrade.end();
    });
    assert.equal(status, 404);
  });

  test('stop ends the subscribed connections instead of waiting for them', async () => {
    const own = await startDevnet({ port: 0 });
    const client = await connect(own);
    client.send({ jsonrpc: '2.0', id: 1, method: 'subscribe', params: { event: 'block' } });
    await client.received(1);
    const closed = new Promise((resolve) => client.socket.once('close', resolve));
    await own.stop();
    await closed;
    assert.equal(own.blockEvents.subscribers, 0);
  });
});
