/**
 * Entry point of the `x402-stacks` command: bin/x402-stacks.js runs its build (dist/main.js), or these sources through
 * tsx when the build is missing or stale.
 * @module
 */
import { run } from './cli.js';

process.exitCode = await run(process.argv.slice(2));
