#!/usr/bin/env node
// Launcher: runs the TypeScript sources through tsx in this same process (no child process, so Ctrl-C and SIGTERM
// reach the devnet directly). The repository's tsconfig maps the workspace packages to their sources.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../../../tsconfig.json', import.meta.url)) });
await import('../src/main.ts');
