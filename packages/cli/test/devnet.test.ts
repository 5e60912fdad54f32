import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseDevnetArgs } from '../src/devnet.js';
import { UsageError } from '../src/io.js';

const BIN = fileURLToPath(new URL('../bin/x402-stacks.js', import.meta.url));
const DEPLOYER = 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM';
const DEPLOYER_KEY = '753b7cc01a1a2e86221266a154af739463fce51219d97e4f856cd7200c3bd2a601';
const FRESH = 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5';
const u128Hex = (value: bigint) => `0x${value.toString(16).padStart(32, '0')}`;

type Finished = {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
};

/** Runs the real command through its bin launcher, as `npx x402-stacks` does. */
function cli(args: string[]): {
  child: ChildProcess;
  output: () => string;
  done: Promise<Finished>;
} {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const done = new Promise<Finished>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, output: () => stdout, done };
}

/** Waits for the printed URL; port 0 must print the port actually bound. */
async function urlOf(run: ReturnType<typeof cli>): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const match = /URL\s+(http:\/\/127\.0\.0\.1:(\d+))/.exec(run.output());
    if (match && run.output().includes('Press Ctrl-C')) {
      assert.notEqual(match[2], '0');
      return match[1]!;
    }
    if (run.child.exitCode !== null) {
      const finished = await run.done;
      assert.fail(`the devnet exited early (${finished.code}): ${finished.stderr}`);
    }
    if (Date.now() > deadline) assert.fail(`no URL printed: ${run.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('x402-stacks devnet: flags', () => {
  test('defaults: port 3999, 127.0.0.1, a block every 2000 ms, no state file, 10 accounts', () => {
    assert.deepEqual(parseDevnetArgs([]), {
      port: 3999,
      host: '127.0.0.1',
      mining: { mode: 'interval', intervalMs: 2000 },
      statePath: undefined,
      accounts: 10,
      help: false,
    });
  });

  test('--block-time 0 mines on every broadcast, --manual by hand, --port=0 is allowed', () => {
    assert.deepEqual(parseDevnetArgs(['--block-time', '0']).mining, { mode: 'on-broadcast' });
    assert.deepEqual(parseDevnetArgs(['--block-time=500']).mining, {
      mode: 'interval',
      intervalMs: 500,
    });
    assert.deepEqual(parseDevnetArgs(['--manual']).mining, { mode: 'manual' });
    assert.equal(parseDevnetArgs(['--port=0']).port, 0);
    assert.equal(parseDevnetArgs(['--accounts', '3']).accounts, 3);
  });

  test('bad values are usage errors with the flag named', () => {
    const cases: [string[], RegExp][] = [
      [['--port', '70000'], /--port must be an integer from 0 to 65535/],
      [['--port', 'abc'], /--port/],
      [['--port', '1.5'], /--port/],
      [['--block-time=-1'], /--block-time .*negative/],
      [['--block-time', '-1'], /--block-time/],
      [['--block-time', '5'], /0 \(a block per broadcast\) or at least 10 ms/],
      [['--manual', '--block-time', '0'], /cannot be combined/],
      [['--accounts', '0'], /--accounts must be an integer from 1/],
      [['--state', '/no/such/directory/state.json'], /does not exist/],
      [['--bogus'], /Unknown option '--bogus'/],
      [['extra'], /Unexpected argument 'extra'/],
      [['--port'], /argument missing/],
    ];
    for (const [args, message] of cases) {
      assert.throws(
        () => parseDevnetArgs(args),
        (error: unknown) => {
          assert.ok(error instanceof UsageError, `${args.join(' ')}: ${String(error)}`);
          assert.match(error.message, message, args.join(' '));
          return true;
        },
      );
    }
  });
});

describe('x402-stacks command line', () => {
  test('--help lists every command, none of them a placeholder', async () => {
    const { code, stdout } = await cli(['--help']).done;
    assert.equal(code, 0);
    assert.match(stdout, /Usage: x402-stacks <command>/);
    assert.match(stdout, /devnet\s+Start a local Stacks chain/);
    for (const name of ['keygen', 'balance', 'pay', 'devnet', 'facilitator', 'registry', 'demo'])
      assert.match(stdout, new RegExp(`\\n  ${name}\\s+\\S`), name);
    assert.doesNotMatch(stdout, /[Cc]oming soon/);
  });

  test('devnet --help shows every flag with its default', async () => {
    const { code, stdout } = await cli(['devnet', '--help']).done;
    assert.equal(code, 0);
    for (const flag of ['--port', '--host', '--block-time', '--manual', '--state', '--accounts']) {
      assert.match(stdout, new RegExp(flag));
    }
    assert.match(stdout, /default 3999/);
    assert.match(stdout, /default 2000/);
  });

  test('usage errors exit 2 with a clear message: bad flag, bad value, unknown command', async () => {
    const [bogus, port, negative, command, none] = await Promise.all([
      cli(['devnet', '--bogus']).done,
      cli(['devnet', '--port', 'http']).done,
      cli(['devnet', '--block-time=-100']).done,
      cli(['frobnicate']).done,
      cli([]).done,
    ]);
    assert.equal(bogus.code, 2);
    assert.match(bogus.stderr, /Unknown option '--bogus'[\s\S]*x402-stacks devnet --help/);
    assert.equal(port.code, 2);
    assert.match(port.stderr, /--port must be an integer/);
    assert.equal(negative.code, 2);
    assert.match(negative.stderr, /--block-time .*negative/);
    assert.equal(command.code, 2);
    assert.match(command.stderr, /unknown command 'frobnicate'/);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /Usage: x402-stacks <command>/);
    for (const run of [bogus, port, negative, command]) assert.equal(run.stdout, '');
  });
});

describe('x402-stacks devnet: a running devnet', () => {
  const dir = mkdtempSync(join(tmpdir(), 'x402-cli-'));
  const statePath = join(dir, 'devnet-state.json');
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('serves the node routes on the printed port, stops on SIGINT with exit 0 and saves the state', async () => {
    const run = cli(['devnet', '--port', '0', '--block-time', '0', '--state', statePath]);
    const url = await urlOf(run);
    const banner = run.output();
    assert.match(banner, /a block right after every accepted broadcast/);
    assert.match(
      banner,
      new RegExp(`deployer\\s+${DEPLOYER}\\s+${DEPLOYER_KEY}\\s+100000\\s+1\\n`),
    );
    assert.match(banner, /never use them on a real network/);
    for (const route of ['/devnet/mine', '/devnet/faucet', '/devnet/faults', '/devnet/stall']) {
      assert.ok(banner.includes(route), route);
    }
    assert.match(banner, /NETWORK=testnet/);

    const info = (await (await fetch(`${url}/v2/info`)).json()) as Record<string, unknown>;
    assert.equal(info.network_id, 2147483648);
    const funded = await fetch(`${url}/devnet/faucet`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ address: FRESH, stx: '123' }),
    });
    assert.equal(funded.status, 200);

    run.child.kill('SIGINT');
    const finished = await run.done;
    assert.equal(finished.code, 0, finished.stderr);
    const tail = finished.stdout.slice(finished.stdout.indexOf('Press Ctrl-C to stop.'));
    assert.match(
      tail,
      /^Press Ctrl-C to stop\.\nSIGINT: devnet stopped at block \d+; state saved to /,
    );
    assert.equal(tail.trimEnd().split('\n').length, 2, 'one line on stop');
    assert.ok(existsSync(statePath));
    const saved = JSON.parse(readFileSync(statePath, 'utf8')) as { version: number };
    assert.equal(saved.version, 1);
  });

  test('a second start loads the state file: the faucet balance is still there; SIGTERM stops it too', async () => {
    const run = cli(['devnet', '--port=0', '--manual', '--state', statePath]);
    const url = await urlOf(run);
    assert.match(run.output(), /\(loaded at block \d+; saved on exit\)/);
    assert.match(run.output(), /manual: only on POST \/devnet\/mine/);
    const account = (await (await fetch(`${url}/v2/accounts/${FRESH}`)).json()) as {
      balance: string;
    };
    assert.equal(account.balance, u128Hex(123n));

    run.child.kill('SIGTERM');
    const finished = await run.done;
    assert.equal(finished.code, 0, finished.stderr);
    assert.match(finished.stdout, /SIGTERM: devnet stopped/);
  });

  test('a taken port is a clear runtime error, exit 1', async () => {
    const first = cli(['devnet', '--port', '0', '--block-time', '0']);
    const url = await urlOf(first);
    const port = new URL(url).port;
    const second = await cli(['devnet', '--port', port]).done;
    assert.equal(second.code, 1);
    assert.match(second.stderr, /could not start: .*EADDRINUSE.*try --port 0/);
    first.child.kill('SIGINT');
    assert.equal((await first.done).code, 0);
  });
});
