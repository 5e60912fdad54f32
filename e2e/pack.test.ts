/**
 * The published shape: `npm pack` (which builds through `prepack`), unpack into a temporary folder, and load the
 * package by name with `require` and `import`, then lint the unpacked package with publint.
 *
 * When the package's build is current (every file its exports name is newer than every input of the build; CI builds
 * before it tests), it is packed as built, without running `prepack` again: the build is `prepack`'s whole work (a
 * test checks they are the same command), and it cost a minute and a half of a two-core CI run, beside another test
 * file. A missing or stale build is packed through `prepack`, as `npm publish` would.
 *
 * The temporary folder gets the tarball's contents as node_modules/x402-stacks and links to the already-installed
 * dependencies, so the test needs no registry access while still loading only what the tarball ships.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { staleBuild } from '@x402-stacks/test-kit/built';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';

const run = promisify(execFile);
const packageDir = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'packages',
  'x402-stacks',
);
const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as {
  exports: Record<string, unknown>;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  optionalDependencies?: Record<string, string>;
};
const subpaths = Object.keys(manifest.exports).filter((key) => key !== './package.json');
/**
 * Every built file the exports name (a build cut short, or whose declarations failed, leaves some missing), and what
 * the build reads: the package's sources and config, the root TypeScript configs it compiles under, and the lockfile
 * that pins the build tools.
 */
const shippedFiles = [...new Set(JSON.stringify(manifest.exports).match(/\.\/dist\/[^"]+/g))];
const BUILD_INPUTS = [
  'src',
  'tsup.config.ts',
  'package.json',
  '../../tsconfig.json',
  '../../tsconfig.base.json',
  '../../package-lock.json',
];

describe('npm pack', { timeout: 180_000 }, () => {
  const workDir = mkdtempSync(join(tmpdir(), 'x402-stacks-pack-'));
  const installed = join(workDir, 'node_modules', 'x402-stacks');

  before(async () => {
    // prepack (the build) prints to stdout too, so read the tarball's name from the folder, not from --json.
    const built = shippedFiles.every(
      (file) => staleBuild(packageDir, file, BUILD_INPUTS) === undefined,
    );
    const pack = ['pack', '--pack-destination', workDir, ...(built ? ['--ignore-scripts'] : [])];
    await run('npm', pack, {
      cwd: packageDir,
      maxBuffer: 16 * 1024 * 1024,
    });
    const tarball = readdirSync(workDir).find((name) => name.endsWith('.tgz'));
    assert.ok(tarball, 'npm pack wrote no tarball');
    await mkdir(installed, { recursive: true });
    await run('tar', ['-xzf', join(workDir, tarball), '-C', installed, '--strip-components=1']);
    const dependencies = { ...manifest.dependencies, ...manifest.optionalDependencies };
    for (const name of Object.keys(dependencies)) {
      const target = findInstalled(name);
      const link = join(workDir, 'node_modules', name);
      await mkdir(dirname(link), { recursive: true });
      symlinkSync(target, link, 'dir');
    }
  });

  after(() => rmSync(workDir, { recursive: true, force: true }));

  test('prepack is the build, so a current build packs as prepack would make it', () => {
    assert.equal(manifest.scripts.prepack, manifest.scripts.build);
  });

  test('ships dist, README and LICENSE, not sources or tests', () => {
    assert.ok(existsSync(join(installed, 'dist', 'index.js')));
    assert.ok(existsSync(join(installed, 'dist', 'index.cjs')));
    assert.ok(existsSync(join(installed, 'dist', 'index.d.ts')));
    assert.ok(existsSync(join(installed, 'README.md')));
    assert.match(readFileSync(join(installed, 'LICENSE'), 'utf8'), /^MIT License/);
    assert.equal(existsSync(join(installed, 'src')), false);
    assert.equal(existsSync(join(installed, 'test')), false);
  });

  test('require and import give the same public names, for every subpath', async () => {
    const script = `
      const subpaths = ${JSON.stringify(subpaths)};
      const result = {};
      for (const subpath of subpaths) {
        const id = 'x402-stacks' + subpath.slice(1);
        result[subpath] = {
          cjs: Object.keys(require(id)).sort(),
          esm: null,
        };
      }
      (async () => {
        for (const subpath of subpaths) {
          const id = 'x402-stacks' + subpath.slice(1);
          result[subpath].esm = Object.keys(await import(id)).filter((k) => k !== 'default').sort();
        }
        const root = require('x402-stacks');
        const stx = root.STXtoMicroSTX('0.29');
        result.check = { stx: String(stx), account: root.privateKeyToAccount('753b7cc01a1a2e86221266a154af739463fce51219d97e4f856cd7200c3bd2a601', 'testnet').address, backend: require('x402-stacks/facilitator').secp256k1Backend };
        console.log(JSON.stringify(result));
      })();
    `;
    const { stdout } = await run(process.execPath, ['-e', script], { cwd: workDir });
    const result = JSON.parse(stdout) as Record<string, { cjs: string[]; esm: string[] }> & {
      check: { stx: string; account: string; backend: string };
    };
    for (const subpath of subpaths) {
      const names = result[subpath]!;
      assert.ok(names.cjs.length > 0, `${subpath} exports nothing`);
      assert.deepEqual(names.esm, names.cjs, `${subpath}: ESM and CJS differ`);
    }
    assert.equal(result.check.stx, '290000');
    assert.equal(result.check.account, 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM');
    assert.equal(
      result.check.backend,
      'libsecp256k1',
      'the native recovery must load from the packed build too',
    );
  });

  test('the packed ESM build checks a payment', async () => {
    const script = `
      import { privateKeyToAccount } from 'x402-stacks';
      import { checkPaymentTransaction, createPaymentTransaction } from 'x402-stacks/stacks';
      const account = privateKeyToAccount('753b7cc01a1a2e86221266a154af739463fce51219d97e4f856cd7200c3bd2a601', 'testnet');
      const requirements = { scheme: 'exact', network: 'stacks:2147483648', amount: '1000', asset: 'sBTC', payTo: 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5' };
      const { transaction } = await createPaymentTransaction({ account, requirements, nonce: 0n, fee: 400n });
      console.log(JSON.stringify(checkPaymentTransaction(transaction, requirements), (k, v) => typeof v === 'bigint' ? String(v) : v));
    `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: workDir,
    });
    const check = JSON.parse(stdout) as { isValid: boolean; payer: string };
    assert.equal(check.isValid, true);
    assert.equal(check.payer, 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM');
  });

  test('publint finds nothing to report', async () => {
    const { messages, pkg } = await publint({
      pkgDir: installed,
      level: 'suggestion',
      pack: false,
    });
    const readable = messages.map((message) => formatMessage(message, pkg) ?? message.code);
    assert.deepEqual(readable, []);
  });
});

/** Where npm installed a dependency: the nearest node_modules/<name> walking up from the package. */
function findInstalled(name: string): string {
  for (let dir = packageDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) throw new Error(`dependency ${name} is not installed`);
  }
}
