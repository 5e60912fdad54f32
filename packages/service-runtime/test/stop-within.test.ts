import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runFixture } from './run-fixture.js';

const fixture = fileURLToPath(new URL('./fixtures/stopping.ts', import.meta.url));

/** Runs the fixture with `how`; resolves with its exit code and its output. */
const stopping = (how: string) => runFixture(fixture, [how]);

test('a stop that ends: exit 0 with the stopped line, without waiting for the deadline', async () => {
  const { code, out, err } = await stopping('stops');
  assert.equal(code, 0);
  assert.equal(out, 'SIGTERM: stopped\n');
  assert.equal(err, '');
});

test('a stop that fails: exit 1, naming its error by code only, never by a message that may hold a secret', async () => {
  const { code, out, err } = await stopping('fails');
  assert.equal(code, 1);
  assert.equal(out, '');
  assert.equal(err, 'SIGTERM: stop failed (ECONNRESET)\n');
});

test('a stop that never ends: exit 1 at the deadline, with a line that says so and what is left behind', async () => {
  const { code, err } = await stopping('hangs');
  assert.equal(code, 1);
  assert.equal(err, 'SIGTERM: still stopping after 0.3 s; exiting (what it held is kept)\n');
});

test('a stop that ends but leaves a handle open: the process still ends at the deadline, with the stop’s code', async () => {
  const started = performance.now();
  const { code, out, err } = await stopping('lingers');
  assert.equal(code, 0);
  assert.equal(out, 'SIGTERM: stopped\n');
  assert.equal(err, '', 'no deadline line for a stop that ended');
  assert.ok(performance.now() - started < 30_000, 'not held by its 60 s handle');
});

test('a stop that ends but leaves a handle open, in a process that set a code of its own: the deadline exits with that code', async () => {
  const { code, out } = await stopping('lingers-interrupted');
  assert.equal(code, 130);
  assert.equal(out, 'SIGTERM: stopped\n');
});

for (const [first, second] of [
  ['SIGINT', 'SIGTERM'],
  ['SIGINT', 'SIGINT'],
  ['SIGTERM', 'SIGTERM'],
] as const) {
  test(`an entry point: ${first} then ${second} during the stop makes one stop, and the process exits 0 once it ends`, async () => {
    const signalled = fileURLToPath(new URL('./fixtures/signalled.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', signalled]);
    let out = '';
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('ready\n')) resolve();
      });
    });
    const ended = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.once('close', (code, signal) => resolve([code, signal])),
    );
    child.kill(first);
    await new Promise((resolve) => setTimeout(resolve, 50));
    child.kill(second);
    assert.deepEqual(await ended, [0, null], 'a second signal neither kills nor stops it again');
    assert.equal(out, `ready\n${first}: stopping\nstops: 1\n${first}: stopped\n`);
    assert.equal(err, '');
  });
}
