/**
 * The public surface, reviewed like code. `api/exports.json` records every name each entry of package.json#exports
 * gives, values and types apart; a change to it is a change to the package's semver contract, so it must be made on
 * purpose: run this file with `UPDATE_API_SNAPSHOT=1` and commit the new snapshot with the change.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import * as root from './index.js';

const PACKAGE = new URL('../', import.meta.url);
const SNAPSHOT = new URL('api/exports.json', PACKAGE);

type Surface = Record<string, { values: string[]; types: string[] }>;

/**
 * Every name the documentation of x402-stacks imports from `x402-stacks`, and the other root names of x402-stacks 2.0
 * that this package implements: the root must keep all of them.
 */
const DOCUMENTED_VALUES = [
  'BTCtoSats',
  'STACKS_NETWORKS',
  'STXtoMicroSTX',
  'USDCxToMicroUSDCx',
  'decodePaymentResponse',
  'decodeXPaymentResponse',
  'generateKeypair',
  'getExplorerURL',
  'getPayment',
  'isValidStacksAddress',
  'microSTXtoSTX',
  'microUSDCxToUSDCx',
  'networkFromCAIP2',
  'networkToCAIP2',
  'paymentMiddleware',
  'privateKeyToAccount',
  'satsToBTC',
  'withPaymentInterceptor',
  'wrapAxiosWithPayment',
  'x402PaymentRequired',
];

/** The entry point of each role. */
const ROLE_ENTRY_POINTS = [
  'createChainClient',
  'createFacilitator',
  'createFacilitatorClient',
  'createPayer',
  'createResourceServer',
  'InMemoryLedger',
  'paymentMiddleware',
  'wrapAxiosWithPayment',
  'wrapFetchWithPayment',
];

function manifest(): { exports: Record<string, unknown> } {
  return JSON.parse(readFileSync(new URL('package.json', PACKAGE), 'utf8'));
}

async function tsupEntries(): Promise<Record<string, string>> {
  return ((await import('../tsup.config.js')) as { entries: Record<string, string> }).entries;
}

/** The subpath of package.json#exports (`.`, `./protocol`, …) to its source file, through tsup's entries. */
async function entrySources(): Promise<Map<string, string>> {
  const entries = await tsupEntries();
  const subpaths = Object.keys(manifest().exports).filter((key) => key !== './package.json');
  return new Map(
    subpaths.map((subpath) => {
      const entry = subpath === '.' ? 'index' : `${subpath.slice(2)}/index`;
      return [subpath, fileURLToPath(new URL(entries[entry]!, PACKAGE))];
    }),
  );
}

/** What each entry exports, as the type checker sees it: a name is a value if it has a run-time binding. */
async function currentSurface(): Promise<Surface> {
  const sources = await entrySources();
  const program = ts.createProgram([...sources.values()], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    types: [],
  });
  const checker = program.getTypeChecker();
  const surface: Surface = {};
  for (const [subpath, file] of [...sources].sort(([a], [b]) => a.localeCompare(b))) {
    const module = checker.getSymbolAtLocation(program.getSourceFile(file)!)!;
    const values: string[] = [];
    const types: string[] = [];
    for (const symbol of checker.getExportsOfModule(module)) {
      const target =
        symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      (target.flags & ts.SymbolFlags.Value ? values : types).push(symbol.name);
    }
    surface[subpath] = { values: values.sort(), types: types.sort() };
  }
  return surface;
}

describe('x402-stacks public API', () => {
  test('each entry exports exactly the names in api/exports.json', async () => {
    const surface = await currentSurface();
    if (process.env.UPDATE_API_SNAPSHOT === '1')
      writeFileSync(SNAPSHOT, `${JSON.stringify(surface, null, 2)}\n`);
    assert.deepEqual(surface, JSON.parse(readFileSync(SNAPSHOT, 'utf8')));
  });

  test("the snapshot's root values are the module's run-time exports", () => {
    const snapshot = JSON.parse(readFileSync(SNAPSHOT, 'utf8')) as Surface;
    assert.deepEqual(Object.keys(root).sort(), snapshot['.']!.values);
  });

  test('the root keeps every documented name and every role entry point', () => {
    for (const name of [...DOCUMENTED_VALUES, ...ROLE_ENTRY_POINTS]) {
      assert.notEqual((root as Record<string, unknown>)[name], undefined, name);
    }
  });

  test('the root exports every error class of every entry', async () => {
    const snapshot = JSON.parse(readFileSync(SNAPSHOT, 'utf8')) as Surface;
    const errors = new Set(
      Object.values(snapshot).flatMap(({ values }) => values.filter((name) => /Error$/.test(name))),
    );
    assert.ok(errors.size >= 20);
    for (const name of errors) {
      const value = (root as Record<string, unknown>)[name];
      assert.equal(typeof value, 'function', name);
      assert.ok((value as { prototype: unknown }).prototype instanceof Error, name);
    }
  });

  test('the root keeps internals off: no parsers, codecs or helpers a subpath already gives', () => {
    for (const name of [
      'readTextUpTo',
      'isHighS',
      'secp256k1Backend',
      'chooseSponsorNonce',
      'redactUrl',
    ]) {
      assert.equal(name in root, false, name);
    }
  });

  test('every deprecated name is in deprecated.ts, marked @deprecated with a replacement the root exports', () => {
    const file = fileURLToPath(new URL('deprecated.ts', import.meta.url));
    const source = ts.createSourceFile(
      file,
      readFileSync(file, 'utf8'),
      ts.ScriptTarget.ES2022,
      true,
    );
    const deprecated: string[] = [];
    source.forEachChild((node) => {
      const exported = ts.canHaveModifiers(node)
        ? ts.getModifiers(node)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)
        : false;
      if (!exported) return;
      const tag = ts.getJSDocTags(node).find((t) => t.tagName.text === 'deprecated');
      const name = ts.isVariableStatement(node)
        ? node.declarationList.declarations[0]!.name.getText()
        : (node as ts.FunctionDeclaration).name!.text;
      assert.ok(tag, `${name} has no @deprecated tag`);
      const replacement = /\{@link (\w+)\}/.exec(ts.getTextOfJSDocComment(tag.comment) ?? '')?.[1];
      assert.ok(replacement && replacement in root, `${name}: replacement ${replacement}`);
      deprecated.push(name);
    });
    assert.deepEqual(deprecated.sort(), ['withPaymentInterceptor', 'x402PaymentRequired']);
    // And nothing else the package exports is a deprecated alias: each entry's source carries no other one.
    for (const [subpath, names] of Object.entries(
      JSON.parse(readFileSync(SNAPSHOT, 'utf8')) as Surface,
    )) {
      if (subpath === '.') continue;
      for (const name of deprecated)
        assert.equal(names.values.includes(name), false, `${subpath} ${name}`);
    }
  });

  test('tsup builds one entry per exported subpath', async () => {
    const entries = await tsupEntries();
    const fromExports = Object.keys(manifest().exports)
      .filter((key) => key !== './package.json')
      .map((key) => (key === '.' ? 'index' : `${key.slice(2)}/index`))
      .sort();
    assert.deepEqual(Object.keys(entries).sort(), fromExports);
  });
});
