/** Shared measurement helpers for the benchmarks: fixed-duration rate loops and a table printer. */
import { readFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { staleBuild } from '@x402-stacks/test-kit/built';

export type Measurement = { name: string; opsPerSecond: number; iterations: number };

/**
 * Runs `fn` for about `seconds` after a short warm-up and returns its rate. Async functions are awaited one at a time,
 * so the rate is a single caller's throughput.
 */
export async function measure(
  name: string,
  fn: () => unknown,
  seconds: number,
): Promise<Measurement> {
  const warmUntil = performance.now() + Math.min(300, seconds * 200);
  while (performance.now() < warmUntil) await fn();
  let iterations = 0;
  const start = performance.now();
  const stop = start + seconds * 1000;
  let now = start;
  while (now < stop) {
    // Check the clock every 16 calls: performance.now() is not free next to a 50 µs operation.
    for (let i = 0; i < 16; i++) await fn();
    iterations += 16;
    now = performance.now();
  }
  const measurement = { name, opsPerSecond: iterations / ((now - start) / 1000), iterations };
  process.stderr.write(`  measured ${name}: ${formatRate(measurement.opsPerSecond)}/s\n`);
  return measurement;
}

export function formatRate(rate: number): string {
  // A rate below 10 keeps a decimal: a block-bound baseline at 0.2/s must not print as 0.
  if (rate < 10) return rate.toFixed(rate < 1 ? 2 : 1);
  return Math.round(rate).toLocaleString('en-US');
}

/** Prints rows as a Markdown table, so the output pastes into notes unchanged. */
export function printTable(headers: string[], rows: (string | number)[][]): void {
  const cells = [headers, ...rows.map((row) => row.map(String))];
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => row[column]!.length)));
  const line = (row: string[]) =>
    `| ${row.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  console.log(line(headers));
  console.log(`| ${widths.map((width) => '-'.repeat(width)).join(' | ')} |`);
  for (const row of cells.slice(1)) console.log(line(row));
}

/** Peak resident memory of this process so far, in MiB. */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** Reads `--name value` from argv, with a default. */
export function flag(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] ? process.argv[index + 1]! : fallback;
}

export type LoadResult = {
  readonly requests: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
};

/**
 * Keeps `concurrency` calls of `request` in flight until `seconds` pass or `total` calls were made, whichever comes
 * first, and reports throughput and latency percentiles. `request(i)` gets a unique index, so a caller can hand
 * out one-use inputs (a payment can be settled once).
 */
export async function load(options: {
  concurrency: number;
  seconds: number;
  total?: number;
  request: (index: number) => Promise<unknown>;
}): Promise<LoadResult> {
  const total = options.total ?? Number.POSITIVE_INFINITY;
  const latencies: number[] = [];
  const start = performance.now();
  const stop = start + options.seconds * 1000;
  let next = 0;
  const worker = async () => {
    while (next < total && performance.now() < stop) {
      const index = next++;
      const began = performance.now();
      await options.request(index);
      latencies.push(performance.now() - began);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    requests: latencies.length,
    perSecond: latencies.length / elapsed,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
  };
}

/** Peak resident memory of another process (Linux `VmHWM`), in MiB. */
export function peakRssOfMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  return kib ? Number(kib) / 1024 : Number.NaN;
}

export type HttpAnswer = { readonly status: number; readonly text: string };

/**
 * A keep-alive HTTP/1.1 client for load generation. Node's `fetch` spends several times the CPU per request that
 * `http.request` does, and on a 2-core machine the load generator's CPU is taken from the server being measured.
 */
export function keepAliveClient(connections: number): {
  get(url: string, headers?: Record<string, string>): Promise<HttpAnswer>;
  post(url: string, body: string, headers?: Record<string, string>): Promise<HttpAnswer>;
} {
  // Idle sockets are dropped here after 4 s, before Node's server closes them at its 5 s keep-alive timeout: a request
  // sent on a socket the server is closing meets ECONNRESET, and a row that leaves some connections idle for a while
  // (fewer workers than the row before) would fail on that race.
  const agent = new Agent({ keepAlive: true, maxSockets: connections, timeout: 4_000 });
  const send = (url: string, method: string, headers: Record<string, string>, body?: string) =>
    new Promise<HttpAnswer>((resolve, reject) => {
      const req = httpRequest(url, { agent, method, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  return {
    get: (url, headers = {}) => send(url, 'GET', headers),
    post: (url, body, headers = {}) =>
      send(url, 'POST', { 'content-type': 'application/json', ...headers }, body),
  };
}

/**
 * Refuses to measure a built file that is missing or older than the sources it is built from, so a bench never
 * reports on code other than the working tree's. Paths are relative to `root`.
 */
export function requireBuilt(root: string, built: Record<string, readonly string[]>): void {
  for (const [file, sources] of Object.entries(built)) {
    const stale = staleBuild(root, file, sources);
    if (stale === 'missing') throw new Error(`${file} is missing: run \`npm run build\` first`);
    if (stale) throw new Error(`${file} is older than ${stale}/: run \`npm run build\` first`);
  }
}
