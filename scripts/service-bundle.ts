/**
 * The tsup options the runnable services share (the CLI, the facilitator and the registry): each is built into its
 * own dist/ as plain ESM JavaScript, so a service starts under `node` without compiling TypeScript first.
 * @module
 */
import { fileURLToPath } from 'node:url';
import type { Options } from 'tsup';

/** The repository's tsconfig: its `paths` point the workspace packages at their sources. */
const ROOT_TSCONFIG = fileURLToPath(new URL('../tsconfig.json', import.meta.url));

/**
 * Options for one service bundle. The workspace's own packages (x402-stacks, @x402-stacks/*) are compiled in from
 * their sources, tree-shaken to what the service uses, so a service needs neither the library's (slower, typed)
 * build nor its unused subpaths at run time. Every other package stays an import resolved from node_modules: native
 * addons (better-sqlite3), worker-thread transports (pino) and optional drivers (pg) must load as installed.
 * Splitting keeps a dynamic `import()` a separate file, so what a command does not run is never loaded.
 * @example
 * ```ts
 * export default defineConfig(serviceBundle({ main: 'src/main.ts' }));
 * ```
 */
export function serviceBundle(entry: Record<string, string>): Options {
  return {
    entry,
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    tsconfig: ROOT_TSCONFIG,
    noExternal: [/^x402-stacks(\/|$)/, /^@x402-stacks\//],
    external: [/^[^./]/],
    splitting: true,
    // Keep `node:fs` as written: tsup would otherwise strip the prefix.
    removeNodeProtocol: false,
    treeshake: false,
    dts: false,
    sourcemap: false,
    clean: true,
    outDir: 'dist',
  };
}
