#!/usr/bin/env node
// Launcher: runs the built command (dist/main.js, made by `npm run build`, which `npm install` runs through the
// root `prepare` script) in this same process, with no compiler loaded. When the build is missing, or older than
// any source it was made from (an edit, a checkout), it runs the TypeScript sources through tsx instead and says so,
// so what runs is never stale code. No child process either way: Ctrl-C and SIGTERM reach the service directly.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BUNDLED_SOURCES } from './bundled-sources.js';

const built = new URL('../dist/main.js', import.meta.url);
const root = new URL('../../../', import.meta.url);
const sources = BUNDLED_SOURCES.map((path) => fileURLToPath(new URL(path, root)));

/** The newest modification time under `directory`, in ms; 0 when it does not exist (an installed copy). */
function newestChange(directory) {
  let newest = 0;
  let entries;
  try {
    entries = readdirSync(directory, { withFileTypes: true, recursive: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const changed = statSync(`${entry.parentPath ?? entry.path}/${entry.name}`).mtimeMs;
    if (changed > newest) newest = changed;
  }
  return newest;
}

function staleReason() {
  if (!existsSync(built)) return 'packages/cli/dist is missing';
  const builtAt = statSync(built).mtimeMs;
  return sources.some((directory) => newestChange(directory) > builtAt)
    ? 'the sources changed since packages/cli/dist was built'
    : undefined;
}

const reason = staleReason();
if (reason === undefined) {
  await import(built.href);
} else {
  process.stderr.write(
    `x402-stacks: ${reason}; running the TypeScript sources through tsx (run \`npm run build\` to start faster)\n`,
  );
  const { register } = await import('tsx/esm/api');
  register({ tsconfig: fileURLToPath(new URL('tsconfig.json', root)) });
  await import('../src/main.ts');
}
