/**
 * Entry point of the `x402-stacks` command (bin/x402-stacks.js runs it through tsx).
 * @module
 */
import { run } from './cli.js';

process.exitCode = await run(process.argv.slice(2));
