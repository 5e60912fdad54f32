/**
 * Request bodies read off Node's HTTP server (src/body.ts): read whole however they are chunked, refused past the size
 * limit whether or not Content-Length says so (413), refused when not JSON (400), over real sockets.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { serve } from '@hono/node-server';
import { createFacilitator } from 'x402-stacks';
import { createFacilitatorApp } from '../src/app.js';

let server: ReturnType<typeof serve>;
let port: number;

before(async () => {
  // The node is never asked: every body here is refused before any chain read.
  const facilitator = createFacilitator({ networks: { testnet: { url: 'http://127.0.0.1:9' } } });
  const app = createFacilitatorApp({ facilitator, maxBodyBytes: 1024 });
  server = await new Promise((resolve) => {
    const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(started),
    );
  });
  port = (server.address() as AddressInfo).port;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** POSTs the chunks one by one (chunked encoding unless `length` is given) and reads the answer. */
function post(
  path: string,
  chunks: readonly string[],
  length?: number,
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(length === undefined ? {} : { 'content-length': length }),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    void (async () => {
      for (const chunk of chunks) {
        req.write(chunk);
        await new Promise((r) => setTimeout(r, 5));
      }
      req.end();
    })();
  });
}

const verifyBody = JSON.stringify({
  x402Version: 2,
  paymentPayload: {
    x402Version: 2,
    accepted: {
      scheme: 'exact',
      network: 'stacks:2147483648',
      amount: '1000',
      asset: 'STX',
      payTo: 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5',
      maxTimeoutSeconds: 300,
    },
    payload: { transaction: '00' },
  },
  paymentRequirements: {
    scheme: 'exact',
    network: 'stacks:2147483648',
    amount: '1000',
    asset: 'STX',
    payTo: 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5',
    maxTimeoutSeconds: 300,
  },
});

test('a body in several chunks is read whole and reaches the engine', async () => {
  const third = Math.ceil(verifyBody.length / 3);
  const answer = await post('/verify', [
    verifyBody.slice(0, third),
    verifyBody.slice(third, 2 * third),
    verifyBody.slice(2 * third),
  ]);
  assert.equal(answer.status, 200);
  assert.equal(answer.body.isValid, false);
  // The engine judged the transaction: the body itself was whole and of the schema.
  assert.equal(
    answer.body.invalidReason,
    'invalid_exact_stacks_payload_transaction_could_not_be_decoded',
  );
});

test('past the limit a body is refused with 413, with or without Content-Length, and the server goes on', async () => {
  const big = `{"x":"${'a'.repeat(2048)}"}`;
  const declared = await post('/verify', [big], Buffer.byteLength(big));
  assert.equal(declared.status, 413);
  assert.equal(declared.body.error, 'body_too_large');
  const chunked = await post('/settle', [big.slice(0, 600), big.slice(600, 1200), big.slice(1200)]);
  assert.equal(chunked.status, 413);
  assert.equal(chunked.body.error, 'body_too_large');
  assert.equal((await post('/verify', [verifyBody])).status, 200);
});

test('a body that is not JSON, or not the schema, is a 400', async () => {
  const notJson = await post('/verify', ['{"x402Version": 2,']);
  assert.equal(notJson.status, 400);
  assert.equal(notJson.body.error, 'invalid_json');
  const notSchema = await post('/verify', ['{"x402Version": 2}']);
  assert.equal(notSchema.status, 400);
  assert.equal(notSchema.body.error, 'invalid_request');
});
