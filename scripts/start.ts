/**
 * `npm start`: until the local demo (devnet + facilitator + seller + buyer) lands, this prints what exists and shows
 * the library core working offline: it signs real Stacks payments and checks them, including a tampered one.
 */
import {
  checkPaymentTransaction,
  createPaymentTransaction,
  decodePaymentResponse,
  encodePaymentResponseHeader,
  generateKeypair,
  getExplorerURL,
  microSTXtoSTX,
  privateKeyToAccount,
  REASON_CODES,
  STXtoMicroSTX,
  satsToBTC,
} from 'x402-stacks';

// Clarinet's published devnet deployer key: public, for local use only.
const PAYER_KEY = '753b7cc01a1a2e86221266a154af739463fce51219d97e4f856cd7200c3bd2a601';

const payer = privateKeyToAccount(PAYER_KEY, 'testnet');
const seller = generateKeypair('testnet');

console.log(`x402-stacks: HTTP 402 payments on Stacks (STX, sBTC, SIP-010), wire-compatible with x402 v2.

What exists today
  packages/x402-stacks   the library: protocol schemas and header codecs, networks, assets, exact units,
                         accounts, payment transactions (build and check)
  bench/verify           npm run bench: sign/s and check/s against verifyOrigin and raw libsecp256k1
Coming next: the embedded devnet, the facilitator service, the axios/fetch clients and Express/Hono
middleware, the @x402/core adapters and the x402scan registry. Then npm start runs the whole flow locally.

A tour of the core, offline
`);

const requirements = {
  scheme: 'exact',
  network: 'stacks:2147483648',
  amount: STXtoMicroSTX('0.001').toString(),
  asset: 'STX',
  payTo: seller.address,
  maxTimeoutSeconds: 300,
};
console.log(
  `1. A seller asks for ${microSTXtoSTX(requirements.amount)} STX (${requirements.amount} micro-STX) at ${seller.address}.`,
);

const payment = await createPaymentTransaction({
  account: payer,
  requirements,
  nonce: 0n,
  fee: 200n,
});
console.log(`2. The buyer ${payer.address} signs a transfer without broadcasting it:
   txid ${payment.txid}
   ${payment.transaction.length / 2} bytes, explorer link once mined: ${getExplorerURL(payment.txid, 'testnet')}`);

const check = checkPaymentTransaction(payment.transaction, requirements, { expectedNonce: 0n });
console.log(
  `3. The facilitator's check: ${check.isValid ? 'valid' : `invalid (${check.invalidReason})`}`,
);

const cheaper = { ...requirements, amount: (BigInt(requirements.amount) - 1n).toString() };
const underpaid = await createPaymentTransaction({
  account: payer,
  requirements: cheaper,
  nonce: 0n,
  fee: 200n,
});
const refused = checkPaymentTransaction(underpaid.transaction, requirements);
if (!refused.isValid) {
  console.log(`4. One micro-STX short is refused: ${refused.invalidReason}
   "${REASON_CODES[refused.invalidReason]}"`);
}

const sbtc = { ...requirements, asset: 'sBTC', amount: '2500' };
const sbtcPayment = await createPaymentTransaction({
  account: payer,
  requirements: sbtc,
  nonce: 1n,
  fee: 400n,
});
const sbtcCheck = checkPaymentTransaction(sbtcPayment.transaction, sbtc);
console.log(
  `5. ${satsToBTC(sbtc.amount)} sBTC as a SIP-010 transfer with an exact post-condition: ${sbtcCheck.isValid ? 'valid' : 'invalid'}`,
);

const header = encodePaymentResponseHeader({
  success: true,
  transaction: payment.txid,
  payer: payer.address,
  network: 'stacks:2147483648',
});
console.log(`6. The payment-response header a seller returns decodes back to the receipt:
   ${JSON.stringify(decodePaymentResponse(header))}

Run the tests with: npm test`);
