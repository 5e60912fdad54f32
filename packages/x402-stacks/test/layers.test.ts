/**
 * The architecture as a test (ARCHITECTURE.md, "Layers of the library"): each folder of `src/` imports only the
 * layers below it, a role's core never imports its own adapters, nothing inside a layer imports the entry files at the
 * top of `src/`, and each framework or SDK is touched only by its own adapter folder, so `import 'x402-stacks'` works
 * with none of them installed.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');

/** What each top-level folder may import from the others: protocol <- stacks <- chain <- roles <- adapters. */
const ALLOWED: Record<string, readonly string[]> = {
  errors: [],
  protocol: ['errors'],
  stacks: ['errors', 'protocol'],
  chain: ['errors', 'protocol', 'stacks'],
  v1: ['errors', 'protocol', 'stacks'],
  extensions: ['errors', 'protocol', 'stacks'],
  // batch-settlement's core: its wire format, the escrow's hashes and the escrow's channel read (which the
  // facilitator and a buyer that lost its records both need); each role keeps its side in its own `batch/`.
  batch: ['errors', 'protocol', 'stacks', 'chain'],
  client: ['errors', 'protocol', 'stacks', 'chain', 'extensions', 'batch'],
  server: ['errors', 'protocol', 'stacks', 'chain', 'extensions', 'batch'],
  facilitator: ['errors', 'protocol', 'stacks', 'chain', 'extensions', 'batch'],
  x402: [
    'errors',
    'protocol',
    'stacks',
    'chain',
    'extensions',
    'batch',
    'client',
    'server',
    'facilitator',
  ],
  // The MCP adapter: paid tools over the seller's core, the paying client over the buyer's; never the facilitator.
  mcp: ['errors', 'protocol', 'stacks', 'chain', 'extensions', 'batch', 'client', 'server'],
};

/** The adapter folders of each role: the role's core files never import them (its `index.ts` entry aside). */
const ADAPTERS: Record<string, readonly string[]> = {
  client: ['axios', 'fetch'],
  server: ['express', 'hono'],
};

/** The entry files at the top of `src/`: they may import any layer, and no layer imports them. */
const ENTRY_FILES = ['index.ts', 'deprecated.ts', 'batch-settlement.ts'];

/** Optional peers, each allowed only under one folder. */
const PEERS: readonly [RegExp, string][] = [
  [/^express(\/|$)/, `server${sep}express`],
  [/^hono(\/|$)/, `server${sep}hono`],
  [/^@hono\//, `server${sep}hono`],
  [/^axios(\/|$)/, `client${sep}axios`],
  [/^@x402\//, 'x402'],
  [/^@modelcontextprotocol\//, 'mcp'],
];

function sources(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((match) => match[1]!);
}

test('each src folder imports only the layers below it', () => {
  const problems: string[] = [];
  for (const file of sources(SRC)) {
    const path = relative(SRC, file);
    const layer = path.split(sep)[0]!;
    if (!(layer in ALLOWED)) continue;
    for (const specifier of importsOf(file)) {
      if (!specifier.startsWith('.')) continue;
      const target = relative(SRC, join(dirname(file), specifier)).split(sep)[0]!;
      if (target === layer || !(target in ALLOWED)) continue;
      if (!ALLOWED[layer]!.includes(target)) problems.push(`${path} imports ${specifier}`);
    }
  }
  assert.deepEqual(problems, []);
});

test('express, hono, axios, @x402/* and the MCP SDK are imported only by their own adapter folders', () => {
  const problems: string[] = [];
  for (const file of sources(SRC)) {
    const path = relative(SRC, file);
    for (const specifier of importsOf(file)) {
      for (const [peer, home] of PEERS) {
        if (peer.test(specifier) && !path.startsWith(home))
          problems.push(`${path} imports ${specifier}`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

test('the folders the layers name are the folders there are', () => {
  const folders = readdirSync(SRC, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  assert.deepEqual(folders, Object.keys(ALLOWED).sort());
});

test('no layer imports the entry files at the top of src', () => {
  const problems: string[] = [];
  for (const file of sources(SRC)) {
    const path = relative(SRC, file);
    if (!path.includes(sep)) continue;
    for (const specifier of importsOf(file)) {
      if (!specifier.startsWith('.')) continue;
      const target = relative(SRC, join(dirname(file), specifier));
      if (ENTRY_FILES.includes(target.replace(/\.js$/, '.ts')))
        problems.push(`${path} imports ${specifier}`);
    }
  }
  assert.deepEqual(problems, []);
});

test("a role's core never imports that role's adapters", () => {
  const problems: string[] = [];
  for (const file of sources(SRC)) {
    const [role, second, third] = relative(SRC, file).split(sep);
    const adapters = ADAPTERS[role!];
    // Only the role's own core files: not its adapters, not its subpath entry.
    if (!adapters || third !== undefined || second === 'index.ts') continue;
    for (const specifier of importsOf(file)) {
      if (!specifier.startsWith('.')) continue;
      const [targetRole, targetFolder] = relative(SRC, join(dirname(file), specifier)).split(sep);
      if (targetRole === role && adapters.includes(targetFolder!))
        problems.push(`${role}/${second} imports ${specifier}`);
    }
  }
  assert.deepEqual(problems, []);
});

/** A role's folders that are part of its core, not adapters: its side of a scheme beside `exact`. */
const SCHEME_FOLDERS: Record<string, readonly string[]> = { client: ['batch'], server: ['batch'] };

test('the adapter folders the rules name are the adapter folders there are', () => {
  for (const [role, adapterFolders] of Object.entries(ADAPTERS)) {
    const adapters = [...adapterFolders, ...(SCHEME_FOLDERS[role] ?? [])];
    const folders = readdirSync(join(SRC, role), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
    assert.deepEqual(folders, [...adapters].sort(), role);
  }
});
