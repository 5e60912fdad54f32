/**
 * The devnet of bench/facilitator, in a process of its own, so that its CPU per settlement is read off /proc apart
 * from the load generator's and the facilitator's. Started by `fork` with `--import tsx`, as index.ts does.
 * Usage: devnet-process.ts <accounts>. Sends `{ url }` over IPC once it listens; the parent going away ends it.
 * @module
 */
import { startDevnet } from '@x402-stacks/devnet';

const accounts = Number(process.argv[2]);
if (!Number.isInteger(accounts) || accounts < 1 || !process.send)
  throw new Error('usage: fork devnet-process.ts <accounts> with an IPC channel');

const devnet = await startDevnet({ port: 0, accounts });
process.on('disconnect', () => {
  devnet.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
process.send({ url: devnet.url });
