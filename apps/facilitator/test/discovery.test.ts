/**
 * The bazaar discovery catalog of the facilitator service, on SQLite and on PostgreSQL: a declaration is recorded
 * only after a real settle on the devnet succeeded, served by `GET /discovery/resources`, bounded per declaration,
 * per payTo and in total (also when two processes race on one PostgreSQL), refreshed on repeat, and pruned by the
 * keeper once stale.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import { testPostgresUrl } from '@x402-stacks/test-kit';
import { sql } from 'kysely';
import { createFacilitator, type Facilitator } from 'x402-stacks';
import {
  type DiscoveryEntry,
  type DiscoveryListResponse,
  declareBazaar,
  discoveryEntryOf,
} from 'x402-stacks/extensions';
import type { DiscoveryCatalog, DiscoveryRefusal } from 'x402-stacks/facilitator';
import { createPaymentTransaction } from 'x402-stacks/stacks';
import { createFacilitatorApp } from '../src/app.js';
import { SqlDiscoveryCatalog } from '../src/ledger/discovery-catalog.js';
import { openPostgresLedger } from '../src/ledger/postgres.js';
import { openSqliteLedger } from '../src/ledger/sqlite.js';

type Opened = Awaited<ReturnType<typeof openSqliteLedger>>;
type ListBody = DiscoveryListResponse & { error?: string };
const DAY = 86_400_000;
const weather = declareBazaar({
  method: 'GET',
  input: { example: { city: 'Paris' } },
  output: { example: { temperature: 21 } },
});

let devnet: Devnet;
let nonce = 0n;
before(async () => {
  devnet = await startDevnet({ port: 0 });
});
after(async () => {
  await devnet.stop();
});

const seller = () => devnet.accounts[1]!.address;
const requirementsFor = (amount = '5000') => ({
  scheme: 'exact',
  network: 'stacks:2147483648' as const,
  amount,
  asset: 'STX',
  payTo: seller(),
  maxTimeoutSeconds: 300,
});

async function payment(
  extensions: Record<string, unknown> | undefined,
  url: string,
  amount?: string,
) {
  const requirements = requirementsFor(amount);
  const { transaction } = await createPaymentTransaction({
    account: devnet.accounts[0]!.account,
    requirements,
    nonce: nonce++,
    fee: 400n,
  });
  return {
    payload: {
      x402Version: 2,
      resource: { url, description: 'Weather' },
      accepted: requirements,
      payload: { transaction },
      ...(extensions ? { extensions } : {}),
    },
    requirements,
  };
}

function entryFor(payTo: string, path: string): DiscoveryEntry {
  const found = discoveryEntryOf(
    { resource: { url: `https://api.example${path}` }, extensions: { bazaar: weather } },
    { ...requirementsFor(), payTo },
  );
  assert.equal(found.status, 'entry');
  return (found as { entry: DiscoveryEntry }).entry;
}

function backend(
  name: string,
  open: () => Promise<{ opened: Opened; dialect: 'sqlite' | 'postgres'; cleanup(): Promise<void> }>,
) {
  describe(`discovery catalog on ${name}`, () => {
    let opened: Opened;
    let dialect: 'sqlite' | 'postgres';
    let cleanup: () => Promise<void>;
    let facilitator: Facilitator;
    let clock = Date.now();
    const refusals: DiscoveryRefusal[] = [];
    const list = async (query = '') => {
      const app = createFacilitatorApp({ facilitator });
      const response = await app.request(`/discovery/resources${query}`);
      return { status: response.status, body: (await response.json()) as ListBody };
    };

    before(async () => {
      ({ opened, dialect, cleanup } = await open());
      facilitator = createFacilitator({
        networks: { testnet: { url: devnet.url } },
        ledger: opened.ledger,
        settleTimeoutMs: 5_000,
        pollIntervalMs: 10,
        now: () => clock,
        discovery: {
          catalog: new SqlDiscoveryCatalog(opened.db, dialect),
          maxDeclarationBytes: 4_096,
          maxPerPayTo: 3,
          ttlMs: 7 * DAY,
          onRefused: (refusal) => refusals.push(refusal),
        },
      });
    });
    after(async () => {
      await facilitator.idle();
      await cleanup();
    });

    test('/supported lists bazaar', () => {
      assert.deepEqual(facilitator.supported().extensions, ['bazaar']);
    });

    test('a settled payment lists its declaration; the list has the upstream shape', async () => {
      const { payload, requirements } = await payment(
        { bazaar: weather },
        'https://api.example/weather?city=Paris',
      );
      const settled = await facilitator.settle(payload, requirements);
      assert.equal(settled.success, true, JSON.stringify(settled));
      assert.deepEqual(refusals, []);
      const { status, body } = await list();
      assert.equal(status, 200);
      assert.equal(body.x402Version, 2);
      assert.deepEqual(body.pagination, { limit: 20, offset: 0, total: 1 });
      const item = body.items[0]!;
      assert.equal(item.resource, 'https://api.example/weather');
      assert.equal(item.type, 'http');
      assert.equal(item.description, 'Weather');
      assert.deepEqual(item.accepts, [requirements]);
      assert.deepEqual(item.extensions?.bazaar, weather);
      assert.equal(item.lastUpdated, new Date(clock).toISOString());
    });

    test('a repeat within the hour writes nothing', async () => {
      const before = (await list()).body.items[0]!.lastUpdated;
      clock += 1_000;
      const { payload, requirements } = await payment(
        { bazaar: weather },
        'https://api.example/weather',
      );
      assert.equal((await facilitator.settle(payload, requirements)).success, true);
      assert.equal((await list()).body.items[0]!.lastUpdated, before);
    });

    test('a repeat later refreshes the entry instead of adding one', async () => {
      clock += 2 * 3_600_000;
      const { payload, requirements } = await payment(
        { bazaar: weather },
        'https://api.example/weather',
      );
      assert.equal((await facilitator.settle(payload, requirements)).success, true);
      const { body } = await list();
      assert.equal(body.pagination.total, 1);
      assert.equal(body.items[0]!.lastUpdated, new Date(clock).toISOString());
    });
    test('a failed settle lists nothing: bazaar_payment_not_settled', async () => {
      refusals.length = 0;
      // Pays 5000 where 6000 is asked: refused before anything is broadcast.
      const { payload } = await payment({ bazaar: weather }, 'https://api.example/unpaid');
      const settled = await facilitator.settle(payload, requirementsFor('6000'));
      assert.equal(settled.success, false);
      assert.deepEqual(
        refusals.map((r) => r.reason),
        ['bazaar_payment_not_settled'],
      );
      assert.equal((await list()).body.pagination.total, 1);
      nonce--; // never broadcast: the nonce is still the payer's next
    });

    test('an oversized or malformed declaration is paid for but not listed, with its reason', async () => {
      refusals.length = 0;
      const big = declareBazaar({ input: { example: { blob: 'x'.repeat(5_000) } } });
      for (const extensions of [
        { bazaar: big },
        { bazaar: { info: { input: { type: 'ftp' } }, schema: {} } },
      ]) {
        const { payload, requirements } = await payment(extensions, 'https://api.example/big');
        assert.equal((await facilitator.settle(payload, requirements)).success, true);
      }
      assert.deepEqual(
        refusals.map((r) => r.reason),
        ['bazaar_declaration_too_large', 'bazaar_declaration_malformed'],
      );
      assert.equal((await list()).body.pagination.total, 1);
    });

    test('the per-payTo cap refuses a fourth resource: bazaar_payto_cap_reached', async () => {
      refusals.length = 0;
      for (const path of ['/b', '/c', '/d']) {
        const { payload, requirements } = await payment(
          { bazaar: weather },
          `https://api.example${path}`,
        );
        assert.equal((await facilitator.settle(payload, requirements)).success, true);
      }
      assert.deepEqual(
        refusals.map((r) => r.reason),
        ['bazaar_payto_cap_reached'],
      );
      assert.equal((await list()).body.pagination.total, 3);
    });

    test('filters and pages as the query asks; a bad query is 400 invalid_discovery_query', async () => {
      assert.equal((await list(`?payTo=${seller()}&limit=2`)).body.items.length, 2);
      assert.equal((await list('?offset=2')).body.items.length, 1);
      assert.equal((await list('?type=mcp')).body.pagination.total, 0);
      assert.equal((await list('?network=stacks:1')).body.pagination.total, 0);
      for (const query of ['?limit=0', '?limit=1000', '?offset=-1', '?type=ftp', '?bogus=1']) {
        const { status, body } = await list(query);
        assert.equal(status, 400, query);
        assert.equal(body.error, 'invalid_discovery_query');
      }
    });

    test('the total cap: bazaar_catalog_full', async () => {
      const catalog = new SqlDiscoveryCatalog(opened.db, dialect);
      const caps = { maxPerPayTo: 100, maxTotal: 4 };
      const other = devnet.accounts[2]!.address;
      assert.deepEqual(await catalog.record(entryFor(other, '/x'), 't', caps, clock), {
        recorded: true,
        refreshed: false,
      });
      assert.deepEqual(await catalog.record(entryFor(other, '/y'), 't', caps, clock), {
        recorded: false,
        reason: 'bazaar_catalog_full',
      });
      assert.deepEqual(await catalog.record(entryFor(other, '/x'), 't2', caps, clock), {
        recorded: true,
        refreshed: true,
      });
    });

    test('the keeper prunes entries no payment refreshed within the window', async () => {
      clock += 8 * DAY;
      await facilitator.keeper.runOnce();
      assert.equal((await list()).body.pagination.total, 0);
    });
  });
}

backend('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'x402-discovery-'));
  const opened = await openSqliteLedger({ path: join(dir, 'ledger.db') });
  return {
    opened,
    dialect: 'sqlite',
    cleanup: async () => {
      await opened.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

const connectionString = await testPostgresUrl();
const schema = `x402_discovery_test_${process.pid}_${Date.now()}`;

backend('PostgreSQL', async () => {
  const opened = await openPostgresLedger({ connectionString, schema });
  return {
    opened,
    dialect: 'postgres',
    cleanup: async () => {
      await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(opened.db);
      await opened.close();
    },
  };
});

test('two processes racing on one PostgreSQL keep the per-payTo cap', async () => {
  const raced = `${schema}_race`;
  const first = await openPostgresLedger({ connectionString, schema: raced });
  const second = await openPostgresLedger({ connectionString, schema: raced });
  try {
    const catalogs = [
      new SqlDiscoveryCatalog(first.db, 'postgres'),
      new SqlDiscoveryCatalog(second.db, 'postgres'),
    ];
    const caps = { maxPerPayTo: 5, maxTotal: 1_000 };
    const payTo = 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG';
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        catalogs[i % 2]!.record(entryFor(payTo, `/r${i}`), 't', caps, i),
      ),
    );
    assert.equal(outcomes.filter((o) => o.recorded).length, 5);
    assert.ok(
      outcomes
        .filter((o) => !o.recorded)
        .every((o) => !o.recorded && o.reason === 'bazaar_payto_cap_reached'),
    );
    assert.equal((await catalogs[0]!.list({ limit: 100, offset: 0 })).total, 5);
  } finally {
    await sql`drop schema if exists ${sql.id(raced)} cascade`.execute(first.db);
    await first.close();
    await second.close();
  }
});

test('the discovery migration returns at once on a current database and keeps its rows', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'x402-discovery-'));
  try {
    const first = await openSqliteLedger({ path: join(dir, 'ledger.db') });
    await new SqlDiscoveryCatalog(first.db, 'sqlite').record(
      entryFor(seller(), '/kept'),
      't',
      { maxPerPayTo: 1, maxTotal: 1 },
      1,
    );
    await first.close();
    const again = await openSqliteLedger({ path: join(dir, 'ledger.db') });
    assert.equal(
      (await new SqlDiscoveryCatalog(again.db, 'sqlite').list({ limit: 10, offset: 0 })).total,
      1,
    );
    await again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('on SQLite with group commit, records racing in one turn keep the per-payTo cap; a rolled-back transaction leaves no entry', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'x402-discovery-'));
  try {
    const path = join(dir, 'ledger.db');
    const opened = await openSqliteLedger({ path });
    const catalog = new SqlDiscoveryCatalog(opened.db, 'sqlite');
    const caps = { maxPerPayTo: 5, maxTotal: 1_000 };
    const payTo = 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG';
    // A ledger transaction is a savepoint inside the batch: its work is undone alone, the batch's other writes stay.
    const undone = assert.rejects(
      opened.db.transaction().execute(async (trx) => {
        const other = 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5';
        const inside = await new SqlDiscoveryCatalog(trx, 'sqlite').record(
          entryFor(other, '/undone'),
          't',
          caps,
          0,
        );
        assert.equal(inside.recorded, true);
        throw new Error('rolled back on purpose');
      }),
      /rolled back on purpose/,
    );
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        catalog.record(entryFor(payTo, `/r${i}`), 't', caps, i + 1),
      ),
    );
    await undone;
    assert.equal(outcomes.filter((o) => o.recorded).length, 5);
    assert.ok(
      outcomes
        .filter((o) => !o.recorded)
        .every((o) => !o.recorded && o.reason === 'bazaar_payto_cap_reached'),
    );
    await opened.close();
    // What the callers heard is what the file holds.
    const again = await openSqliteLedger({ path });
    const listed = await new SqlDiscoveryCatalog(again.db, 'sqlite').list({
      limit: 100,
      offset: 0,
    });
    assert.equal(listed.total, 5);
    assert.ok(listed.items.every((item) => !item.resource.endsWith('/undone')));
    await again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a catalog that fails does not fail the settle: the buyer is served, the refusal is bazaar_catalog_error', async () => {
  const refusals: DiscoveryRefusal[] = [];
  const broken: DiscoveryCatalog = {
    record: async () => {
      throw new Error('disk full');
    },
    list: async () => ({ items: [], total: 0 }),
    prune: async () => 0,
  };
  const facilitator = createFacilitator({
    networks: { testnet: { url: devnet.url } },
    settleTimeoutMs: 5_000,
    pollIntervalMs: 10,
    discovery: { catalog: broken, onRefused: (refusal) => refusals.push(refusal) },
  });
  const { payload, requirements } = await payment(
    { bazaar: weather },
    'https://api.example/broken',
  );
  assert.equal((await facilitator.settle(payload, requirements)).success, true);
  assert.deepEqual(refusals, [
    { reason: 'bazaar_catalog_error', message: 'disk full', payTo: seller() },
  ]);
  await facilitator.idle();
});

test('discovery: false leaves bazaar out of /supported and records nothing', async () => {
  const facilitator = createFacilitator({
    networks: { testnet: { url: devnet.url } },
    settleTimeoutMs: 5_000,
    pollIntervalMs: 10,
    discovery: false,
  });
  assert.deepEqual(facilitator.supported().extensions, []);
  const { payload, requirements } = await payment({ bazaar: weather }, 'https://api.example/off');
  assert.equal((await facilitator.settle(payload, requirements)).success, true);
  assert.equal(
    (await facilitator.discoveryResources({ limit: 20, offset: 0 })).pagination.total,
    0,
  );
  await facilitator.idle();
});
