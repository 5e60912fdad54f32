/**
 * `openFacilitator`: the engine as the service configures it, on the configured ledger, with nothing started. It
 * answers as the service's engine does (the batch scheme among its kinds, a named refusal for a malformed payment),
 * takes no keeper lease on the ledger, and leaves the file to another process once closed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startDevnet } from '@x402-stacks/devnet';
import Database from 'better-sqlite3';
import { loadConfig, openFacilitator, startFacilitatorService } from '../src/index.js';

test('the engine from a config answers like the service, with no keeper and no lease taken', {
  timeout: 60_000,
}, async () => {
  const devnet = await startDevnet({ port: 0, accounts: 2 });
  const dir = mkdtempSync(join(tmpdir(), 'x402-open-facilitator-'));
  const path = join(dir, 'ledger.db');
  const config = loadConfig({
    PORT: '0',
    STACKS_API_URL_TESTNET: devnet.url,
    DATABASE_URL: `sqlite:${path}`,
    BATCH_ESCROW_TESTNET: 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow',
    BATCH_AUTHORIZER_KEY: devnet.accounts[1]!.privateKey,
    LOG_LEVEL: 'silent',
  });
  try {
    const { facilitator, close } = await openFacilitator(config);
    const kinds = facilitator.supported().kinds.map((kind) => `${kind.scheme} ${kind.network}`);
    assert.ok(kinds.includes('batch-settlement stacks:2147483648'), kinds.join(', '));
    const answer = await facilitator.verify({ x402Version: 2 }, { scheme: 'exact' });
    assert.equal(answer.isValid, false);
    assert.match(answer.invalidReason ?? '', /^[a-z0-9_]+$/);
    // Nothing ran on the ledger: no keeper took a lease.
    const reader = new Database(path, { readonly: true });
    const leases = () =>
      Number((reader.prepare('select count(*) as n from x402_leases').get() as { n: number }).n);
    assert.equal(leases(), 0);
    await close();
    // Closed, the file serves the service, whose keeper does take its leases: the count above could have failed.
    const service = await startFacilitatorService(config);
    for (let waited = 0; leases() === 0 && waited < 5_000; waited += 50)
      await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(leases() > 0, 'the service took no lease');
    await service.stop();
    reader.close();
  } finally {
    await devnet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
