/**
 * The directory in real headless Chromium: register the demo seller through the form, search for it, open its
 * page, and save desktop (1280) and mobile (390) screenshots under apps/registry/test-output/. Every page is
 * checked for horizontal overflow at both widths.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { type Browser, chromium, type Page } from 'playwright-core';
import { loadConfig, type RegistryService, startRegistryService } from '../src/index.js';
import { DEMO_ROUTES, startDemoSeller } from './demo-seller.js';

const OUTPUT = fileURLToPath(new URL('../test-output/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'x402-registry-browser-'));
let service: RegistryService;
let seller: Awaited<ReturnType<typeof startDemoSeller>>;
let browser: Browser;

before(async () => {
  mkdirSync(OUTPUT, { recursive: true });
  seller = await startDemoSeller();
  service = await startRegistryService(
    loadConfig({
      PORT: '0',
      DATABASE_URL: `sqlite:${join(dir, 'registry.db')}`,
      ALLOW_INSECURE_LOCAL: 'true',
      CHECK_INTERVAL_MS: '0',
    }),
    { logger: pino({ level: 'silent' }) },
  );
  // The other demo routes are registered through the API, so the directory has neighbours.
  for (const [path] of DEMO_ROUTES.slice(1)) {
    const result = await service.registry.register({ url: `${seller.url}${path}` });
    assert.ok(result.stored, JSON.stringify(result.findings));
  }
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true });
});

after(async () => {
  await browser?.close();
  await service?.stop();
  await seller?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function assertNoOverflow(page: Page, label: string) {
  // A string, so this Node-typed file needs no DOM types; it runs in the page.
  const { scroll, width } = (await page.evaluate(
    '({ scroll: document.documentElement.scrollWidth, width: window.innerWidth })',
  )) as { scroll: number; width: number };
  assert.ok(scroll <= width, `${label}: page is ${scroll}px wide in a ${width}px viewport`);
}

test('register the demo seller through the form, find it, open it; screenshots at two widths', {
  timeout: 60_000,
}, async () => {
  const desktop = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const weather = `${seller.url}/weather`;

  // 1. Register through the form.
  await desktop.goto(`${service.url}/register`);
  await desktop.fill('input[name=url]', weather);
  await desktop.click('button[value=register]');
  await desktop.waitForSelector('.notice.ok');
  assert.match((await desktop.textContent('.notice.ok')) ?? '', /Registered/);
  await desktop.screenshot({ path: join(OUTPUT, 'register-desktop.png'), fullPage: true });

  // A refused check shows its findings on the same form.
  await desktop.fill('input[name=url]', `${seller.url}/not-a-route`);
  await desktop.click('button[value=validate]');
  await desktop.waitForSelector('.notice.bad');
  assert.deepEqual(await desktop.locator('.finding b').allTextContents(), ['invalid_status']);
  await desktop.screenshot({ path: join(OUTPUT, 'register-findings-desktop.png'), fullPage: true });

  // 2. Search for it.
  await desktop.goto(`${service.url}/`);
  await desktop.fill('input[name=q]', 'weather');
  await desktop.click('form.search button[type=submit]');
  await desktop.waitForURL(/q=weather/);
  const names = await desktop.locator('.result h3').allTextContents();
  assert.deepEqual(names, ['Demo weather']);
  await desktop.goto(`${service.url}/`);
  await desktop.screenshot({ path: join(OUTPUT, 'directory-desktop.png'), fullPage: true });

  // 3. Open its page.
  await desktop.goto(`${service.url}/?q=weather`);
  await desktop.click('.result h3 a');
  await desktop.waitForSelector('h1');
  assert.equal(await desktop.textContent('h1'), 'Demo weather');
  const body = (await desktop.textContent('main')) ?? '';
  assert.match(body, /0\.0025 STX/);
  assert.match(body, /2500 µSTX/);
  assert.ok(
    body.includes(`npx x402-stacks pay '${weather}' --network testnet --max-amount 0.0025STX`),
  );
  await desktop.screenshot({ path: join(OUTPUT, 'detail-desktop.png'), fullPage: true });
  const detailUrl = desktop.url();
  for (const path of ['/', '/register', new URL(detailUrl).pathname]) {
    await desktop.goto(`${service.url}${path}`);
    await assertNoOverflow(desktop, `desktop ${path}`);
  }

  // 4. The same pages on a phone.
  const mobile = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
  for (const [name, path] of [
    ['directory', '/'],
    ['detail', new URL(detailUrl).pathname],
    ['register', '/register'],
  ] as const) {
    await mobile.goto(`${service.url}${path}`);
    await assertNoOverflow(mobile, `mobile ${path}`);
    await mobile.screenshot({ path: join(OUTPUT, `${name}-mobile.png`), fullPage: true });
  }
});
