/**
 * The seller of bench/middleware's unpaid rows, in a process of its own, so that the rates are the seller's and not
 * shared with the load generator's event loop. Started by `fork` with `--import tsx`, as index.ts does.
 * Usage: unpaid-seller.ts <5|4>, with SELLER_CONFIG (JSON: {@link SellerConfig}) in the environment.
 * Sends `{ url }` over IPC once it listens; answers each `'cpu'` message with its `process.cpuUsage()`.
 * @module
 */
import { once } from 'node:events';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { type SellerConfig, sellerApp } from './seller-app.js';

const version = process.argv[2];
if ((version !== '5' && version !== '4') || !process.send || !process.env.SELLER_CONFIG)
  throw new Error('usage: fork unpaid-seller.ts <5|4> with SELLER_CONFIG set and an IPC channel');
const config = JSON.parse(process.env.SELLER_CONFIG) as SellerConfig;
// Express 4 is installed under the npm alias `express4`; its API is the one @types/express describes.
const create =
  version === '5' ? express : (createRequire(import.meta.url)('express4') as typeof express);

const { app, copy402 } = sellerApp(create, config);
const server = app.listen(0, '127.0.0.1');
// Longer than any pause between rounds: a server closing an idle keep-alive socket as the load reuses it resets it.
server.keepAliveTimeout = 120_000;
await once(server, 'listening');
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
await copy402(url);
process.on('message', (message) => {
  if (message === 'cpu') process.send!(process.cpuUsage());
});
// The parent going away (its IPC channel closes) ends this process too.
process.on('disconnect', () => process.exit(0));
process.send({ url });
