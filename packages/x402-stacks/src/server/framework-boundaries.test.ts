/**
 * Framework boundaries of the server folder: only its express/ and hono/ adapters name their framework.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

describe('framework boundaries', () => {
  test('only express/ names express and only hono/ names hono, both as types: no runtime import of either', async () => {
    const { readdir, readFile } = await import('node:fs/promises');
    const root = new URL('./', import.meta.url);
    // The sources only: the tests beside them drive both frameworks on purpose.
    const files = (await readdir(root, { recursive: true })).filter(
      (file) => file.endsWith('.ts') && !file.endsWith('.test.ts'),
    );
    assert.ok(files.length > 5);
    for (const file of files) {
      const source = await readFile(new URL(file, root), 'utf8');
      for (const framework of ['express', 'hono']) {
        const imports = [
          ...source.matchAll(
            new RegExp(`^import (type )?[^;]*from '${framework}(/[^']*)?';`, 'gm'),
          ),
        ];
        if (!file.startsWith(`${framework}/`))
          assert.equal(imports.length, 0, `${file} imports ${framework}`);
        for (const found of imports)
          assert.ok(found[1], `${file}: a runtime import of ${framework}`);
      }
    }
  });
});
