/**
 * Runs test files in this one process with the network refused: `tsx offline.ts <file.test.ts>…`. It is how
 * `npm run test:unit` stays pure and fast: one process shares a single TypeScript load instead of paying for one per
 * file, and a test that tries to open or accept a connection fails with `unit_tier_network` instead of quietly
 * depending on a service (such a test belongs in the full suite).
 */
import net from 'node:net';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Thrown by any attempt to connect or listen while the unit tier runs. */
class UnitTierNetworkError extends Error {
  readonly reason = 'unit_tier_network';
  constructor(what: string) {
    super(
      `unit_tier_network: a unit test tried to ${what}; move it to a suite that runs with npm test`,
    );
  }
}

net.Socket.prototype.connect = function refuseConnect(): never {
  throw new UnitTierNetworkError('open a network connection');
};
net.Server.prototype.listen = function refuseListen(): never {
  throw new UnitTierNetworkError('listen on a port');
};

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: offline.ts <file.test.ts>…');
  process.exit(2);
}
for (const file of files) await import(pathToFileURL(resolve(file)).href);
