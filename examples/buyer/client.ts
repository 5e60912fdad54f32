/**
 * The buyer quickstart from the x402-stacks documentation, as written: load a wallet, wrap axios, request a paid
 * route, and read the settlement from the `payment-response` header. Configured by environment variables only (or a
 * `.env` file; see .env.example). With a local chain, `STACKS_API_URL` points the wallet's nonce and balance reads at it.
 */
import 'dotenv/config';
import axios from 'axios';
import {
  decodePaymentResponse,
  generateKeypair,
  getExplorerURL,
  privateKeyToAccount,
  wrapAxiosWithPayment,
} from 'x402-stacks';

const NETWORK = (process.env.NETWORK as 'mainnet' | 'testnet') || 'testnet';
const SERVER_URL = process.env.SERVER_URL || 'http://localhost:3003';

// Load or generate account
let account: ReturnType<typeof privateKeyToAccount>;

if (process.env.CLIENT_PRIVATE_KEY) {
  account = privateKeyToAccount(process.env.CLIENT_PRIVATE_KEY, NETWORK);
  console.log('Using wallet:', account.address);
} else {
  const keypair = generateKeypair(NETWORK);
  console.log('New wallet generated:', keypair.address);
  console.log('Private key:', keypair.privateKey);
  console.log('Add to .env: CLIENT_PRIVATE_KEY and fund with STX');
  account = privateKeyToAccount(keypair.privateKey, NETWORK);
}

// Create axios with automatic payment handling (v2)
const api = wrapAxiosWithPayment(
  axios.create({
    baseURL: SERVER_URL,
    timeout: 60000,
  }),
  account,
);

async function main() {
  // Check server health
  try {
    await axios.get(`${SERVER_URL}/health`);
    console.log('Server is running');
  } catch {
    console.error('Server not running. Start with: npm run dev:server');
    return;
  }

  // Make paid request - payment is handled automatically!
  try {
    console.log('Requesting premium data...');
    const response = await api.get('/api/premium-data');

    console.log('Success! Data:', response.data);

    // Decode payment response from headers (V2 uses base64-encoded 'payment-response')
    const paymentResponse = decodePaymentResponse(response.headers['payment-response']);
    if (paymentResponse) {
      console.log('Payment transaction:', paymentResponse.transaction);
      console.log('Explorer:', getExplorerURL(paymentResponse.transaction, NETWORK));
    }
  } catch (error) {
    // An axios error carries the server's answer in `response`; anything else has only its message.
    const failure = error as { message?: string; response?: { data?: { error?: string } } };
    console.error('Error:', failure.response?.data?.error || failure.message);
    process.exitCode = 1;
  }
}

main().catch(console.error);
