/**
 * The extended API's WebSocket channel, as far as a facilitator uses it: JSON-RPC 2.0 at `/extended/v1/ws`, where a
 * client subscribes to the `block` event and is sent every block mined from then on. `subscribe` and `unsubscribe`
 * answer `{}` and an unknown method `-32601`, as on the real API. The real API has many more events and takes batches;
 * here any other event is refused (`-32602`), and so is anything but one request object (`-32600`). A message that is
 * not JSON gets `-32700`; a client notification (no `id`) gets no answer.
 * @module
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { DevnetChain } from './chain.js';
import { blockJson } from './hiro.js';

/**
 * Where the channel answers, as on the Hiro API.
 * @example
 * ```ts
 * const socket = new WebSocket(`${devnet.url.replace(/^http/, 'ws')}${BLOCK_EVENTS_PATH}`);
 * ```
 */
export const BLOCK_EVENTS_PATH = '/extended/v1/ws';

/** A request larger than this closes its connection: a subscription is a few dozen bytes. */
const MAX_REQUEST_BYTES = 64 * 1024;
/** Unsent notifications a connection may hold before it is ended. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

/**
 * The channel on a running devnet: its subscriber count, and ways to end its connections.
 * @example
 * ```ts
 * if (devnet.blockEvents.subscribers > 0) devnet.blockEvents.dropConnections();
 * ```
 */
export type BlockEvents = {
  /** How many connections are subscribed to blocks now. */
  readonly subscribers: number;
  /** Ends every connection at once, as a restarting API would (tests of a client's reconnection). */
  dropConnections(): void;
  /** Ends every connection and stops taking new ones. */
  close(): void;
};

/**
 * Serves the channel on `server`'s upgrade requests to {@link BLOCK_EVENTS_PATH}; any other upgrade is refused.
 * @example
 * ```ts
 * const events = attachBlockEvents(server, chain);
 * events.close();
 * ```
 */
export function attachBlockEvents(server: Server, chain: DevnetChain): BlockEvents {
  const channel = new WebSocketServer({ noServer: true, maxPayload: MAX_REQUEST_BYTES });
  const subscribed = new Set<WebSocket>();
  let closed = false;

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (request.url ?? '').split('?')[0];
    if (closed || path !== BLOCK_EVENTS_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    channel.handleUpgrade(request, socket, head, (client) => {
      client.on('message', (data, isBinary) => {
        const answer = answerTo(isBinary ? undefined : String(data), client, subscribed);
        if (answer !== undefined) client.send(JSON.stringify(answer));
      });
      client.on('close', () => subscribed.delete(client));
      client.on('error', () => subscribed.delete(client));
    });
  };
  server.on('upgrade', onUpgrade);

  const stopBlocks = chain.onBlock((block) => {
    if (subscribed.size === 0) return;
    const message = JSON.stringify({ jsonrpc: '2.0', method: 'block', params: blockJson(block) });
    for (const client of subscribed) {
      // A client that stopped reading is ended, not buffered for without bound.
      if (client.bufferedAmount > MAX_BUFFERED_BYTES) client.terminate();
      else client.send(message);
    }
  });

  const dropConnections = () => {
    for (const client of channel.clients) client.terminate();
    subscribed.clear();
  };

  return {
    get subscribers() {
      return subscribed.size;
    },
    dropConnections,
    close() {
      if (closed) return;
      closed = true;
      stopBlocks();
      server.off('upgrade', onUpgrade);
      dropConnections();
      channel.close();
    },
  };
}

type RpcAnswer = {
  jsonrpc: '2.0';
  id: unknown;
  result?: unknown;
  error?: { code: number; message: string };
};

/** The answer to one client message, or undefined for a notification (no `id`), which gets none. */
function answerTo(
  text: string | undefined,
  client: WebSocket,
  subscribed: Set<WebSocket>,
): RpcAnswer | undefined {
  const error = (id: unknown, code: number, message: string): RpcAnswer => ({
    jsonrpc: '2.0',
    id,
    error: { code, message },
  });
  let request: unknown;
  try {
    request = text === undefined ? undefined : JSON.parse(text);
  } catch {
    return error(null, -32700, 'parse error: the message is not JSON');
  }
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    return error(null, -32600, 'invalid request: expected a JSON-RPC 2.0 request object');
  }
  const { id, method, params } = request as { id?: unknown; method?: unknown; params?: unknown };
  if (id === undefined) return undefined;
  if (method !== 'subscribe' && method !== 'unsubscribe') {
    return error(id, -32601, 'method not found');
  }
  const event = (params as { event?: unknown } | null | undefined)?.event;
  if (event !== 'block') {
    return error(id, -32602, 'invalid params: the devnet pushes only the block event');
  }
  if (method === 'subscribe') subscribed.add(client);
  else subscribed.delete(client);
  return { jsonrpc: '2.0', id, result: {} };
}
