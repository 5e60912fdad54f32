/**
 * Every long-running command listens for SIGINT and SIGTERM before it prints the line that says it is ready. A
 * supervisor or a test signals as soon as it reads that line, and a signal that comes before its handler is set kills
 * the process outright: no graceful stop, no saved state, an exit by signal (it did, under load, for the registry).
 * Each command here is sent SIGTERM at the very moment it writes its ready line, and must stop as on any SIGTERM.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import { stopAtReadyLine } from '@x402-stacks/test-kit';

const BIN = fileURLToPath(new URL('../bin/x402-stacks.js', import.meta.url));
const main = (app: string) =>
  fileURLToPath(new URL(`../../../apps/${app}/src/main.ts`, import.meta.url));

describe('the ready line comes after the signal handlers', { timeout: 120_000 }, () => {
  let devnet: Devnet;
  let dir: string;
  let keyFile: string;
  before(async () => {
    devnet = await startDevnet({ port: 0 });
    dir = mkdtempSync(join(tmpdir(), 'x402-ready-signals-'));
    keyFile = join(dir, 'key');
    writeFileSync(keyFile, `${devnet.accounts[0]!.privateKey}\n`, { mode: 0o600 });
  });
  after(async () => {
    await devnet.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Each command, how to start it, and the line its stop prints. */
  const cases: [string, () => [string[], RegExp, Record<string, string>], RegExp][] = [
    [
      'node apps/facilitator/dist/main.js (its sources)',
      () => [
        ['--import', 'tsx', main('facilitator')],
        /on http:\/\//,
        {
          PORT: '0',
          STACKS_API_URL_TESTNET: devnet.url,
          DATABASE_URL: `sqlite:${join(dir, 'facilitator.db')}`,
        },
      ],
      /SIGTERM: stopping \(settlements under way/,
    ],
    [
      'node apps/registry/dist/main.js (its sources)',
      () => [
        ['--import', 'tsx', main('registry')],
        /on http:\/\//,
        { PORT: '0', DATABASE_URL: `sqlite:${join(dir, 'registry.db')}`, LOG_LEVEL: 'silent' },
      ],
      /SIGTERM: stopping/,
    ],
    [
      'x402-stacks facilitator',
      () => [
        [BIN, 'facilitator', '--port', '0'],
        /on http:\/\//,
        {
          STACKS_API_URL_TESTNET: devnet.url,
          DATABASE_URL: `sqlite:${join(dir, 'cli-facilitator.db')}`,
        },
      ],
      /SIGTERM: stopped; unfinished settlements/,
    ],
    [
      'x402-stacks registry',
      () => [
        [BIN, 'registry', '--port', '0'],
        /on http:\/\//,
        { DATABASE_URL: `sqlite:${join(dir, 'cli-registry.db')}`, LOG_LEVEL: 'silent' },
      ],
      /SIGTERM: stopped/,
    ],
    [
      'x402-stacks devnet',
      () => [[BIN, 'devnet', '--port', '0'], /http:\/\/127\.0\.0\.1:\d+/, {}],
      /SIGTERM: devnet stopped/,
    ],
    [
      'x402-stacks signer',
      () => [
        [BIN, 'signer', '--key-file', keyFile, '--socket', join(dir, 'signer.sock')],
        /Signing for/,
        {},
      ],
      /Signer stopped\./,
    ],
    [
      'x402-stacks mcp --transport http',
      () => [
        [
          BIN,
          'mcp',
          `--key-file=${keyFile}`,
          `--api-url=${devnet.url}`,
          '--transport=http',
          '--port=0',
        ],
        /serving .* at http:\/\//,
        {},
      ],
      /SIGTERM: stopped/,
    ],
    [
      'x402-stacks mcp (stdio)',
      () => [[BIN, 'mcp', `--key-file=${keyFile}`, `--api-url=${devnet.url}`], /over stdio/, {}],
      /SIGTERM: stopped/,
    ],
  ];
  for (const [name, made, stoppedLine] of cases) {
    test(name, async () => {
      const [args, ready, env] = made();
      const ended = await stopAtReadyLine(args, ready, env);
      assert.deepEqual(
        { signalled: ended.signalled, code: ended.code, signal: ended.signal },
        { signalled: true, code: 0, signal: null },
        ended.output,
      );
      assert.match(ended.output, stoppedLine);
    });
  }
});
