import { defineConfig } from 'tsup';

/** One entry per subpath in package.json#exports; keep the two lists in step (a test checks it). */
export const entries = {
  index: 'src/index.ts',
  'protocol/index': 'src/protocol/index.ts',
  'stacks/index': 'src/stacks/index.ts',
  'client/index': 'src/client/index.ts',
  'server/index': 'src/server/index.ts',
  'facilitator/index': 'src/facilitator/index.ts',
  'chain/index': 'src/chain/index.ts',
  'v1/index': 'src/v1/index.ts',
  'extensions/index': 'src/extensions/index.ts',
  'express/index': 'src/server/express/index.ts',
  'hono/index': 'src/server/hono/index.ts',
  'axios/index': 'src/client/axios/index.ts',
  'fetch/index': 'src/client/fetch/index.ts',
  'x402/index': 'src/x402/index.ts',
  'mcp/index': 'src/mcp/index.ts',
  'batch/index': 'src/batch-settlement.ts',
};

export default defineConfig({
  entry: entries,
  format: ['esm', 'cjs'],
  dts: true,
  // import.meta.url is used to load the optional native secp256k1 binding; shims make it work in the CJS build.
  shims: true,
  splitting: true,
  sourcemap: false,
  clean: true,
  target: 'node20',
  outDir: 'dist',
});
