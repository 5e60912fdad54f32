/** `x402-stacks keygen`: a usable key and its address; --key-file writes it privately and never prints it. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { privateKeyToAccount } from 'x402-stacks';
import { run } from '../src/cli.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

describe('x402-stacks keygen', () => {
  const dir = mkdtempSync(join(tmpdir(), 'x402-keygen-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('prints a fresh testnet key whose address it also prints; two runs differ', async () => {
    const keys: string[] = [];
    for (let i = 0; i < 2; i++) {
      const { io, out } = capture();
      assert.equal(await run(['keygen'], io), 0);
      const text = out.join('\n');
      const key = /Private key\s+([0-9a-f]{66})/.exec(text)?.[1];
      const address = /Address\s+(\S+)/.exec(text)?.[1];
      assert.ok(key && address, text);
      assert.equal(privateKeyToAccount(key, 'testnet').address, address);
      assert.match(address, /^ST/);
      keys.push(key);
    }
    assert.notEqual(keys[0], keys[1]);
  });

  test('--network mainnet --json gives an SP address and the key as JSON', async () => {
    const { io, out } = capture();
    assert.equal(await run(['keygen', '--network', 'mainnet', '--json'], io), 0);
    const printed = JSON.parse(out.join('')) as Record<string, string>;
    assert.equal(printed.network, 'mainnet');
    assert.equal(privateKeyToAccount(printed.privateKey!, 'mainnet').address, printed.address);
    assert.match(printed.address!, /^SP/);
  });

  test('--key-file writes the key with mode 600, prints only the address, and never overwrites', async () => {
    const file = join(dir, 'buyer.key');
    const first = capture();
    assert.equal(await run(['keygen', '--key-file', file], first.io), 0);
    const key = readFileSync(file, 'utf8').trim();
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const text = first.out.join('\n');
    assert.ok(!text.includes(key), 'the key is not printed');
    assert.ok(text.includes(privateKeyToAccount(key, 'testnet').address));
    const second = capture();
    assert.equal(await run(['keygen', '--key-file', file], second.io), 1);
    assert.match(second.err.join('\n'), /already exists/);
    assert.equal(readFileSync(file, 'utf8').trim(), key, 'the first key survives');
  });

  test('usage errors exit 2: an unknown network, a stray argument, an unknown flag', async () => {
    for (const args of [['--network', 'devnet'], ['extra'], ['--bogus']]) {
      const { io, err } = capture();
      assert.equal(await run(['keygen', ...args], io), 2, args.join(' '));
      assert.match(err.join('\n'), /keygen --help/);
    }
    const help = capture();
    assert.equal(await run(['keygen', '--help'], help.io), 0);
    assert.match(help.out.join('\n'), /--key-file/);
    const top = capture();
    assert.equal(await run(['--help'], top.io), 0);
    for (const command of ['keygen', 'balance', 'pay']) {
      assert.match(top.out.join('\n'), new RegExp(`\\n  ${command}\\s+\\S`));
    }
  });
});
