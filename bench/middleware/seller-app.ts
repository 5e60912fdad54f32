/**
 * The seller both halves of bench/middleware serve: a bare route, the middleware's 402 written by hand, and priced
 * routes with and without extensions, on Express 5 or 4.
 * @module
 */
import type express from 'express';
import { paymentMiddleware } from 'x402-stacks/express';

/** Who is paid, the key that signs offers and receipts, and the facilitator to settle with. */
export type SellerConfig = {
  readonly payTo: string;
  readonly offerSigner: string;
  readonly facilitatorUrl: string;
};

type Settle = 'before-handler' | 'after-handler';

/** The middleware's 402 as it goes on the wire, copied by the `/bare-402` route. */
const COPIED_HEADERS = [
  'content-type',
  'cache-control',
  'access-control-expose-headers',
  'payment-required',
];

/**
 * The seller app, and `copy402`: reads the app's own `/paid` 402 at `base` so that `/bare-402` sends the same bytes.
 * Until then `/bare-402` answers an empty 402.
 * @example
 * ```ts
 * const { app, copy402 } = sellerApp(express, { payTo, offerSigner, facilitatorUrl });
 * const server = app.listen(0, '127.0.0.1');
 * await copy402(`http://127.0.0.1:${port}`);
 * ```
 */
export function sellerApp(create: typeof express, config: SellerConfig) {
  const options = (settle: Settle) => ({
    amount: '1000',
    payTo: config.payTo,
    network: 'testnet',
    facilitatorUrl: config.facilitatorUrl,
    settle,
    // Static and unsponsored, as most routes are: the 402 is precomputed and needs no facilitator call.
    sponsored: false,
    description: 'Premium data',
    mimeType: 'application/json',
  });
  // Every extension the library offers a seller: signed offers (cached while their terms hold) and a signed receipt
  // per payment, a bazaar declaration, payment-identifier (on by default in every route). Without sign-in, the 402
  // is encoded once per resource; sign-in-with-x makes a fresh challenge on every 402.
  const withCacheableExtensions = (settle: Settle) => ({
    ...options(settle),
    offerReceipt: { signer: config.offerSigner },
    discovery: { method: 'GET' as const, output: { example: { data: 'premium' } } },
  });
  const withExtensions = (settle: Settle) => ({
    ...withCacheableExtensions(settle),
    signInWithX: { origin: 'http://127.0.0.1', accessMs: 3_600_000 },
  });
  const premium = (_req: express.Request, res: express.Response) => {
    res.json({ data: 'premium' });
  };

  let handWritten: { headers: Record<string, string>; body: string } = { headers: {}, body: '' };
  const app = create();
  app.get('/bare', (_req, res) => {
    res.json({ data: 'free' });
  });
  // The same bytes the middleware sends, written by hand: the floor of answering this 402 at all.
  app.get('/bare-402', (_req, res) => {
    res.statusCode = 402;
    for (const [name, value] of Object.entries(handWritten.headers)) res.setHeader(name, value);
    res.end(handWritten.body);
  });
  app.get('/paid', paymentMiddleware(options('before-handler')), premium);
  app.get('/paid-after', paymentMiddleware(options('after-handler')), premium);
  app.get('/paid-cacheable', paymentMiddleware(withCacheableExtensions('before-handler')), premium);
  app.get('/paid-extensions', paymentMiddleware(withExtensions('before-handler')), premium);

  async function copy402(base: string): Promise<void> {
    const sample = await fetch(`${base}/paid`);
    handWritten = {
      headers: Object.fromEntries(COPIED_HEADERS.map((name) => [name, sample.headers.get(name)!])),
      body: await sample.text(),
    };
  }
  return { app, copy402 };
}
