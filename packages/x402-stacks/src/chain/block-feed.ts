/**
 * New blocks as the API pushes them: its WebSocket channel (JSON-RPC 2.0 at `/extended/v1/ws`), subscribed to the
 * `block` event, whose notifications carry each block's txids in `txs`.
 *
 * A block is a hint of when to read, never a read: nothing here decides money. A status poller that hears a block
 * reads the transactions it waits for and finds in it at once, instead of at its next tick, and that read, with its
 * strict schema, says what happened. So a feed that is down, late, wrong or lying costs latency, never correctness,
 * and every failure here is swallowed: the connection is opened again after 1 s, doubling up to 30 s, and blocks
 * pushed while it was down are never replayed (the poller's ticks find those transactions).
 *
 * One connection serves every watcher of a client. It opens at the first watcher and closes with the last, at once
 * (no closing handshake to wait for). A connection is given up, and opened again, when it is not open within 10 s,
 * when its subscription is not answered within the ping interval (30 s), or, where the runtime has protocol pings
 * (Node), when a ping is not answered by the next one: a connection that went quiet without closing. The retries wait
 * 1 s, doubling up to 30 s for a server that keeps dropping connections sooner than a ping interval, and 30 s after
 * a subscription refused. On Node, no timer here and no open socket keeps a process alive; a connect still under way
 * may, until it ends (a TCP handshake within those 10 s; a name lookup when the resolver answers).
 * @module
 */

/**
 * A mined block as the feed tells of it. It is a hint to read the chain sooner, never proof of what a transaction did.
 * @example
 * ```ts
 * const stop = chain.watchBlocks?.((block: MinedBlock) => console.log(block.height, block.txids.length));
 * ```
 */
export type MinedBlock = {
  readonly height: number;
  readonly hash: string;
  /** The block's transactions, lower-case hex without `0x`. */
  readonly txids: readonly string[];
};

/**
 * Stops one watcher; the connection closes with the last. Calling it twice does nothing.
 * @example
 * ```ts
 * const stop: StopWatching | undefined = chain.watchBlocks?.((block) => console.log(block.hash));
 * stop?.();
 * ```
 */
export type StopWatching = () => void;

/** The part of a WebSocket the feed uses: the WHATWG interface, which the `ws` package implements too. */
type Socket = {
  readonly readyState: number;
  send(data: string): void;
  close(): void;
  addEventListener(type: 'open' | 'close' | 'error', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  /** `ws` only: a protocol ping, and the pong that answers it, for a connection that went quiet. */
  ping?(): void;
  terminate?(): void;
  on?(event: 'pong', listener: () => void): void;
  on?(event: 'message', listener: (data: unknown) => void): void;
};

/** How a socket is opened: the `ws` package where the runtime is Node (it sends headers), else the global one. */
export type OpenSocket = (
  url: string,
  headers: Readonly<Record<string, string>>,
  handshakeMs: number,
) => Promise<Socket>;

export type BlockFeedOptions = {
  /** The channel's `ws:` or `wss:` URL. */
  url: string;
  /** Sent with the upgrade request where the runtime can send headers: the API key, Basic credentials. */
  headers: Readonly<Record<string, string>>;
  /** Default {@link openSocket}; tests pass their own. */
  open?: OpenSocket;
  /** The first wait before a connection is opened again (default 1,000 ms); it doubles up to 30 times that. */
  retryMs?: number;
  /** How long a connection may take to open, handshake included (default 10,000 ms). */
  handshakeMs?: number;
  /**
   * How often the connection is pinged (default 30,000 ms); one whose ping is not answered by the next is ended, and
   * so is one whose subscription is not answered within this time.
   */
  pingMs?: number;
};

export type BlockFeed = {
  /**
   * Calls `listener` with each block pushed from now on, until the returned function is called. A listener that
   * throws is ignored (the others still hear the block).
   */
  watch(listener: (block: MinedBlock) => void): StopWatching;
  /** Whether the channel is open and subscribed now (tests, health). */
  readonly connected: boolean;
};

const OPEN = 1;
const SUBSCRIBE_ID = 1;
/** A block notification larger than this is refused by `ws` (and the connection closed): 16 MiB. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
const TXID = /^(?:0x)?([0-9a-fA-F]{64})$/;

/**
 * @example
 * ```ts
 * const feed = createBlockFeed({ url: 'wss://api.testnet.hiro.so/extended/v1/ws', headers: {} });
 * const stop = feed.watch((block) => console.log(block.height, block.txids.length));
 * stop();
 * ```
 */
export function createBlockFeed(options: BlockFeedOptions): BlockFeed {
  const { url, headers, open = openSocket } = options;
  const retryMs = options.retryMs ?? 1_000;
  const handshakeMs = options.handshakeMs ?? 10_000;
  const pingMs = options.pingMs ?? 30_000;
  const listeners = new Set<(block: MinedBlock) => void>();
  /** `retrying`: a retry timer is set; a new watcher waits for it rather than skip the backoff. */
  let state: 'idle' | 'connecting' | 'retrying' = 'idle';
  /** Bumped whenever the current connection is given up: callbacks of an older one only clean up after it. */
  let generation = 0;
  let live: Socket | undefined;
  let subscribed = false;
  /** When the current subscription was answered: one that lasts a ping interval resets the backoff. */
  let subscribedAt = 0;
  let failures = 0;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** The deadline to open, then the subscription's, then the ping interval: one timer per connection at a time. */
  let connectionTimer: ReturnType<typeof setTimeout> | undefined;

  function connect(): void {
    if (listeners.size === 0 || state !== 'idle') return;
    state = 'connecting';
    const mine = ++generation;
    // Whatever the runtime's own limits (none for a browser's WebSocket; `ws` times only a silent handshake), a
    // connection not open within `handshakeMs` is given up.
    connectionTimer = unref(setTimeout(() => mine === generation && lost(), handshakeMs));
    Promise.resolve()
      .then(() => open(url, headers, handshakeMs))
      .then(
        (opened) => adopt(opened, mine),
        () => {
          if (mine === generation) lost();
        },
      );
  }

  function adopt(opened: Socket, mine: number): void {
    // First, before anything can close it: a `ws` socket ended while connecting emits an error, and an error nobody
    // listens to would end the process.
    opened.addEventListener('error', () => {
      if (mine === generation) lost();
      end(opened);
    });
    opened.addEventListener('close', () => {
      if (mine === generation) lost();
    });
    if (mine !== generation) {
      end(opened);
      return;
    }
    live = opened;
    opened.addEventListener('open', () => {
      if (mine !== generation) return;
      clearTimeout(connectionTimer);
      opened.send(
        JSON.stringify({
          jsonrpc: '2.0',
          id: SUBSCRIBE_ID,
          method: 'subscribe',
          params: { event: 'block' },
        }),
      );
      // A subscription never answered would leave a connection that hears nothing.
      connectionTimer = unref(setTimeout(() => mine === generation && lost(), pingMs));
    });
    const onMessage = (data: unknown) => {
      if (mine === generation) receive(opened, mine, data);
    };
    // `ws`'s own event hands the bytes over without a MessageEvent for each block.
    if (typeof opened.on === 'function') opened.on('message', onMessage);
    else opened.addEventListener('message', (event) => onMessage(event.data));
  }

  function receive(from: Socket, mine: number, data: unknown): void {
    const message = parse(data);
    if (message === undefined) return;
    if (!subscribed) {
      if (message.error !== undefined && (message.id === SUBSCRIBE_ID || message.id === null)) {
        // An API without the block event: no use asking again soon.
        failures = Math.max(failures, 5);
        lost();
        return;
      }
      if (message.id === SUBSCRIBE_ID) {
        subscribed = true;
        subscribedAt = Date.now();
        clearTimeout(connectionTimer);
        keepAlive(from, mine);
      }
      return;
    }
    const block = message.method === 'block' ? minedBlock(message.params) : undefined;
    if (block === undefined) return;
    for (const listener of [...listeners]) {
      try {
        listener(block);
      } catch {
        // One watcher's fault is its own.
      }
    }
  }

  /** Where the runtime has protocol pings: a ping not answered by the next one ends the connection. */
  function keepAlive(opened: Socket, mine: number): void {
    if (typeof opened.ping !== 'function' || typeof opened.on !== 'function') return;
    let answered = true;
    opened.on('pong', () => {
      answered = true;
    });
    connectionTimer = unref(
      setInterval(() => {
        if (mine !== generation) return;
        if (!answered) {
          lost();
          return;
        }
        answered = false;
        try {
          opened.ping?.();
        } catch {
          lost();
        }
      }, pingMs),
    );
  }

  /** The current connection is gone, or never came: it is ended, and opened again later while anyone watches. */
  function lost(): void {
    // A connection that served a whole ping interval was a good one: the next is tried soon. One dropped sooner
    // (a server that accepts and then drops) waits longer each time.
    if (subscribed && Date.now() - subscribedAt >= pingMs) failures = 0;
    const was = forget();
    if (was) end(was);
    if (listeners.size === 0) return;
    state = 'retrying';
    const wait = Math.min(retryMs * 2 ** failures, retryMs * 30);
    failures++;
    retryTimer = unref(
      setTimeout(() => {
        retryTimer = undefined;
        state = 'idle';
        connect();
      }, wait),
    );
  }

  /** Gives the current connection up (its callbacks go quiet) and returns its socket, to be ended. */
  function forget(): Socket | undefined {
    generation++;
    clearTimeout(connectionTimer);
    clearInterval(connectionTimer);
    connectionTimer = undefined;
    const was = live;
    live = undefined;
    subscribed = false;
    state = 'idle';
    return was;
  }

  return {
    watch(listener) {
      const own = (block: MinedBlock) => listener(block);
      listeners.add(own);
      connect();
      return () => {
        if (!listeners.delete(own) || listeners.size > 0) return;
        clearTimeout(retryTimer);
        retryTimer = undefined;
        failures = 0;
        const was = forget();
        if (was) end(was);
      };
    },
    get connected() {
      return subscribed && live?.readyState === OPEN;
    },
  };
}

/**
 * Ends a socket at once: a hint channel needs no closing handshake, and `ws` holds a process for 30 s waiting for
 * one a peer that went quiet never sends.
 */
function end(socket: Socket): void {
  try {
    if (typeof socket.terminate === 'function') socket.terminate();
    else socket.close();
  } catch {
    // Already ended.
  }
}

/** What `ws` hands its `createConnection`: the request's options. */
type ConnectOptions = import('node:tls').ConnectionOptions & {
  host?: string;
  servername?: string;
  socketPath?: string;
};

/**
 * Opens a socket with the `ws` package where the runtime is Node (loaded on first use, so that code which never
 * watches blocks never loads it), else with the runtime's own `WebSocket`, which cannot send headers. On Node the TCP
 * socket is unreferenced from the start: the feed never keeps a process alive, even while connecting.
 * @example
 * ```ts
 * const socket = await openSocket('ws://127.0.0.1:3999/extended/v1/ws', { 'x-api-key': key }, 10_000);
 * ```
 */
async function openSocket(
  url: string,
  headers: Readonly<Record<string, string>>,
  handshakeMs: number,
): Promise<Socket> {
  if (typeof process !== 'undefined' && process.versions?.node) {
    const [{ WebSocket }, net, tls] = await Promise.all([
      import('ws'),
      import('node:net'),
      import('node:tls'),
    ]);
    const secure = new URL(url).protocol === 'wss:';
    // As `ws` connects by default, with the socket unreferenced.
    const connect = (options: ConnectOptions) => {
      const connection = secure
        ? tls.connect({
            ...options,
            path: undefined,
            servername: options.servername ?? (net.isIP(options.host ?? '') ? '' : options.host),
          })
        : net.connect({
            ...options,
            path: options.socketPath,
          } as import('node:net').NetConnectOpts);
      // Before the connect and after it: a connect that tries several addresses (IPv6, then IPv4) ends on a new
      // handle, referenced again.
      connection.unref();
      connection.once('connect', () => connection.unref());
      return connection;
    };
    const settings: import('ws').ClientOptions & { closeTimeout: number } = {
      headers: { ...headers },
      maxPayload: MAX_MESSAGE_BYTES,
      perMessageDeflate: false,
      followRedirects: false,
      handshakeTimeout: handshakeMs,
      // A close the server starts is answered, and the socket then waits at most this long for the TCP close (ws
      // 8.21; its types do not know it yet).
      closeTimeout: 1_000,
      createConnection: connect as unknown as typeof net.createConnection,
    };
    const socket = new WebSocket(url, settings);
    return socket as unknown as Socket;
  }
  const Native = (globalThis as { WebSocket?: new (url: string) => Socket }).WebSocket;
  if (!Native) throw new Error('no WebSocket in this runtime');
  return new Native(url);
}

type RpcMessage = { id?: unknown; method?: unknown; params?: unknown; error?: unknown };

const utf8 = new TextDecoder();

function parse(data: unknown): RpcMessage | undefined {
  const text =
    typeof data === 'string'
      ? data
      : data instanceof Uint8Array || data instanceof ArrayBuffer
        ? utf8.decode(data)
        : undefined;
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as RpcMessage)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The block a notification tells of, or undefined for one that is not a block; txids that are not txids are left out. */
function minedBlock(params: unknown): MinedBlock | undefined {
  if (typeof params !== 'object' || params === null) return undefined;
  const { height, hash, txs } = params as { height?: unknown; hash?: unknown; txs?: unknown };
  if (!Number.isSafeInteger(height) || typeof hash !== 'string' || !Array.isArray(txs)) {
    return undefined;
  }
  const txids: string[] = [];
  for (const tx of txs) {
    const match = typeof tx === 'string' ? TXID.exec(tx) : null;
    if (match) txids.push(match[1]!.toLowerCase());
  }
  return { height: height as number, hash, txids };
}

function unref<T>(timer: T): T {
  (timer as { unref?: () => void }).unref?.();
  return timer;
}
