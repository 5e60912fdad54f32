/**
 * The seller quickstart from the x402-stacks documentation, as written: one paid route and one free one, plus a paid
 * route described for x402scan the way "Register with x402scan" asks (a name and an outputSchema). Configured by
 * environment variables only (or a `.env` file; see .env.example). `npm start` at the repository root runs it against
 * the local devnet and facilitator, and registers the described route with a local registry.
 */
import 'dotenv/config';
import express, { type Request, type Response } from 'express';
import { getPayment, paymentMiddleware, STXtoMicroSTX } from 'x402-stacks';

const NETWORK = (process.env.NETWORK as 'mainnet' | 'testnet') || 'testnet';
const SERVER_ADDRESS = process.env.SERVER_ADDRESS!;
const PORT = process.env.PORT || 3003;
const FACILITATOR_URL = process.env.FACILITATOR_URL || 'https://facilitator.stacksx402.com';

const app = express();
app.use(express.json());

// Protected endpoint - requires STX payment (V2)
app.get(
  '/api/premium-data',
  paymentMiddleware({
    amount: STXtoMicroSTX(0.00001), // 0.00001 STX = 10 microSTX
    payTo: SERVER_ADDRESS, // V2 uses 'payTo' instead of 'address'
    network: NETWORK, // Accepts 'testnet', 'mainnet', or CAIP-2 format
    facilitatorUrl: FACILITATOR_URL,
  }),
  (req: Request, res: Response) => {
    // Get payment details from the verified request
    const payment = getPayment(req);

    res.json({
      success: true,
      message: 'Premium data access granted!',
      data: {
        secretValue: 42,
        timestamp: new Date().toISOString(),
      },
      payment: {
        transaction: payment?.transaction,
        payer: payment?.payer,
        network: payment?.network,
      },
    });
  },
);

// A route ready for x402scan, as "Register with x402scan" asks: a name, and an outputSchema saying how to call it and
// what it returns, both carried in the 402 (V2)
app.get(
  '/api/weather',
  paymentMiddleware({
    amount: STXtoMicroSTX(0.001),
    payTo: SERVER_ADDRESS,
    network: NETWORK,
    facilitatorUrl: FACILITATOR_URL,
    name: 'Weather API',
    description: 'Get current weather data for any city',
    mimeType: 'application/json',
    outputSchema: {
      input: {
        type: 'http',
        method: 'GET',
        queryParams: {
          city: { type: 'string', required: true, description: 'City name to get weather for' },
          units: {
            type: 'string',
            required: false,
            description: 'Temperature units',
            enum: ['celsius', 'fahrenheit'],
          },
        },
      },
      output: {
        temperature: { type: 'number' },
        conditions: { type: 'string' },
        humidity: { type: 'number' },
      },
    },
  }),
  (req: Request, res: Response) => {
    const celsius = req.query.units !== 'fahrenheit';
    res.json({
      city: String(req.query.city ?? 'Lisbon'),
      temperature: celsius ? 21 : 70,
      conditions: 'clear',
      humidity: 48,
    });
  },
);

// A metered route for many small calls: 0.0001 STX each, and batch-settlement offered beside exact when the
// facilitator serves it. A buyer deposits 100 calls' worth into an escrow channel once, then pays each call with a
// signed voucher, and the facilitator claims the channel in one transaction later.
app.get(
  '/api/quote',
  paymentMiddleware({
    amount: STXtoMicroSTX(0.0001),
    payTo: SERVER_ADDRESS,
    network: NETWORK,
    facilitatorUrl: FACILITATOR_URL,
    batch: true,
  }),
  (_req: Request, res: Response) => {
    res.json({ symbol: 'STX', price: 0.42, timestamp: new Date().toISOString() });
  },
);

// Health check endpoint (no payment required)
app.get('/health', (_req: Request, res: Response) => {
  res.json({ status: 'ok', network: NETWORK });
});

app.listen(PORT, () => {
  console.log(`Server running on port ${PORT}`);
  console.log(`Network: ${NETWORK}`);
  console.log(`Facilitator: ${FACILITATOR_URL}`);
});
