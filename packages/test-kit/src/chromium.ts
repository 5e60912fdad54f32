/** The headless Chromium the browser tests drive, from wherever this machine has one, else from npm. */
import { accessSync, constants, mkdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import packagedChromium from '@sparticuz/chromium';
import { type Browser, chromium } from 'playwright-core';
import { forceEmbedded } from './switches.js';

/** Where a system Chromium usually lives on Linux (Debian, Ubuntu, Google's packages, snap). */
const SYSTEM_CHROMIUMS = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/snap/bin/chromium',
];

/** A Chromium binary, where it came from, and the environment it needs to start. */
export type TestChromium = {
  executablePath: string;
  source: 'CHROMIUM_PATH' | 'system' | 'packaged';
  env?: Record<string, string>;
};

/**
 * `CHROMIUM_PATH`, else the first system Chromium found, else the build shipped inside the npm package
 * `@sparticuz/chromium` (unpacked into the temp folder on first use, about 3 s). `X402_TEST_FORCE_EMBEDDED=1` skips
 * straight to the packaged one.
 *
 * @example
 * const { executablePath, source } = await findTestChromium();
 */
export async function findTestChromium(
  env: NodeJS.ProcessEnv = process.env,
): Promise<TestChromium> {
  if (!forceEmbedded(env)) {
    if (env.CHROMIUM_PATH) return { executablePath: env.CHROMIUM_PATH, source: 'CHROMIUM_PATH' };
    const system = SYSTEM_CHROMIUMS.find(isExecutable);
    if (system) return { executablePath: system, source: 'system' };
  }
  return unpackChromium();
}

/**
 * Launches {@link findTestChromium}'s Chromium headless under playwright-core.
 *
 * @example
 * const { browser, chromium } = await launchTestChromium();
 * try { await (await browser.newPage()).goto(url); } finally { await browser.close(); }
 */
export async function launchTestChromium(
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ browser: Browser; chromium: TestChromium }> {
  const found = await findTestChromium(env);
  const browser = await chromium.launch({
    executablePath: found.executablePath,
    headless: true,
    ...(found.env ? { env: { ...process.env, ...found.env } } : {}),
  });
  return { browser, chromium: found };
}

/**
 * The packaged build, with the NSS and expat libraries it links against (a bare Linux image lacks them). One process
 * at a time: the package skips unpacking when its output path exists, which it does from the moment another process
 * begins writing it, so two test files starting side by side on a cold temp folder could launch a half-written binary.
 */
async function unpackChromium(): Promise<TestChromium> {
  const lock = join(tmpdir(), 'x402-test-chromium.lock');
  await takeLock(lock);
  try {
    return await unpackChromiumNow();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** A lock older than this was left by a process killed while unpacking (unpacking takes about 5 s). */
const STALE_LOCK_MS = 120_000;

/** Waits for `path` to be free and takes it; `mkdir` is atomic across processes. */
async function takeLock(path: string): Promise<void> {
  for (;;) {
    try {
      mkdirSync(path);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const since = Date.now() - (statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
    if (since > STALE_LOCK_MS) rmSync(path, { recursive: true, force: true });
    else await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function unpackChromiumNow(): Promise<TestChromium> {
  const executablePath = await packagedChromium.executablePath();
  const require = createRequire(import.meta.url);
  const bin = join(dirname(require.resolve('@sparticuz/chromium')), '..', 'bin');
  // The package unpacks these libraries only inside AWS Lambda; elsewhere we unpack them ourselves, into
  // <tmpdir>/al2023/lib, and point only the browser process at them.
  const lambdafs = require('@sparticuz/chromium/build/lambdafs.js') as {
    default: { inflate(file: string): Promise<string> };
  };
  const libraries = await lambdafs.default.inflate(join(bin, 'al2023.tar.br'));
  return {
    executablePath,
    source: 'packaged',
    env: { LD_LIBRARY_PATH: join(libraries, 'lib') },
  };
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
