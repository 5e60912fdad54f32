/**
 * `npm start`: the payment flow on the embedded local chain, end to end, offline. A devnet starts on 127.0.0.1, a
 * buyer signs real Stacks payments, and the facilitator engine verifies and settles them through the node's HTTP
 * routes. The HTTP seller middleware, the buyer wrappers and the facilitator service come next; then this runs them.
 */
import { startDevnet } from '@x402-stacks/devnet';
import {
  createFacilitator,
  createPaymentTransaction,
  getExplorerURL,
  microSTXtoSTX,
  REASON_CODES,
  STXtoMicroSTX,
  satsToBTC,
} from 'x402-stacks';

const devnet = await startDevnet({ port: 0 });
// Genesis accounts: the deployer buys, wallet_1 sells, wallet_9 sponsors fees.
const buyer = devnet.accounts[0]!;
const seller = devnet.accounts[1]!;
const sponsor = devnet.accounts[9]!;
const facilitator = createFacilitator({
  networks: { testnet: { url: devnet.url } },
  sponsor: { privateKeys: sponsor.privateKey },
  pollIntervalMs: 50,
});
const sbtcAsset = 'ST1F7QA2MDF17S807EPA36TSS8AMEFY4KA9TVGWXT.sbtc-token::sbtc-token';
let nonce = 0n;

console.log(`x402-stacks: HTTP 402 payments on Stacks (STX, sBTC, SIP-010), wire-compatible with x402 v2.

A local Stacks devnet is running at ${devnet.url} (testnet chain id, a block per accepted transaction).
Buyer  ${buyer.address}   Seller ${seller.address}
`);

async function pay(label: string, asset: string, amount: string, sponsored = false) {
  const requirements = {
    scheme: 'exact',
    network: 'stacks:2147483648',
    amount,
    asset,
    payTo: seller.address,
    maxTimeoutSeconds: 300,
    ...(sponsored ? { extra: { sponsor: sponsor.address } } : {}),
  };
  const payment = await createPaymentTransaction({
    account: buyer.account,
    requirements,
    nonce,
    ...(sponsored ? {} : { fee: 400n }),
  });
  nonce++;
  const paymentPayload = {
    x402Version: 2,
    accepted: requirements,
    payload: { transaction: payment.transaction },
  };
  const verdict = await facilitator.verify(paymentPayload, requirements);
  const settled = await facilitator.settle(paymentPayload, requirements);
  console.log(`${label}
   verify: ${verdict.isValid ? 'valid' : verdict.invalidReason}; settle: ${settled.success ? 'confirmed' : settled.errorReason}
   txid ${settled.transaction}
   ${getExplorerURL(settled.transaction, 'testnet')} (on testnet it would be here)`);
  return { paymentPayload, requirements, settled };
}

const stxBefore = devnet.chain.state.stx(seller.address);
const first = await pay(
  `1. The buyer pays ${microSTXtoSTX(STXtoMicroSTX('0.001'))} STX:`,
  'STX',
  STXtoMicroSTX('0.001').toString(),
);
console.log(
  `   the seller received ${microSTXtoSTX(devnet.chain.state.stx(seller.address) - stxBefore)} STX\n`,
);

const sbtcBefore = devnet.chain.state.token(sbtcAsset, seller.address);
await pay(
  '2. The buyer pays 2,500 sats of sBTC (a SIP-010 transfer with an exact post-condition):',
  'sBTC',
  '2500',
);
console.log(
  `   the seller received ${satsToBTC(devnet.chain.state.token(sbtcAsset, seller.address) - sbtcBefore)} sBTC\n`,
);

const buyerStx = devnet.chain.state.stx(buyer.address);
await pay('3. A sponsored payment: the facilitator pays the fee:', 'STX', '1000', true);
console.log(
  `   the buyer spent ${buyerStx - devnet.chain.state.stx(buyer.address)} micro-STX: the amount, no fee\n`,
);

const replay = await facilitator.settle(first.paymentPayload, first.requirements);
console.log(`4. Replaying the first payment: ${replay.errorReason}
   "${REASON_CODES[replay.errorReason as keyof typeof REASON_CODES]}"

Run the tests with: npm test. Start a devnet of your own with: npx x402-stacks devnet`);

await facilitator.idle();
await devnet.stop();
