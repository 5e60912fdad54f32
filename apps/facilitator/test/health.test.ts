/**
 * `/health` from the shared chain probe: a burst of calls costs at most one chain read per refresh interval, and a
 * node that stops answering turns `/health` into 503 within the documented bound (2 × the interval).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createFacilitator } from 'x402-stacks';
import { createFacilitatorApp } from '../src/app.js';

const REFRESH_MS = 200;
const INFO = {
  network_id: 2147483648,
  stacks_tip_height: 120,
  burn_block_height: 4021,
  server_version: 'stacks-node test',
};

/** A node that answers /v2/info (counted) or, once told to, accepts requests and never answers them. */
let node: Server;
let nodeUrl: string;
let infoReads: number;
let silent: boolean;

before(async () => {
  node = createServer((req, res) => {
    if (req.url !== '/v2/info') {
      res.writeHead(404).end();
      return;
    }
    infoReads++;
    if (silent) return;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(INFO));
  });
  await new Promise<void>((resolve) => node.listen(0, '127.0.0.1', resolve));
  nodeUrl = `http://127.0.0.1:${(node.address() as AddressInfo).port}`;
});
after(async () => {
  node.closeAllConnections();
  await new Promise((resolve) => node.close(resolve));
});
beforeEach(() => {
  infoReads = 0;
  silent = false;
});

function app(healthRefreshMs = REFRESH_MS) {
  const facilitator = createFacilitator({ networks: { testnet: { url: nodeUrl } } });
  return createFacilitatorApp({ facilitator, healthRefreshMs });
}

describe('/health from a cached chain probe', () => {
  test('a burst of /health calls makes at most one chain read per refresh interval', async () => {
    // A probe not answered within the interval counts the node unreachable (503): on a busy CI machine the node here,
    // in this very process, once took longer than 200 ms. A longer interval leaves the healthy node room to answer.
    const refreshMs = 1_000;
    const facilitatorApp = app(refreshMs);
    const started = Date.now();
    let calls = 0;
    // Three intervals at least, and 200 calls at least however slow the machine: the bound below counts the intervals
    // that actually passed.
    while (Date.now() - started < 3 * refreshMs || calls < 200) {
      const burst = await Promise.all(
        Array.from({ length: 20 }, () => facilitatorApp.request('/health')),
      );
      calls += burst.length;
      for (const response of burst) assert.equal(response.status, 200);
      await sleep(10);
    }
    // A probe starts only once the previous one is an interval old.
    const intervals = Math.floor((Date.now() - started) / refreshMs) + 1;
    assert.ok(
      infoReads >= 1 && infoReads <= intervals,
      `${infoReads} reads in ${intervals} intervals`,
    );
  });

  test('the first call waits for a probe, so a fresh facilitator reports the tip at once', async () => {
    const response = await app().request('/health');
    assert.equal(response.status, 200);
    const body = (await response.json()) as {
      networks: { reachable: boolean; tipHeight: number }[];
    };
    assert.deepEqual(body.networks[0], {
      network: 'stacks:2147483648',
      reachable: true,
      tipHeight: 120,
    });
    assert.equal(infoReads, 1);
  });

  test('error: a node that stops answering makes /health 503 within 2 × the refresh interval', async () => {
    const facilitatorApp = app();
    assert.equal((await facilitatorApp.request('/health')).status, 200);
    silent = true;
    const stopped = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - stopped < 10 * REFRESH_MS) {
      status = (await facilitatorApp.request('/health')).status;
      if (status === 200) await sleep(10);
    }
    const elapsed = Date.now() - stopped;
    assert.equal(status, 503);
    // The bound, plus scheduling slack on a busy machine.
    assert.ok(elapsed <= 2 * REFRESH_MS + 150, `503 after ${elapsed} ms`);
  });

  test('error: a node that never answers gets a 503 on the first call, within one refresh interval', async () => {
    silent = true;
    const started = Date.now();
    const response = await app().request('/health');
    const elapsed = Date.now() - started;
    assert.equal(response.status, 503);
    const body = (await response.json()) as { networks: { reachable: boolean; error: string }[] };
    assert.equal(body.networks[0]?.reachable, false);
    assert.match(body.networks[0]?.error ?? '', /did not answer within 200 ms/);
    assert.ok(elapsed <= REFRESH_MS + 150, `503 after ${elapsed} ms`);
  });
});
