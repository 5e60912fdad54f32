/** Shared measurement helpers for the benchmarks: fixed-duration rate loops and a table printer. */

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
