/** Finds import cycles among the TypeScript sources of a folder, type-only imports included. */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/**
 * The groups of source files (tests left out) under `folder` that import one another in a ring, each as paths
 * relative to `folder`, sorted; an empty list when the imports form no cycle. Type-only imports count: a ring of
 * types still ties the files into one unit that cannot be understood, moved or split apart.
 *
 * @example
 * assert.deepEqual(importCycles('packages/x402-stacks/src'), []);
 */
export function importCycles(folder: string): string[][] {
  const root = resolve(folder);
  const graph = new Map<string, string[]>();
  for (const file of sources(root)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    graph.set(
      file,
      importedFiles
        .map(({ fileName }) => fileName)
        .filter((specifier) => specifier.startsWith('.'))
        .map((specifier) => resolveSource(dirname(file), specifier))
        .filter((target): target is string => target !== undefined),
    );
  }
  return stronglyConnected(graph)
    .filter((group) => group.length > 1 || graph.get(group[0]!)!.includes(group[0]!))
    .map((group) => group.map((file) => relative(root, file)).sort())
    .sort((a, b) => a[0]!.localeCompare(b[0]!));
}

function sources(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** The source file a relative specifier names: `./a.js` is a.ts, `./dir` or `./dir/index.js` is dir/index.ts. */
function resolveSource(from: string, specifier: string): string | undefined {
  const path = resolve(from, specifier);
  const candidates = [
    path.replace(/\.js$/, '.ts'),
    `${path}.ts`,
    join(path, 'index.ts'),
    path.replace(/\.js$/, ''),
  ];
  return candidates.find((candidate) => existsSync(candidate) && statSync(candidate).isFile());
}

/** Tarjan's strongly connected components of a directed graph. */
function stronglyConnected(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const visit = (node: string) => {
    index.set(node, counter);
    low.set(node, counter);
    counter++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const group: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        group.push(member);
      } while (member !== node);
      groups.push(group);
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return groups;
}
