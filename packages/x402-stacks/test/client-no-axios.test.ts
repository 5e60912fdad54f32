/**
 * The buyer's modules never load axios: with axios made unresolvable, `x402-stacks/client`, `/fetch` and even
 * `/axios` still import, because the axios module refers to axios by type only.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

test('x402-stacks/client, /fetch and /axios import with axios unresolvable', () => {
  const dir = mkdtempSync(join(tmpdir(), 'x402-no-axios-'));
  try {
    writeFileSync(
      join(dir, 'hook.mjs'),
      `export async function resolve(specifier, context, next) {
  if (specifier === 'axios' || specifier.startsWith('axios/')) throw new Error('axios is not installed');
  return next(specifier, context);
}\n`,
    );
    writeFileSync(
      join(dir, 'register.mjs'),
      `import { register } from 'node:module';\nregister('./hook.mjs', import.meta.url);\n`,
    );
    const script = `
      const client = await import('x402-stacks/client');
      const fetchEntry = await import('x402-stacks/fetch');
      const axiosEntry = await import('x402-stacks/axios');
      const blocked = await import('axios').then(() => 'loaded', () => 'blocked');
      console.log([typeof client.createPayer, typeof fetchEntry.wrapFetchWithPayment,
        typeof axiosEntry.wrapAxiosWithPayment, blocked].join(' '));`;
    const output = execFileSync(
      process.execPath,
      [
        '--import',
        join(dir, 'register.mjs'),
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        script,
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    assert.equal(output.trim(), 'function function function blocked');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
