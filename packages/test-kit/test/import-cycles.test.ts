import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { importCycles } from '../src/index.js';

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** A folder of sources from `{ path: text }`. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'x402-cycles-'));
  roots.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

test('a tree without rings has no cycles', () => {
  const root = tree({
    'a.ts': "import { b } from './b.js';\nexport const a = b;",
    'b.ts': "import { c } from './lib/index.js';\nexport const b = c;",
    'lib/index.ts': 'export const c = 1;',
  });
  assert.deepEqual(importCycles(root), []);
});

test('a ring is found whether it runs through values, types, re-exports or folder imports', () => {
  const root = tree({
    'a.ts': "import type { B } from './b.js';\nexport type A = B;",
    'b.ts': "export { c as B } from './c.js';",
    'c.ts': "import * as d from './d';\nexport const c = d;",
    'd/index.ts': "import { x } from '../a.js';\nexport const y = x;",
    'alone.ts': "import { a } from './a.js';",
  });
  assert.deepEqual(importCycles(root), [['a.ts', 'b.ts', 'c.ts', 'd/index.ts']]);
});

test('separate rings are reported separately, and test files are left out', () => {
  const root = tree({
    'p.ts': "import './q.js';",
    'q.ts': "import './p.js';",
    's.ts': "import './s.js';",
    'q.test.ts': "import './p.js';",
    'p.test.ts': "import './q.test.js';",
  });
  assert.deepEqual(importCycles(root), [['p.ts', 'q.ts'], ['s.ts']]);
});
