/**
 * One seller process for bench/processes, in plain JavaScript so that `node` runs it as a user's server runs: no
 * TypeScript compiler loaded, and `x402-stacks` resolved through node_modules to the library's build (dist/).
 * Usage: node bench/processes/seller.mjs <ours|ours-subpath|ours-fetch|incumbent|bare> <payTo> <facilitatorUrl>
 * Prints `listening on <url>` once it accepts requests.
 */
import express from 'express';

const [kind, payTo, facilitatorUrl] = process.argv.slice(2);
const PRICE = '1000';

async function middlewareOf(which) {
  switch (which) {
    case 'ours':
      // The documentation's quickstart imports from the package root.
      return (await import('x402-stacks')).paymentMiddleware({
        amount: PRICE,
        payTo,
        network: 'testnet',
        facilitatorUrl,
      });
    case 'ours-subpath':
      return (await import('x402-stacks/express')).paymentMiddleware({
        amount: PRICE,
        payTo,
        network: 'testnet',
        facilitatorUrl,
      });
    case 'ours-fetch': {
      // The previous default: the facilitator client on the global fetch (undici), the same-run "before".
      const { createFacilitatorClient, paymentMiddleware } = await import('x402-stacks');
      return paymentMiddleware({
        amount: PRICE,
        payTo,
        network: 'testnet',
        facilitator: createFacilitatorClient({ url: facilitatorUrl, fetch: globalThis.fetch }),
      });
    }
    case 'incumbent':
      return (await import('x402-stacks-v2')).paymentMiddleware({
        amount: PRICE,
        payTo,
        network: 'stacks:2147483648',
        asset: 'STX',
        facilitatorUrl,
      });
    case 'bare':
      return (_req, _res, next) => next();
    default:
      throw new Error(`unknown seller kind '${which}'`);
  }
}

const app = express();
app.get('/paid', await middlewareOf(kind), (_req, res) => {
  res.json({ data: 'premium' });
});
const server = app.listen(0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
server.keepAliveTimeout = 120_000;
process.once('SIGTERM', () => server.close(() => process.exit(0)));
