// Everything the CLI's bundle (dist/main.js) is compiled from, relative to the repository root: the CLI and the
// workspace packages it inlines (see scripts/service-bundle.ts). The launcher and the benchmarks check the build
// against these.
export const BUNDLED_SOURCES = [
  'packages/cli/src',
  'packages/devnet/src',
  'packages/service-runtime/src',
  'packages/x402-stacks/src',
  'apps/facilitator/src',
  'apps/registry/src',
];
