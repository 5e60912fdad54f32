/**
 * The chain client's default transport, node's `http` on a keep-alive agent: connections reused and bounded, one
 * timeout covering the body, retries after a connection cut mid-answer, and the `fetch` fallback outside node.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { INFO, TX_SUCCESS, TXID_SUCCESS, txidOf } from './client.fixtures.js';
import { type ChainClientOptions, createChainClient } from './client.js';
import { ChainRequestError } from './errors.js';
import { createNodeExchange, MAX_SOCKETS } from './node-exchange.js';

const TX_BYTES = Uint8Array.from(Buffer.from('808000000004001a7321b74e2b6a7e', 'hex'));

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let url: string;
let connections: number;
let requests: number;
/** Answers requests in turn; once used up, every request gets /v2/info. */
let handlers: Handler[];

const answerInfo: Handler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(INFO));
};

before(async () => {
  server = createServer((req, res) => {
    requests++;
    req.resume();
    req.on('end', () => (handlers.shift() ?? answerInfo)(req, res));
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
afterEach(() => {
  // Each test starts on fresh connections, so its count is its own.
  server.closeAllConnections();
});

function reset() {
  connections = 0;
  requests = 0;
  handlers = [];
}
reset();

function client(overrides: Partial<ChainClientOptions> = {}) {
  return createChainClient({ network: 'testnet', url, sleep: async () => undefined, ...overrides });
}

async function chainError(promise: Promise<unknown>): Promise<ChainRequestError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ChainRequestError, `expected ChainRequestError, got ${error}`);
    return error;
  }
  assert.fail('expected a rejection');
}

/** Headers and the first half of the body, then nothing. */
const stallMidBody: Handler = (_req, res) => {
  const body = JSON.stringify(INFO);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.write(body.slice(0, body.length / 2));
};

describe('node http transport', () => {
  test('sequential requests reuse one keep-alive connection', async () => {
    reset();
    const chain = client();
    for (let i = 0; i < 5; i++) assert.equal((await chain.getInfo()).stacksTipHeight, 120);
    assert.equal(requests, 5);
    assert.equal(connections, 1);
  });

  test(`concurrent requests open at most ${MAX_SOCKETS} connections, and all are answered`, async () => {
    reset();
    const chain = client();
    const infos = await Promise.all(Array.from({ length: MAX_SOCKETS * 2 }, () => chain.getInfo()));
    assert.equal(infos.length, MAX_SOCKETS * 2);
    assert.ok(connections <= MAX_SOCKETS, `${connections} connections`);
    assert.equal(requests, MAX_SOCKETS * 2);
  });

  test('error: the timeout covers the body: an answer that stalls halfway times out, and a GET is retried', async () => {
    reset();
    handlers = [stallMidBody, stallMidBody];
    const started = Date.now();
    const error = await chainError(client({ timeoutMs: 150, maxRetries: 1 }).getInfo());
    assert.equal(error.reason, 'chain_unreachable');
    assert.match(error.shortMessage, /timed out after 150 ms on all 2 attempts/);
    assert.equal(error.attempts, 2);
    assert.equal(requests, 2);
    assert.ok(Date.now() - started < 2_000);
  });

  test('error: a broadcast whose answer stalls halfway is not repeated, and names its txid', async () => {
    reset();
    handlers = [stallMidBody];
    const error = await chainError(client({ timeoutMs: 150 }).broadcast(TX_BYTES));
    assert.equal(error.reason, 'chain_unreachable');
    assert.equal(error.txid, txidOf(TX_BYTES));
    assert.equal(requests, 1);
  });

  test('a GET whose connection is cut mid-answer is retried on a new connection', async () => {
    reset();
    handlers = [
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': 1000 });
        res.write('{"network_id"');
        setTimeout(() => res.socket?.destroy(), 10);
      },
    ];
    assert.equal((await client().getInfo()).stacksTipHeight, 120);
    assert.equal(requests, 2);
    assert.equal(connections, 2);
  });

  test('error: a broadcast whose connection is reset is not repeated: it may have reached the node', async () => {
    reset();
    handlers = [(req) => req.socket.destroy()];
    const error = await chainError(client().broadcast(TX_BYTES));
    assert.equal(error.reason, 'chain_unreachable');
    assert.equal(error.txid, txidOf(TX_BYTES));
    assert.equal(requests, 1);
  });

  test('sends the body with its length, and a 200 answers the txid', async () => {
    reset();
    let contentLength: string | undefined;
    handlers = [
      (req, res) => {
        contentLength = req.headers['content-length'];
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(txidOf(TX_BYTES)));
      },
    ];
    assert.deepEqual(await client().broadcast(TX_BYTES), {
      accepted: true,
      txid: txidOf(TX_BYTES),
    });
    assert.equal(contentLength, String(TX_BYTES.length));
  });

  test('decodes a gzip answer a server sends unasked', async () => {
    reset();
    handlers = [
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        res.end(gzipSync(JSON.stringify(TX_SUCCESS)));
      },
    ];
    const tx = await client().getTransaction(TXID_SUCCESS);
    assert.ok(tx?.indexed);
    assert.equal(tx.status, 'success');
  });

  test('is not available without process.getBuiltinModule, so the client falls back to fetch', async () => {
    const original = process.getBuiltinModule;
    Object.defineProperty(process, 'getBuiltinModule', { value: undefined, configurable: true });
    try {
      assert.equal(createNodeExchange(new URL(url), 1_000), undefined);
      reset();
      assert.equal((await client().getInfo()).stacksTipHeight, 120);
      assert.equal(requests, 1);
    } finally {
      Object.defineProperty(process, 'getBuiltinModule', { value: original, configurable: true });
    }
    assert.equal(typeof createNodeExchange(new URL(url), 1_000), 'function');
  });
});
