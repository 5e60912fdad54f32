/**
 * Starting and stopping a devnet on 127.0.0.1: the chain, its HTTP facade, the mining mode and the state file.
 * @module
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { attachBlockEvents, type BlockEvents } from './block-events.js';
import { type Block, DevnetChain, type DevnetChainOptions } from './chain.js';
import type { DevnetAccount } from './genesis.js';
import { createDevnetApp } from './http.js';

/**
 * How blocks are produced.
 * @example
 * ```ts
 * const devnet = await startDevnet({ mining: { mode: 'manual' } });
 * ```
 */
export type MiningMode =
  /** One block right after every accepted broadcast: the test default. */
  | { mode: 'on-broadcast' }
  /** A block every `intervalMs` (the demo default is 2,000 ms). */
  | { mode: 'interval'; intervalMs: number }
  /** Only when asked: `mine()` or `POST /devnet/mine`. */
  | { mode: 'manual' };

/**
 * How a devnet starts: the chain's own options, plus where it listens, how it mines and the file its state is kept in.
 * Every field is optional; the defaults give a test devnet on a free local port.
 * @example
 * ```ts
 * const options: StartDevnetOptions = { port: 3999, mining: { mode: 'interval', intervalMs: 2_000 } };
 * const devnet = await startDevnet({ ...options, statePath: './devnet-state.json' });
 * ```
 */
export type StartDevnetOptions = DevnetChainOptions & {
  /** Default 0: any free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default on-broadcast. */
  mining?: MiningMode;
  /** A JSON file: loaded at start when it exists, written on stop, so a restarted devnet keeps its state. */
  statePath?: string;
};

/**
 * A running devnet: its URL, accounts and chain, and the controls a test needs over mining and shutdown.
 * @example
 * ```ts
 * const devnet: Devnet = await startDevnet();
 * devnet.mine(2);
 * await devnet.stop();
 * ```
 */
export type Devnet = {
  /** Base URL for ChainClient, `@stacks/transactions` clients and Hiro-style calls. */
  readonly url: string;
  readonly port: number;
  readonly accounts: readonly DevnetAccount[];
  readonly chain: DevnetChain;
  /** How blocks are produced now. */
  readonly mining: MiningMode;
  /**
   * The extended API's WebSocket channel at `/extended/v1/ws` (JSON-RPC 2.0, the `block` event): how many
   * connections are subscribed, and a way to end them all at once, as a restarting API would.
   */
  readonly blockEvents: Pick<BlockEvents, 'subscribers' | 'dropConnections'>;
  /**
   * Changes how blocks are produced from now on, the chain kept: a benchmark compares the same services at two block
   * times, a test stops mining on broadcast to hold transactions pending. An interval starts counting now.
   * @example
   * ```ts
   * devnet.setMining({ mode: 'interval', intervalMs: 5_000 });
   * ```
   */
  setMining(mining: MiningMode): void;
  /** Mines `count` blocks now, whatever the mode. */
  mine(count?: number): Block[];
  /** Stops serving and mining, and saves the state file when one is configured. */
  stop(): Promise<void>;
};

/**
 * Starts a devnet.
 * @example
 * ```ts
 * import { startDevnet } from '@x402-stacks/devnet';
 * const devnet = await startDevnet({ port: 0 });
 * const client = createChainClient({ network: 'testnet', url: devnet.url });
 * await devnet.stop();
 * ```
 */
export async function startDevnet(options: StartDevnetOptions = {}): Promise<Devnet> {
  let mining = checkedMining(options.mining ?? { mode: 'on-broadcast' });
  const chain = loadChain(options);
  const app = createDevnetApp(chain, {
    afterBroadcast: () => {
      if (mining.mode === 'on-broadcast') chain.mineBlock();
    },
  });
  const host = options.host ?? '127.0.0.1';
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const started = serve({ fetch: app.fetch, port: options.port ?? 0, hostname: host }, () =>
      resolve(started),
    );
    started.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const blockEvents = attachBlockEvents(server as Server, chain);
  let timer: NodeJS.Timeout | undefined;
  const startTimer = () => {
    if (mining.mode !== 'interval') return;
    timer = setInterval(() => chain.mineBlock(), mining.intervalMs);
    timer.unref();
  };
  startTimer();

  let stopped = false;
  return {
    url: `http://${host}:${port}`,
    port,
    accounts: chain.accounts,
    chain,
    get mining() {
      return mining;
    },
    setMining(next) {
      mining = checkedMining(next);
      clearInterval(timer);
      timer = undefined;
      if (!stopped) startTimer();
    },
    blockEvents,
    mine: (count = 1) => chain.mine(count),
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      // Upgraded connections count as open ones: the server would not close while a subscriber stays.
      blockEvents.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (options.statePath) saveState(options.statePath, chain);
    },
  };
}

function checkedMining(mining: MiningMode): MiningMode {
  if (mining.mode === 'interval' && !(mining.intervalMs >= 10)) {
    throw new Error('interval mining needs intervalMs of at least 10');
  }
  return mining;
}

function loadChain(options: StartDevnetOptions): DevnetChain {
  const path = options.statePath;
  if (!path || !existsSync(path)) return new DevnetChain(options);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new Error(`devnet state file ${path} is not valid JSON`, { cause });
  }
  return DevnetChain.fromJSON(json as Parameters<typeof DevnetChain.fromJSON>[0], options);
}

function saveState(path: string, chain: DevnetChain): void {
  // Write then rename, so a crash mid-write never leaves a truncated state file behind.
  const temporary = `${path}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(chain.toJSON(), null, 2)}\n`);
  renameSync(temporary, path);
}
