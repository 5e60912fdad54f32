/**
 * The files `x402-stacks pay` reads: the key file only when its owner alone can read it (unless
 * --allow-insecure-key-file), and key and `--data @file` only from regular files under a size cap. `/dev/zero`, a
 * FIFO and a directory are refused at once, with the path and the problem, never the key. No network is needed: a
 * refused file stops the command before any request.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { generateKeypair } from 'x402-stacks';
import { closedPortUrl } from '../../../e2e/clients/client-stack.js';
import { runPay } from '../src/pay.js';
import { capture } from './capture.js';

// Nothing listens there: a command that got past its files fails on the request, with exit 1, not 2.
const URL = `${await closedPortUrl()}/paid`;

describe('x402-stacks pay: key and data files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'x402-pay-files-'));
  const key = generateKeypair('testnet').privateKey;
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  mkdirSync(join(dir, 'folder'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  function file(name: string, content: string, mode: number): string {
    const path = join(dir, name);
    writeFileSync(path, content, { mode });
    chmodSync(path, mode); // the umask may have taken bits off
    return path;
  }

  async function refused(args: string[], env: Record<string, string>, message: RegExp) {
    const out = capture();
    assert.equal(await runPay([URL, ...args], out.io, env), 2, args.join(' '));
    assert.match(out.stderr(), message);
    assert.ok(!out.stderr().includes(key) && !out.stdout().includes(key), 'the key is never shown');
    return out;
  }

  test('a key file readable or writable by others is refused with its mode, unless --allow-insecure-key-file', async () => {
    for (const mode of [0o644, 0o640, 0o604, 0o620, 0o660]) {
      const loose = file(`loose-${mode.toString(8)}`, `${key}\n`, mode);
      await refused(
        ['--key-file', loose],
        {},
        new RegExp(
          `--key-file ${loose}: is readable or writable by other users \\(mode ${mode.toString(8)}\\); chmod 600 it, or pass --allow-insecure-key-file`,
        ),
      );
    }
    // Told so explicitly, the key is used: the command gets as far as the request (nobody listens: exit 1).
    const loose = file('loose-ok', `${key}\n`, 0o644);
    const out = capture();
    assert.equal(
      await runPay([URL, '--key-file', loose, '--allow-insecure-key-file'], out.io, {}),
      1,
    );
    assert.match(out.stderr(), /paying from ST\w+/);
    assert.match(out.stderr(), /fetch failed \(ECONNREFUSED\) \(request_failed\)/);
    // 600 and 400 are fine without the flag.
    for (const mode of [0o600, 0o400]) {
      const tight = file(`tight-${mode.toString(8)}`, `${key}\n`, mode);
      const ok = capture();
      assert.equal(await runPay([URL, '--key-file', tight], ok.io, {}), 1, ok.stderr());
    }
  });

  test('/dev/zero, a FIFO, a directory and an oversized file are refused at once as the key file', async () => {
    await refused(
      ['--key-file', '/dev/zero'],
      {},
      /--key-file \/dev\/zero: is a character device, not a regular file/,
    );
    // A FIFO with no writer: opening it must not wait for one (the test would hang here).
    await refused(
      ['--key-file', fifo],
      {},
      /--key-file \S+fifo: is a FIFO \(named pipe\), not a regular file/,
    );
    await refused(
      ['--key-file', join(dir, 'folder')],
      {},
      /--key-file \S+folder: is a directory, not a regular file/,
    );
    const big = file('big.key', `${key}\n${' '.repeat(5000)}`, 0o600);
    await refused(
      ['--key-file', big],
      {},
      /--key-file \S+big\.key: is 5067 bytes, above the limit of 4096/,
    );
  });

  test('--data @file: /dev/zero, a FIFO, a directory and an oversized file are refused at once; a file is read', async () => {
    const env = { STACKS_PRIVATE_KEY: key };
    await refused(
      ['--data', '@/dev/zero'],
      env,
      /--data \/dev\/zero: is a character device, not a regular file/,
    );
    await refused(
      ['--data', `@${fifo}`],
      env,
      /--data \S+fifo: is a FIFO \(named pipe\), not a regular file/,
    );
    await refused(['--data', `@${join(dir, 'folder')}`], env, /--data \S+folder: is a directory/);
    await refused(
      ['--data', `@${join(dir, 'none')}`],
      env,
      /--data \S+none: cannot open it \(ENOENT\)/,
    );
    const big = join(dir, 'big.json');
    writeFileSync(big, Buffer.alloc(10 * 1024 * 1024 + 1, 0x20));
    await refused(
      ['--data', `@${big}`],
      env,
      /--data \S+big\.json: is 10485761 bytes, above the limit of 10485760/,
    );
    // A regular file within the cap is read: the command goes on to the request.
    const small = file('small.json', '{"q":1}', 0o644);
    const out = capture();
    assert.equal(await runPay([URL, '--data', `@${small}`], out.io, env), 1);
    assert.match(out.stderr(), /^POST /);
  });

  test('with --json a refused file still ends in one JSON result with its reason', async () => {
    const out = await refused(['--key-file', '/dev/zero', '--json'], {}, /is a character device/);
    assert.deepEqual(JSON.parse(out.stdout()), {
      step: 'result',
      ok: false,
      exitCode: 2,
      reason: 'input_file_not_regular',
    });
    const loose = file('loose-json', `${key}\n`, 0o644);
    const insecure = await refused(['--key-file', loose, '--json=summary'], {}, /other users/);
    assert.equal(JSON.parse(insecure.stdout()).reason, 'key_file_insecure');
  });
});
