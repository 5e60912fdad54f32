/**
 * The directory in real headless Chromium: register the demo seller (examples/seller/server.ts, the seller `npm start`
 * runs, as its own process) through the form, search for it, open its page, and save desktop (1280) and mobile (390)
 * screenshots under apps/registry/test-output/. Every page is checked for horizontal overflow at both widths.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { createFacilitatorApp } from '@x402-stacks/facilitator';
import { launchTestChromium } from '@x402-stacks/test-kit';
import pino from 'pino';
import type { Browser, Page } from 'playwright-core';
import { createFacilitator } from 'x402-stacks';
import { loadConfig, type RegistryService, startRegistryService } from '../src/index.js';
import { DEMO_ROUTES, startDemoSeller } from './demo-seller.js';
import { TESTNET_PAY_TO } from './fixtures.js';

const OUTPUT = fileURLToPath(new URL('../test-output/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'x402-registry-browser-'));
let service: RegistryService;
let seller: Awaited<ReturnType<typeof startDemoSeller>>;
let demoSeller: ChildProcess;
let demoSellerUrl: string;
let facilitatorServer: ReturnType<typeof serve>;
let browser: Browser;
let browserSource: string;

before(async () => {
  mkdirSync(OUTPUT, { recursive: true });
  seller = await startDemoSeller();
  // The demo seller asks its facilitator's /supported for a sponsor; the registry only sends unpaid probes, so the
  // facilitator's chain is never contacted.
  const app = createFacilitatorApp({
    facilitator: createFacilitator({ networks: { testnet: { url: 'http://127.0.0.1:9' } } }),
  });
  facilitatorServer = await new Promise((resolve) => {
    const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(started),
    );
  });
  const facilitatorUrl = `http://127.0.0.1:${(facilitatorServer.address() as AddressInfo).port}`;
  ({ child: demoSeller, url: demoSellerUrl } = await startExampleSeller(facilitatorUrl));
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
  const launched = await launchTestChromium();
  browser = launched.browser;
  browserSource = `${launched.chromium.source} Chromium ${browser.version()} at ${launched.chromium.executablePath}`;
});

after(async () => {
  await browser?.close();
  await service?.stop();
  await seller?.stop();
  demoSeller?.kill('SIGTERM');
  await new Promise((resolve) => facilitatorServer?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

/** examples/seller/server.ts as `npm start` runs it: through tsx, configured by environment variables only. */
async function startExampleSeller(facilitatorUrl: string) {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const probe = serve({ fetch: () => new Response(), port: 0, hostname: '127.0.0.1' });
  await new Promise((resolve) => probe.once('listening', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'examples/seller/server.ts')],
    {
      cwd: root,
      env: {
        ...process.env,
        TSX_TSCONFIG_PATH: join(root, 'tsconfig.json'),
        NETWORK: 'testnet',
        SERVER_ADDRESS: TESTNET_PAY_TO,
        PORT: String(port),
        FACILITATOR_URL: facilitatorUrl,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    let printed = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      printed += chunk.toString();
      if (printed.includes('Server running')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the example seller exited with ${code}`)));
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

async function assertNoOverflow(page: Page, label: string) {
  // A string, so this Node-typed file needs no DOM types; it runs in the page.
  const { scroll, width } = (await page.evaluate(
    '({ scroll: document.documentElement.scrollWidth, width: window.innerWidth })',
  )) as { scroll: number; width: number };
  assert.ok(scroll <= width, `${label}: page is ${scroll}px wide in a ${width}px viewport`);
}

test('register the demo seller through the form, find it, open it; screenshots at two widths', {
  timeout: 60_000,
}, async (t) => {
  t.diagnostic(browserSource);
  const desktop = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const weather = `${demoSellerUrl}/api/weather`;

  // 1. Register through the form.
  await desktop.goto(`${service.url}/register`);
  await desktop.fill('input[name=url]', weather);
  await desktop.click('button[value=register]');
  await desktop.waitForSelector('.notice.ok');
  assert.match((await desktop.textContent('.notice.ok')) ?? '', /Registered/);
  await desktop.screenshot({ path: join(OUTPUT, 'register-desktop.png'), fullPage: true });

  // A refused check shows its findings on the same form.
  await desktop.fill('input[name=url]', `${demoSellerUrl}/not-a-route`);
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
  assert.deepEqual(names, ['Weather API']);
  await desktop.goto(`${service.url}/`);
  await desktop.screenshot({ path: join(OUTPUT, 'directory-desktop.png'), fullPage: true });

  // 3. Open its page.
  await desktop.goto(`${service.url}/?q=weather`);
  await desktop.click('.result h3 a >> text=Weather API');
  await desktop.waitForSelector('h1');
  assert.equal(await desktop.textContent('h1'), 'Weather API');
  const body = (await desktop.textContent('main')) ?? '';
  assert.match(body, /0\.001 STX/);
  assert.match(body, /1000 µSTX/);
  assert.match(body, /Get current weather data for any city/);
  assert.ok(
    body.includes(`npx x402-stacks pay '${weather}' --network testnet --max-amount 0.001STX`),
    body,
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
