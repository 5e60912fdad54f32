import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import { type WebSocket, WebSocketServer } from 'ws';
import { createBlockFeed, type MinedBlock } from './block-feed.js';
import { createChainClient } from './client.js';
import { InvalidChainInputError } from './errors.js';

const TXID_A = 'ab'.repeat(32);
const TXID_B = 'cd'.repeat(32);

/** A WebSocket server on 127.0.0.1 that speaks the API's JSON-RPC and records what it was sent and asked. */
async function channel(
  options: { refuseSubscribe?: boolean; silent?: boolean; path?: string } = {},
) {
  const server = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    path: options.path ?? '/extended/v1/ws',
  });
  await new Promise((resolve) => server.once('listening', resolve));
  const upgrades: IncomingMessage[] = [];
  const subscribed = new Set<WebSocket>();
  const requests: unknown[] = [];
  let connections = 0;
  server.on('connection', (client, request) => {
    connections++;
    upgrades.push(request);
    client.on('message', (data) => {
      const message = JSON.parse(String(data)) as { id: number; params: unknown };
      requests.push(message);
      if (options.silent) return;
      if (options.refuseSubscribe) {
        client.send(JSON.stringify({ jsonrpc: '2.0', id: message.id, error: { code: -32602 } }));
        return;
      }
      subscribed.add(client);
      client.send(JSON.stringify({ jsonrpc: '2.0', id: message.id, result: {} }));
    });
    client.on('close', () => subscribed.delete(client));
  });
  const { port } = server.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}/extended/v1/ws`,
    port,
    upgrades,
    requests,
    get connections() {
      return connections;
    },
    get subscribers() {
      return subscribed.size;
    },
    /** Sends raw text to every subscribed client. */
    push(text: string) {
      for (const client of subscribed) client.send(text);
    },
    dropAll() {
      for (const client of server.clients) client.terminate();
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

const block = (height: number, txs: unknown[]) =>
  JSON.stringify({
    jsonrpc: '2.0',
    method: 'block',
    params: { canonical: true, height, hash: `0x${'11'.repeat(32)}`, txs },
  });

async function until(condition: () => boolean, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * A test server's connection handler that keeps each socket (to destroy at the end) and hears its errors: the client
 * under test ends connections abruptly (an unanswered ping, a handshake given up), the reset lands on the server's
 * socket, and an unheard socket error would end the whole test process (it did, once in three CI runs).
 */
function kept(sockets: Socket[]) {
  return (socket: Socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
  };
}
describe('block feed', () => {
  const servers: { close: () => Promise<unknown> }[] = [];
  after(async () => {
    await Promise.all(servers.map((server) => server.close()));
  });

  test('subscribes to blocks and hands each one over, its txids bare and lower-case; what is not a block is ignored', async () => {
    const api = await channel();
    servers.push(api);
    const feed = createBlockFeed({ url: api.url, headers: {} });
    const heard: MinedBlock[] = [];
    const stop = feed.watch((b) => heard.push(b));
    await until(() => api.subscribers === 1 && feed.connected, 'the subscription');
    assert.deepEqual(api.requests, [
      { jsonrpc: '2.0', id: 1, method: 'subscribe', params: { event: 'block' } },
    ]);

    api.push('not json');
    api.push(JSON.stringify([1, 2]));
    api.push(JSON.stringify({ jsonrpc: '2.0', method: 'mempool', params: { tx_id: TXID_A } }));
    api.push(JSON.stringify({ jsonrpc: '2.0', method: 'block', params: { height: 'x', txs: [] } }));
    api.push(block(7, [`0x${TXID_A.toUpperCase()}`, 'nonsense', 42, TXID_B]));
    await until(() => heard.length === 1, 'the block');
    assert.deepEqual(heard, [{ height: 7, hash: `0x${'11'.repeat(32)}`, txids: [TXID_A, TXID_B] }]);
    stop();
  });

  test('a watcher that throws does not keep the block from the others', async () => {
    const api = await channel();
    servers.push(api);
    const feed = createBlockFeed({ url: api.url, headers: {} });
    const heard: number[] = [];
    const stopBad = feed.watch(() => {
      throw new Error('a watcher fault');
    });
    const stopGood = feed.watch((b) => heard.push(b.height));
    await until(() => feed.connected, 'the subscription');
    assert.equal(api.connections, 1, 'one connection serves every watcher');
    api.push(block(1, []));
    await until(() => heard.length === 1, 'the block');
    stopBad();
    stopGood();
  });

  test('the connection closes with the last watcher, and opens again for a new one', async () => {
    const api = await channel();
    servers.push(api);
    const feed = createBlockFeed({ url: api.url, headers: {} });
    const first = feed.watch(() => {});
    const second = feed.watch(() => {});
    await until(() => api.subscribers === 1, 'the subscription');
    first();
    first();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(api.subscribers, 1, 'one watcher is left');
    second();
    await until(() => api.subscribers === 0, 'the close');
    assert.equal(feed.connected, false);
    const third = feed.watch(() => {});
    await until(() => api.subscribers === 1, 'the new subscription');
    assert.equal(api.connections, 2);
    third();
  });

  test('a dropped connection is opened again and hears the blocks pushed after it', async () => {
    const api = await channel();
    servers.push(api);
    const feed = createBlockFeed({ url: api.url, headers: {}, retryMs: 20 });
    const heard: number[] = [];
    const stop = feed.watch((b) => heard.push(b.height));
    await until(() => api.subscribers === 1, 'the subscription');
    api.dropAll();
    await until(() => api.connections === 2 && api.subscribers === 1, 'the second subscription');
    api.push(block(9, []));
    await until(() => heard.includes(9), 'the block after the drop');
    stop();
  });

  test('an API that refuses the block event is asked again only after a long wait, which a new watcher does not cut short', async () => {
    const api = await channel({ refuseSubscribe: true });
    servers.push(api);
    const feed = createBlockFeed({ url: api.url, headers: {}, retryMs: 10 });
    const stop = feed.watch(() => {});
    await until(() => api.requests.length === 1, 'the subscribe request');
    const second = feed.watch(() => {});
    // A refusal waits 10 × 2^5 ms (capped at 30 × 10) before the next try, where a drop waits 10.
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(api.connections, 1);
    assert.equal(feed.connected, false);
    await until(() => api.connections === 2, 'the next try');
    stop();
    second();
  });

  test('a server that cuts every connection is tried again with a doubling wait, and never heard from', async () => {
    let attempts = 0;
    const cutting = createServer((socket) => {
      attempts++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => cutting.listen(0, '127.0.0.1', resolve));
    servers.push({ close: () => new Promise((resolve) => cutting.close(resolve)) });
    const { port } = cutting.address() as { port: number };
    const feed = createBlockFeed({
      url: `ws://127.0.0.1:${port}/extended/v1/ws`,
      headers: {},
      retryMs: 5,
    });
    const stop = feed.watch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 300));
    stop();
    assert.equal(feed.connected, false);
    // 5, 10, 20, 40, 80 and 150 ms apart: about six tries in 300 ms, where a fixed 5 ms wait would make sixty.
    assert.ok(attempts >= 2 && attempts <= 10, `${attempts} tries`);
  });

  test('a connection that went quiet without closing is ended when its ping goes unanswered, then opened again', async () => {
    // A server that completes the upgrade and then never reads again: no pong, no close.
    const sockets: Socket[] = [];
    let upgrades = 0;
    const quiet: Server = createServer((socket) => {
      kept(sockets)(socket);
      socket.once('data', (data) => {
        upgrades++;
        const key = /sec-websocket-key: *(\S+)/i.exec(String(data))?.[1] ?? '';
        const accept = createHash('sha1')
          .update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
          .digest('base64');
        // The upgrade, and the answer to the subscription as one unmasked text frame: then silence.
        const answer = Buffer.from('{"jsonrpc":"2.0","id":1,"result":{}}');
        socket.write(
          `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
        );
        socket.write(Buffer.concat([Buffer.from([0x81, answer.length]), answer]));
        socket.pause();
      });
    });
    await new Promise<void>((resolve) => quiet.listen(0, '127.0.0.1', resolve));
    servers.push({
      close: () => {
        for (const socket of sockets) socket.destroy();
        return new Promise((resolve) => quiet.close(resolve));
      },
    });
    const { port } = quiet.address() as { port: number };
    // The subscription's own deadline (the ping interval) is not what ends it: it was answered.
    const feed = createBlockFeed({
      url: `ws://127.0.0.1:${port}/extended/v1/ws`,
      headers: {},
      pingMs: 40,
      retryMs: 10,
    });
    const stop = feed.watch(() => {});
    await until(() => feed.connected, 'the subscription answered');
    await until(() => upgrades >= 2, 'a second connection after the unanswered ping');
    stop();
  });

  test('a watcher gone while the connection opens ends it quietly: no error escapes, nothing stays subscribed', async () => {
    const api = await channel();
    servers.push(api);
    const feed = createBlockFeed({ url: api.url, headers: {} });
    feed.watch(() => {})();
    // Again once the socket exists but has not opened: its end while connecting emits an error.
    const stop = feed.watch(() => {});
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    stop();
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(api.subscribers, 0);
    assert.equal(feed.connected, false);
  });

  test('a handshake that never completes, or a subscription never answered, is given up and tried again', async () => {
    // Takes the TCP connection and never answers the upgrade.
    const sockets: Socket[] = [];
    const hung = createServer(kept(sockets));
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    servers.push({
      close: () => {
        for (const socket of sockets) socket.destroy();
        return new Promise((resolve) => hung.close(resolve));
      },
    });
    const { port } = hung.address() as { port: number };
    const stopHung = createBlockFeed({
      url: `ws://127.0.0.1:${port}/extended/v1/ws`,
      headers: {},
      handshakeMs: 30,
      retryMs: 10,
    }).watch(() => {});
    await until(() => sockets.length >= 2, 'a second try after the handshake timed out');
    stopHung();

    const silent = await channel({ silent: true });
    servers.push(silent);
    const feed = createBlockFeed({ url: silent.url, headers: {}, pingMs: 30, retryMs: 10 });
    const stop = feed.watch(() => {});
    await until(() => silent.connections >= 2, 'a second try after the unanswered subscription');
    assert.equal(feed.connected, false);
    stop();
  });

  test("the client's channel carries its credentials as headers, never in the URL, below the base URL's path and with its query", async () => {
    const api = await channel({ path: '/api/extended/v1/ws' });
    servers.push(api);
    const client = createChainClient({
      network: 'testnet',
      url: `http://user:p%40ss@127.0.0.1:${api.port}/api/?tenant=7`,
      apiKey: 'key-123',
    });
    const stop = client.watchBlocks?.(() => {});
    assert.ok(stop, 'watchBlocks is offered by default');
    await until(() => api.subscribers === 1, 'the subscription');
    const request = api.upgrades[0]!;
    // The base URL's query travels as on every request; the credentials only as headers.
    assert.equal(request.url, '/api/extended/v1/ws?tenant=7');
    assert.equal(request.headers['x-api-key'], 'key-123');
    assert.equal(
      request.headers.authorization,
      `Basic ${Buffer.from('user:p@ss').toString('base64')}`,
    );
    stop?.();
  });

  test('no channel with blockEvents false, or with an injected fetch unless asked', () => {
    assert.equal(
      createChainClient({ network: 'testnet', url: 'http://127.0.0.1:1', blockEvents: false })
        .watchBlocks,
      undefined,
    );
    assert.equal(
      createChainClient({ network: 'testnet', url: 'http://127.0.0.1:1', fetch }).watchBlocks,
      undefined,
    );
    assert.equal(
      typeof createChainClient({
        network: 'testnet',
        url: 'http://127.0.0.1:1',
        fetch,
        blockEvents: true,
      }).watchBlocks,
      'function',
    );
    assert.throws(
      () =>
        createChainClient({
          network: 'testnet',
          url: 'http://127.0.0.1:1',
          blockEvents: 'false' as never,
        }),
      (error: unknown) =>
        error instanceof InvalidChainInputError &&
        error.reason === 'invalid_chain_input' &&
        /blockEvents must be true or false/.test(error.message),
    );
  });
});

describe('block feed and the life of a process', () => {
  const feedModule = new URL('./block-feed.ts', import.meta.url).href;

  /**
   * Runs a process that watches `url` and nothing else. It holds itself open (a referenced timer) until the feed is
   * connected, or for 2 s when `connects` is false, then lets go and says so: from then on only the feed could keep it.
   * @returns the exit code, and how long the process lived after letting go.
   */
  function watchingProcess(url: string, connects: boolean) {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `import { createBlockFeed } from ${JSON.stringify(feedModule)};
         const feed = createBlockFeed({ url: ${JSON.stringify(url)}, headers: {}, retryMs: 20 });
         feed.watch(() => {});
         const started = Date.now();
         const hold = setInterval(() => {
           if (${connects} ? feed.connected : Date.now() - started > 2_000) {
             clearInterval(hold);
             process.stdout.write('let go\\n');
           }
         }, 10);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let letGoAt: number | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      if (String(chunk).includes('let go')) letGoAt ??= Date.now();
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    return new Promise<{ code: number | null; afterLetGoMs: number | undefined }>((resolve) => {
      child.once('exit', (code) => {
        clearTimeout(killer);
        resolve({ code, afterLetGoMs: letGoAt === undefined ? undefined : Date.now() - letGoAt });
      });
    });
  }

  test('a process whose only work is watching ends on its own: connected and subscribed, or stuck in a handshake', async () => {
    const api = await channel();
    const sockets: Socket[] = [];
    const hung = createServer(kept(sockets));
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const { port } = hung.address() as { port: number };
    try {
      const [subscribed, handshaking] = await Promise.all([
        watchingProcess(api.url, true),
        watchingProcess(`ws://127.0.0.1:${port}/extended/v1/ws`, false),
      ]);
      assert.equal(api.subscribers, 0);
      assert.deepEqual(api.requests, [
        { jsonrpc: '2.0', id: 1, method: 'subscribe', params: { event: 'block' } },
      ]);
      assert.ok(sockets.length >= 1, 'the second process did connect');
      // Killed at 20 s otherwise (code null, or no time after letting go); 10 s is the handshake's own limit.
      for (const ended of [subscribed, handshaking]) {
        assert.equal(ended.code, 0, JSON.stringify({ subscribed, handshaking }));
        assert.ok(
          (ended.afterLetGoMs ?? 99_999) < 5_000,
          JSON.stringify({ subscribed, handshaking }),
        );
      }
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => hung.close(resolve));
      await api.close();
    }
  });
});
