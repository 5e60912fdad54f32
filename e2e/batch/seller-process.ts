/**
 * One seller process of the multi-process batch suites: our Express seller (`batch: true`, see `seller-stack.ts`) in
 * front of `BATCH_FACILITATOR_URL`, paid to `BATCH_PAY_TO`, each handler held `BATCH_PAUSE_MS`. It prints the URL it
 * listens on, and answers `GET /runs` (unpriced) with how many handlers ran here.
 */
import express from 'express';
import { startBatchSeller } from './seller-stack.js';

const seller = await startBatchSeller({
  facilitatorUrl: process.env.BATCH_FACILITATOR_URL!,
  payTo: process.env.BATCH_PAY_TO!,
  pauseMs: Number(process.env.BATCH_PAUSE_MS ?? '0'),
});
// The run count, on a port of its own so the paid app stays exactly the one the in-process suites use.
const counter = express();
counter.get('/runs', (_req, res) => {
  res.json({ runs: seller.runs.length });
});
const server = counter.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  console.log(`seller on ${seller.url} runs http://127.0.0.1:${port}/runs`);
});
process.once('SIGTERM', () => {
  server.close();
  void seller.stop().then(() => process.exit(0));
});
