/** staleBuild: a missing build, a source newer than the build (in a folder or a file), and a current build. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { staleBuild } from '../src/built.js';

const root = mkdtempSync(join(tmpdir(), 'x402-built-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Writes `path` under the root with its modification time `seconds` after the epoch. */
function fileAt(path: string, seconds: number): void {
  const full = join(root, path);
  mkdirSync(join(full, '..'), { recursive: true });
  writeFileSync(full, path);
  utimesSync(full, seconds, seconds);
}

test('a build is missing, older than a source under a folder or a file, or current', () => {
  assert.equal(staleBuild(root, 'dist/index.js', ['src']), 'missing');
  fileAt('src/deep/a.ts', 1_000);
  fileAt('config.ts', 1_000);
  fileAt('dist/index.js', 2_000);
  assert.equal(staleBuild(root, 'dist/index.js', ['src', 'config.ts']), undefined);
  fileAt('src/deep/a.ts', 3_000);
  assert.equal(staleBuild(root, 'dist/index.js', ['config.ts', 'src']), 'src');
  fileAt('src/deep/a.ts', 1_000);
  fileAt('config.ts', 3_000);
  assert.equal(staleBuild(root, 'dist/index.js', ['src', 'config.ts']), 'config.ts');
});
