/**
 * `x402-stacks signer` in its own process, over its Unix socket, against the buyer test stack: an agent process
 * (`x402-stacks pay --signer-socket`) pays without ever holding the key; the signer refuses, by its own policy on the
 * decoded transaction, a payment to another recipient, above its maximum, past its budget, or whose sighash is not
 * the one of the transaction shown (a caller that lies); the socket is 0600 in a 0700 directory; one log line per
 * signature, never the key.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { StacksAccount } from 'x402-stacks';
import {
  type Signer,
  SignerError,
  type SignTransactionRequest,
  socketSigner,
} from 'x402-stacks/client';
import { createPaymentTransaction } from 'x402-stacks/stacks';
import { requirement, type Stack, startStack } from '../../../e2e/clients/client-stack.js';

const MAIN = new URL('../src/main.ts', import.meta.url).pathname;
const OTHER = 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG';

type SignerProcess = { child: ChildProcess; socket: string; lines: string[]; stderr: () => string };

async function startSignerProcess(args: string[], socket: string): Promise<SignerProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', MAIN, 'signer', '--socket', socket, ...args],
    {
      env: { PATH: process.env.PATH },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: string[] = [];
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    lines.push(...chunk.split('\n').filter(Boolean));
  });
  await new Promise<void>((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk;
      if (err.includes('Signing for')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`signer exited ${code}: ${err}`)));
  });
  return { child, socket, lines, stderr: () => err };
}

/** The unsigned transaction and sighash the payer would send a signer, for `requirements`. */
async function requestFor(
  signer: Signer,
  requirements: ReturnType<typeof requirement>,
  nonce = 0n,
): Promise<SignTransactionRequest> {
  let captured: SignTransactionRequest | undefined;
  const capturing: Signer = {
    ...signer,
    async signTransaction(request) {
      captured = request;
      throw new Error('captured');
    },
  };
  await createPaymentTransaction({ account: capturing, requirements, nonce, fee: 2_000n }).catch(
    () => {},
  );
  return captured!;
}

describe('x402-stacks signer', () => {
  let stack: Stack;
  let buyer: StacksAccount;
  let signerProcess: SignerProcess;
  const dir = mkdtempSync(join(tmpdir(), 'x402-signer-'));
  before(async () => {
    stack = await startStack();
    buyer = stack.buyer();
    const keyFile = join(dir, 'buyer.key');
    writeFileSync(keyFile, `${buyer.privateKey}\n`, { mode: 0o600 });
    signerProcess = await startSignerProcess(
      [
        '--key-file',
        keyFile,
        '--allow-pay-to',
        stack.payTo,
        '--max-amount',
        '0.002STX',
        '--budget',
        // Amounts and unsponsored fees count: 1000 + 2000 per signature below.
        '0.012STX',
      ],
      join(dir, 'run', 'signer.sock'),
    );
  });
  after(async () => {
    signerProcess.child.kill('SIGTERM');
    await once(signerProcess.child, 'exit');
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the socket is 0600 in a directory of 0700', () => {
    assert.equal(statSync(signerProcess.socket).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'run')).mode & 0o777, 0o700);
  });

  test('an agent process pays through --signer-socket without the key; one log line per signature, no key', async () => {
    const sellerBefore = stack.stx(stack.payTo);
    const env = { PATH: process.env.PATH };
    const agent = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        MAIN,
        'pay',
        `${stack.middlewareUrl}/stx`,
        '--signer-socket',
        signerProcess.socket,
        '--api-url',
        stack.devnet.url,
        '--json=summary',
      ],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    agent.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    const [code] = await once(agent, 'exit');
    assert.equal(code, 0, out);
    assert.equal(JSON.parse(out.trim().split('\n').at(-1)!).ok, true);
    assert.equal(stack.stx(stack.payTo), sellerBefore + 1000n);
    // Neither the agent's arguments nor its environment held the key.
    assert.ok(!JSON.stringify([agent.spawnargs, env]).includes(buyer.privateKey.slice(0, 64)));
    const signed = signerProcess.lines
      .map((line) => JSON.parse(line))
      .filter((entry) => entry.event === 'signed');
    assert.equal(signed.length, 1);
    assert.equal(signed[0].payTo, stack.payTo);
    assert.equal(signed[0].amount, '1000');
    assert.ok(!signerProcess.lines.join('\n').includes(buyer.privateKey.slice(0, 64)));
  });

  test('refuses, on the decoded transaction, another recipient, too much, and a sighash of another transaction', async () => {
    const signer = await socketSigner(signerProcess.socket);
    assert.equal(signer.address, buyer.address);
    const refusal = async (request: SignTransactionRequest) => {
      try {
        await signer.signTransaction(request);
        return 'signed';
      } catch (error) {
        assert.ok(error instanceof SignerError);
        return error.signerReason;
      }
    };
    const good = await requestFor(signer, requirement({ payTo: stack.payTo, amount: '1000' }), 50n);
    const elsewhere = await requestFor(signer, requirement({ payTo: OTHER, amount: '1000' }), 50n);
    const tooMuch = await requestFor(
      signer,
      requirement({ payTo: stack.payTo, amount: '2001' }),
      50n,
    );
    assert.equal(await refusal(elsewhere), 'pay_to_not_allowed');
    assert.equal(await refusal(tooMuch), 'payment_over_max_amount');
    // The caller shows the allowed payment and asks for the signature of the one to another recipient.
    assert.equal(await refusal({ ...good, sighash: elsewhere.sighash }), 'sighash_mismatch');
    assert.equal(await refusal({ ...good, address: OTHER }), 'origin_mismatch');
    assert.equal(await refusal({ ...good, transaction: '00ff' }), 'malformed_transaction');
    // The signer logs each refusal as it answers; its last line may still be on its way through the pipe.
    const refusedReasons = () =>
      signerProcess.lines
        .map((line) => JSON.parse(line))
        .filter((entry) => entry.event === 'refused')
        .map((entry) => entry.reason);
    for (
      let tries = 0;
      tries < 100 && refusedReasons().at(-1) !== 'malformed_transaction';
      tries++
    ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const reasons = refusedReasons();
    assert.deepEqual(reasons.slice(-5), [
      'pay_to_not_allowed',
      'payment_over_max_amount',
      'sighash_mismatch',
      'origin_mismatch',
      'malformed_transaction',
    ]);
  });

  test('counts every signature against its own budget and refuses past it (payment_over_budget)', async () => {
    const signer = await socketSigner(signerProcess.socket);
    // One payment (1000 and its fee) was signed for the agent already; the budget is 12,000 with the fees.
    const outcomes: string[] = [];
    for (let nonce = 60n; nonce < 65n; nonce++) {
      const request = await requestFor(
        signer,
        requirement({ payTo: stack.payTo, amount: '1000' }),
        nonce,
      );
      outcomes.push(
        await signer.signTransaction(request).then(
          () => 'signed',
          (error: SignerError) => error.signerReason ?? error.reason,
        ),
      );
    }
    assert.deepEqual(outcomes, [
      'signed',
      'signed',
      'signed',
      'payment_over_budget',
      'payment_over_budget',
    ]);
  });

  test('refuses to start in a directory others can enter, and when a signer already listens there', async () => {
    const open = join(dir, 'open');
    mkdirSync(open, { mode: 0o755 });
    chmodSync(open, 0o755);
    const keyFile = join(dir, 'buyer.key');
    for (const [socket, expected] of [
      [join(open, 's.sock'), /can be entered by other users/],
      [signerProcess.socket, /a signer already listens/],
    ] as const) {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', MAIN, 'signer', '--key-file', keyFile, '--socket', socket],
        {
          env: { PATH: process.env.PATH },
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let err = '';
      child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
        err += chunk;
      });
      const [code] = await once(child, 'exit');
      assert.equal(code, 2);
      assert.match(err, expected);
    }
  });

  test('a request that is not one is refused with invalid_request, and the signer goes on', async () => {
    const socket = createConnection({ path: signerProcess.socket });
    socket.setEncoding('utf8');
    socket.write('{"op":"sign","transaction":"00"}\n');
    let answer = '';
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    await once(socket, 'close');
    assert.equal(JSON.parse(answer).reason, 'invalid_request');
    assert.equal((await socketSigner(signerProcess.socket)).address, buyer.address);
  });

  test('an agent whose signer is gone gets signer_unavailable', async () => {
    await assert.rejects(
      socketSigner(join(dir, 'nothing.sock')),
      (error: SignerError) => error.reason === 'signer_unavailable',
    );
  });
});
