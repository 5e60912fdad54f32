/**
 * `x402-stacks pay` against the buyer test stack (devnet, the real facilitator over HTTP, a seller): the offer,
 * the chosen requirement, signing, settling, confirmation, the body and the explorer link; the limits; the key
 * only from a file or the environment, and never printed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { requirement, type Stack, startStack } from '../../../e2e/clients/client-stack.js';
import { runPay } from '../src/pay.js';
import { capture } from './capture.js';

describe('x402-stacks pay', () => {
  let stack: Stack;
  const dir = mkdtempSync(join(tmpdir(), 'x402-pay-'));
  before(async () => {
    stack = await startStack();
    stack.route('/stx', { accepts: [requirement({ payTo: stack.payTo, amount: '2500' })] });
    stack.route('/sbtc', {
      accepts: [
        requirement({
          payTo: stack.payTo,
          amount: '120',
          asset: 'sBTC',
          extra: { sponsor: stack.sponsor },
        }),
      ],
    });
  });
  after(async () => {
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function keyFile(key: string): string {
    const file = join(dir, `key-${Math.random().toString(36).slice(2)}`);
    writeFileSync(file, `${key}\n`, { mode: 0o600 });
    return file;
  }

  test('pays from --key-file: the offer, the choice, signing, settling, confirmation, body and explorer link', async () => {
    const buyer = stack.buyer();
    const out = capture();
    const sellerBefore = stack.stx(stack.payTo);
    const code = await runPay(
      [
        `${stack.sellerUrl}/stx`,
        '--key-file',
        keyFile(buyer.privateKey),
        '--api-url',
        stack.devnet.url,
      ],
      out.io,
      {},
    );
    assert.equal(code, 0, out.stderr());
    assert.deepEqual(JSON.parse(out.stdout()), { data: 'premium', path: '/stx' });
    const progress = out.stderr();
    for (const step of [
      /402 Payment Required \(x402 v2\), 1 offer\(s\) from http:\/\/127\.0\.0\.1:\d+/,
      /1\. 0\.0025 STX \(2500 atomic\) to ST\w+ on stacks:2147483648 \(exact\)/,
      /Paying http:\/\/127\.0\.0\.1:\d+\/? for 0\.0025 STX \(2500 atomic\) to ST\w+/,
      /you pay the network fee/,
      /Signed: txid [0-9a-f]{64}/,
      /Settling: GET .* with payment-signature \(redirects not followed\)/,
      /Confirmed: [0-9a-f]{64} success in block \d+/,
      /Paid 0\.0025 STX to ST\w+ \(fee 0\.0003 STX\) at http:\/\/127\.0\.0\.1:\d+/,
      /HTTP 200/,
      // A devnet is on this machine: the link has the explorer read it.
      /Explorer: https:\/\/explorer\.hiro\.so\/txid\/0x[0-9a-f]{64}\?chain=testnet&api=http%3A%2F%2F127\.0\.0\.1%3A\d+$/m,
    ]) {
      assert.match(progress, step);
    }
    assert.ok(!`${progress}${out.stdout()}`.includes(buyer.privateKey), 'the key is never printed');
    assert.equal(stack.stx(stack.payTo), sellerBefore + 2500n);
  });

  test('STACKS_PRIVATE_KEY works; a sponsored sBTC offer shows it and costs the buyer no STX', async () => {
    const buyer = stack.buyer();
    const out = capture();
    const stx = stack.stx(buyer.address);
    const code = await runPay([`${stack.sellerUrl}/sbtc`], out.io, {
      STACKS_PRIVATE_KEY: buyer.privateKey,
      STACKS_API_URL: stack.devnet.url,
    });
    assert.equal(code, 0, out.stderr());
    assert.match(out.stderr(), /0\.0000012 sBTC \(120 atomic\).*sponsored/);
    assert.match(out.stderr(), /the facilitator pays the fee/);
    assert.equal(stack.stx(buyer.address), stx);
  });

  test('--max-amount below the price refuses with the limit, exit 1, nothing paid; --dry-run signs nothing', async () => {
    const buyer = stack.buyer();
    const env = { STACKS_PRIVATE_KEY: buyer.privateKey, STACKS_API_URL: stack.devnet.url };
    const paidBefore = stack.hits('/stx').paid;
    const refused = capture();
    assert.equal(
      await runPay([`${stack.sellerUrl}/stx`, '--max-amount', '0.002STX'], refused.io, env),
      1,
    );
    assert.match(
      refused.stderr(),
      /0\.0025 STX is above maxAmount 0\.002 STX \(payment_over_max_amount\)/,
    );
    const sbtcOnly = capture();
    assert.equal(
      await runPay([`${stack.sellerUrl}/stx`, '--max-amount', '1 sBTC'], sbtcOnly.io, env),
      1,
    );
    assert.match(sbtcOnly.stderr(), /asset_not_allowed/);
    const dry = capture();
    assert.equal(await runPay([`${stack.sellerUrl}/stx`, '--dry-run'], dry.io, env), 0);
    assert.match(
      dry.stderr(),
      /Dry run: would pay http:\/\/127\.0\.0\.1:\d+\/? for 0\.0025 STX \(2500 atomic\) to ST\w+ .*nothing signed or sent/,
    );
    assert.equal(stack.hits('/stx').paid, paidBefore);
    assert.equal(stack.devnet.chain.nonces(buyer.address).possibleNext, 0n);
  });

  test('an answer that is not 402 is shown as is: 404 exits 1 without paying', async () => {
    const buyer = stack.buyer();
    const out = capture();
    const env = { STACKS_PRIVATE_KEY: buyer.privateKey, STACKS_API_URL: stack.devnet.url };
    assert.equal(await runPay([`${stack.sellerUrl}/nothing-here`], out.io, env), 1);
    assert.match(out.stderr(), /HTTP 404/);
    assert.doesNotMatch(out.stderr(), /Signed/);
  });

  test('credentials in the URL travel as Basic auth and are never shown; a server cannot write terminal controls', async () => {
    let authorization: string | undefined;
    const server = createServer((request, response) => {
      authorization = request.headers.authorization;
      response.writeHead(402, { 'content-type': 'application/json' });
      // A hostile 402 whose offer tries to clear the screen and fake a line.
      response.end(
        JSON.stringify({
          x402Version: 2,
          resource: { url: 'http://127.0.0.1/' },
          accepts: [{ ...requirement({ payTo: stack.payTo }), asset: '\u001b[2J\rPaid 0 STX' }],
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const out = capture();
      const env = {
        STACKS_PRIVATE_KEY: stack.buyer().privateKey,
        STACKS_API_URL: stack.devnet.url,
      };
      const url = `http://alice:s3cr3t@127.0.0.1:${port}/paid?api_key=TOPSECRET`;
      assert.equal(await runPay([url], out.io, env), 1);
      assert.equal(authorization, `Basic ${Buffer.from('alice:s3cr3t').toString('base64')}`);
      const shown = out.stderr() + out.stdout();
      assert.ok(!shown.includes('s3cr3t') && !shown.includes('TOPSECRET'), shown);
      assert.match(shown, /127\.0\.0\.1/, 'the URL is still shown, redacted');
      assert.ok(
        !shown.includes('\u001b') && !shown.includes('\r'),
        'no terminal controls reach the screen',
      );
    } finally {
      server.close();
    }
  });

  test('usage errors exit 2 and never echo a key: no key, a bad key file, a bad flag', async () => {
    const url = `${stack.sellerUrl}/stx`;
    const cases: [string[], Record<string, string>, RegExp][] = [
      [[url], {}, /no key: give --key-file/],
      [[], { STACKS_PRIVATE_KEY: stack.buyer().privateKey }, /a URL is required/],
      [['ftp://x'], { STACKS_PRIVATE_KEY: stack.buyer().privateKey }, /not an http\(s\) URL/],
      [[url, '--max-amount', '5'], {}, /not an amount and an asset/],
      [[url, '--header', 'no colon'], {}, /is not 'Name: value'/],
      [
        [url, '--key-file', join(dir, 'missing')],
        {},
        /--key-file \S+missing: cannot open it \(ENOENT\)/,
      ],
      [[url, '--key-file', keyFile('deadbeefcafe-not-a-key')], {}, /is not usable/],
      [[url, '--network', 'devnet'], {}, /testnet or mainnet/],
      [[url, '--json=yaml'], {}, /--json must be/],
    ];
    for (const [args, env, message] of cases) {
      const out = capture();
      assert.equal(await runPay(args, out.io, env), 2, args.join(' '));
      assert.match(out.stderr(), message);
      assert.doesNotMatch(out.stderr(), /deadbeefcafe/);
    }
  });
});
