/**
 * The path a bare machine takes, forced on every run: an embedded PostgreSQL that answers SQL and leaves nothing
 * behind, and the packaged Chromium rendering a page.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import pg from 'pg';
import { findTestChromium, findTestPostgres, launchTestChromium } from '../src/index.js';

const FORCED = { ...process.env, X402_TEST_FORCE_EMBEDDED: '1' };

test('forced, the tests get an embedded PostgreSQL 17 that stops and removes its data', async () => {
  const postgres = await findTestPostgres({
    ...FORCED,
    TEST_DATABASE_URL: 'postgres://nobody@192.0.2.1:1/ignored',
  });
  assert.equal(postgres.source, 'embedded');
  assert.ok(postgres.stop);
  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  const { rows } = await client.query<{ version: string; database: string; dir: string }>(
    "select version(), current_database() as database, current_setting('data_directory') as dir",
  );
  await client.end();
  assert.match(rows[0]!.version, /^PostgreSQL 17\./);
  assert.equal(rows[0]!.database, 'test');
  assert.ok(existsSync(rows[0]!.dir));

  await postgres.stop();
  assert.equal(existsSync(rows[0]!.dir), false, 'the data directory is removed');
  const after = new pg.Client({ connectionString: postgres.url, connectionTimeoutMillis: 2000 });
  after.on('error', () => undefined);
  await assert.rejects(after.connect(), 'the server no longer answers');
});

test('without the switch, a configured PostgreSQL is taken as given and nothing is started', async () => {
  const postgres = await findTestPostgres({
    PATH: process.env.PATH,
    TEST_DATABASE_URL: 'postgres://ci@db.example:5432/test',
  });
  assert.deepEqual(postgres, { url: 'postgres://ci@db.example:5432/test', source: 'environment' });
});

test('forced, the browser is the Chromium shipped on npm, and it renders a page', async () => {
  const found = await findTestChromium({ ...FORCED, CHROMIUM_PATH: '/nonexistent/chromium' });
  assert.equal(found.source, 'packaged');
  const { browser, chromium } = await launchTestChromium(FORCED);
  try {
    assert.equal(chromium.source, 'packaged');
    const page = await browser.newPage();
    await page.setContent('<main><h1>402</h1><p id="x">Payment Required</p></main>');
    assert.equal(await page.textContent('#x'), 'Payment Required');
  } finally {
    await browser.close();
  }
});

test('without the switch, CHROMIUM_PATH is taken as given', async () => {
  const found = await findTestChromium({ CHROMIUM_PATH: '/opt/chrome/chrome' });
  assert.deepEqual(found, { executablePath: '/opt/chrome/chrome', source: 'CHROMIUM_PATH' });
});
