/**
 * A buyer channel store in a directory: one JSON file per channel, so every process that opens the same directory
 * sees the same channels and a write touches one record only. A record is written to a fresh temporary file, fsynced
 * and renamed over the old one, so a reader sees the old record or the new one, never a torn one; a write the disk
 * takes only in part fails the call and leaves the old record as it was.
 *
 * Two processes updating the same channel at once keep the last write. That costs no money: the facilitator holds the
 * authoritative charged total, and a buyer whose record fell behind is corrected by the next corrective 402.
 *
 * Node only, reached through `builtin()`: the library stays free of node imports for browsers.
 * @module
 */
import { sha256 } from '@noble/hashes/sha2';
import { ChannelConfigSchema, DepositPayloadSchema } from '../../batch/wire.js';
import { builtin } from '../../stacks/builtin.js';
import { toHex } from '../../stacks/bytes.js';
import {
  type BuyerChannelRecord,
  type ChannelKey,
  type ChannelStore,
  channelKeyString,
} from './channel-store.js';
import { BatchClientError } from './errors.js';

type Fs = typeof import('node:fs');

/**
 * Opens (creating on first use, mode 0700) the channel directory at `directory`. Node only.
 * @throws {BatchClientError} `channel_store_unavailable` outside node or when the directory cannot be created.
 * @example
 * ```ts
 * import { createFileChannelStore } from 'x402-stacks/batch';
 * const store = createFileChannelStore('/var/lib/agent/channels');
 * const fetchWithPayment = wrapFetchWithPayment(fetch, account, { batch: { depositCap: { STX: 1_000_000n }, store } });
 * ```
 */
export function createFileChannelStore(directory: string): ChannelStore {
  const fs = builtin<Fs>('node:fs');
  if (!fs) {
    throw new BatchClientError(
      'channel_store_unavailable',
      'a file channel store needs node (node:fs); use createMemoryChannelStore in a browser',
    );
  }
  if (typeof directory !== 'string' || directory === '') {
    throw new BatchClientError('channel_store_unavailable', 'the channel directory is empty');
  }
  const unavailable = (what: string, cause: unknown) =>
    new BatchClientError(
      'channel_store_unavailable',
      `the channel store ${directory} cannot be ${what}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`,
      { cause },
    );
  try {
    fs.mkdirSync(directory, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw unavailable('created', error);
  }
  const fileOf = (key: ChannelKey) =>
    `${directory}/${toHex(sha256(new TextEncoder().encode(channelKeyString(key))))}.json`;
  let counter = 0;

  const read = (path: string): BuyerChannelRecord | undefined => {
    let text: string;
    try {
      text = fs.readFileSync(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw unavailable('read', error);
    }
    const record = parseRecord(text);
    if (!record) {
      throw new BatchClientError(
        'channel_store_corrupt',
        `the channel record ${path} is not a batch-settlement channel`,
      );
    }
    return record;
  };

  const write = (path: string, record: BuyerChannelRecord) => {
    const temporary = `${path}.${++counter}.${Math.random().toString(36).slice(2, 10)}.tmp`;
    const bytes = new TextEncoder().encode(`${JSON.stringify(serialize(record))}\n`);
    let fd: number;
    try {
      fd = fs.openSync(temporary, 'wx', 0o600);
    } catch (error) {
      throw unavailable('written', error);
    }
    try {
      // A short write (a full disk, a file-size limit) must fail the call: the old record stays in place.
      let written = 0;
      while (written < bytes.length) {
        const wrote = fs.writeSync(fd, bytes, written, bytes.length - written);
        if (wrote <= 0) throw new Error(`wrote ${written} of ${bytes.length} bytes`);
        written += wrote;
      }
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      fs.renameSync(temporary, path);
    } catch (error) {
      try {
        fs.closeSync(fd);
      } catch {}
      fs.rmSync(temporary, { force: true });
      throw unavailable('written', error);
    }
  };

  return {
    async get(key) {
      return read(fileOf(key));
    },
    async list() {
      let names: string[];
      try {
        names = fs.readdirSync(directory);
      } catch (error) {
        throw unavailable('listed', error);
      }
      return names
        .filter((name) => /^[0-9a-f]{64}\.json$/.test(name))
        .flatMap((name) => read(`${directory}/${name}`) ?? []);
    },
    async update(key, change) {
      // Read, change and write with no await in between: updates in this process never interleave.
      const path = fileOf(key);
      const current = read(path);
      const next = change(current);
      if (next === undefined) return current;
      write(path, next);
      return next;
    },
  };
}

type StoredRecord = {
  network: string;
  escrow: string;
  channelId: string;
  config: unknown;
  deposited: string;
  charged: string;
  signedMax: string;
  pendingDeposit?: { payload: unknown; txid: string } | undefined;
  updatedAt: number;
};

function serialize(record: BuyerChannelRecord): StoredRecord {
  return {
    network: record.network,
    escrow: record.escrow,
    channelId: record.channelId,
    config: record.config,
    deposited: record.deposited.toString(),
    charged: record.charged.toString(),
    signedMax: record.signedMax.toString(),
    ...(record.pendingDeposit ? { pendingDeposit: record.pendingDeposit } : {}),
    updatedAt: record.updatedAt,
  };
}

const AMOUNT = /^(0|[1-9][0-9]*)$/;

function parseRecord(text: string): BuyerChannelRecord | undefined {
  let value: StoredRecord;
  try {
    value = JSON.parse(text) as StoredRecord;
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { network, escrow, channelId, deposited, charged, signedMax, updatedAt } = value;
  const strings = [network, escrow, channelId];
  if (strings.some((field) => typeof field !== 'string')) return undefined;
  if (
    ![deposited, charged, signedMax].every(
      (field) => typeof field === 'string' && AMOUNT.test(field),
    )
  )
    return undefined;
  if (typeof updatedAt !== 'number') return undefined;
  const config = ChannelConfigSchema.safeParse(value.config);
  if (!config.success) return undefined;
  let pendingDeposit: BuyerChannelRecord['pendingDeposit'];
  if (value.pendingDeposit !== undefined) {
    const payload = DepositPayloadSchema.safeParse(value.pendingDeposit?.payload);
    if (!payload.success || typeof value.pendingDeposit.txid !== 'string') return undefined;
    pendingDeposit = { payload: payload.data, txid: value.pendingDeposit.txid };
  }
  return {
    network,
    escrow,
    channelId,
    config: config.data,
    deposited: BigInt(deposited),
    charged: BigInt(charged),
    signedMax: BigInt(signedMax),
    ...(pendingDeposit ? { pendingDeposit } : {}),
    updatedAt,
  };
}
