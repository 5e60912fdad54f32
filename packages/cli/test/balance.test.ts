/** `x402-stacks balance`: a devnet account's STX, sBTC and USDCx in whole and atomic units, over HTTP. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import { run } from '../src/cli.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

describe('x402-stacks balance', () => {
  let devnet: Devnet;
  before(async () => {
    devnet = await startDevnet({ port: 0, accounts: 2 });
    devnet.chain.fund(devnet.accounts[1]!.address, { stx: 1n, sBTC: 5n });
  });
  after(() => devnet.stop());

  test('shows each asset in whole units and atomic units, the network from the prefix, the next nonce', async () => {
    const { io, out } = capture();
    const address = devnet.accounts[1]!.address;
    assert.equal(await run(['balance', address, '--api-url', devnet.url], io), 0);
    const text = out.join('\n');
    assert.match(text, new RegExp(`Address\\s+${address} \\(testnet\\)`));
    assert.match(text, /STX\s+100000\.000001\s+\(100000000001 micro-STX\)/);
    assert.match(text, /sBTC\s+1\.00000005\s+\(100000005 sats\)/);
    assert.match(text, /USDCx\s+10000\s+\(10000000000 micro-USDCx\)/);
    assert.match(text, /Next nonce\s+0/);
  });

  test('--json gives atomic strings; STACKS_API_URL is the default API', async () => {
    const previous = process.env.STACKS_API_URL;
    process.env.STACKS_API_URL = devnet.url;
    try {
      const { io, out } = capture();
      assert.equal(await run(['balance', devnet.accounts[0]!.address, '--json'], io), 0);
      const printed = JSON.parse(out.join('')) as { balances: Record<string, string> };
      assert.deepEqual(printed.balances, {
        STX: '100000000000',
        sBTC: '100000000',
        USDCx: '10000000000',
      });
    } finally {
      if (previous === undefined) delete process.env.STACKS_API_URL;
      else process.env.STACKS_API_URL = previous;
    }
  });

  test('a bad address or no address exits 2; an unreachable API exits 1 with the credentials redacted', async () => {
    for (const args of [[], ['ST-not-an-address'], ['a', 'b']]) {
      const { io } = capture();
      assert.equal(await run(['balance', ...args], io), 2, args.join(' '));
    }
    const { io, err } = capture();
    const url = 'http://user:s3cret@127.0.0.1:1';
    assert.equal(await run(['balance', devnet.accounts[0]!.address, '--api-url', url], io), 1);
    const text = err.join('\n');
    assert.match(text, /chain_unreachable/);
    assert.ok(!text.includes('s3cret'), text);
  });
});
