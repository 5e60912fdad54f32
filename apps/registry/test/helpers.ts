/** Shared test doubles: a clock that moves only when told, a fetcher that answers from a script, temp databases. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock, Fetcher, ProbeResponse } from '../src/index.js';
import { openRegistryStore } from '../src/index.js';
import type { Answer } from './fixtures.js';

/** A clock that only moves when `advance` is called. */
export function fakeClock(start = Date.UTC(2026, 0, 1)): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    advance: (ms) => {
      now += ms;
    },
  };
}

/** A fetcher answering each URL with whatever `answers` holds for it now; a thrown error stands for no answer. */
export function scriptedFetcher(
  answers: Map<string, Answer | Error>,
): Fetcher & { calls: string[] } {
  const calls: string[] = [];
  const fetcher = async ({
    url,
    method,
  }: {
    url: string;
    method: string;
  }): Promise<ProbeResponse> => {
    calls.push(`${method} ${url}`);
    const answer = answers.get(url);
    if (answer instanceof Error) throw answer;
    if (!answer)
      return { url, status: 404, headers: {}, body: Buffer.from('not found'), latencyMs: 1 };
    return {
      url,
      status: answer.status ?? 200,
      headers: answer.headers ?? {},
      body: Buffer.from(answer.body ?? ''),
      latencyMs: 12,
    };
  };
  return Object.assign(fetcher, { calls });
}

/** A SQLite store in a fresh temp directory, removed by `close`. */
export async function tempSqliteStore() {
  const dir = mkdtempSync(join(tmpdir(), 'x402-registry-'));
  const opened = await openRegistryStore({ kind: 'sqlite', path: join(dir, 'registry.db') });
  return {
    ...opened,
    dir,
    async close() {
      await opened.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh schema name for one test file. */
export function freshSchema(): string {
  return `registry_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
}
