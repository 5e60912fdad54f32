/**
 * Requirements and signed payments as a buyer makes them: sponsored (the requirements name a sponsor key, the buyer
 * signs with fee 0), STX or sBTC, serialised as the x402 v2 settle body.
 */
import { randomPrivateKey } from '@stacks/transactions';
import { privateKeyToAccount, type StacksAccount } from 'x402-stacks';
import { createPaymentTransaction, KNOWN_TOKENS } from 'x402-stacks/stacks';

export type Asset = 'STX' | 'sBTC';

/** The asset as the devnet's transfer events name it, for matching payments to the chain. */
export const SBTC_ASSET_ID = `${KNOWN_TOKENS.sBTC.contracts.testnet}::${KNOWN_TOKENS.sBTC.assetName}`;

export type Requirements = {
  scheme: 'exact';
  network: 'stacks:2147483648';
  amount: string;
  asset: string;
  payTo: string;
  maxTimeoutSeconds: number;
  extra: { sponsor: string };
};

export function sponsoredRequirements(
  asset: Asset,
  amount: bigint,
  payTo: string,
  sponsor: string,
): Requirements {
  return {
    scheme: 'exact',
    network: 'stacks:2147483648',
    amount: amount.toString(),
    asset: asset === 'STX' ? 'STX' : KNOWN_TOKENS.sBTC.contracts.testnet,
    payTo,
    maxTimeoutSeconds: 300,
    extra: { sponsor },
  };
}

/** The one paid route of the chaos run's seller. */
const CHAOS_RESOURCE = 'http://seller.chaos.test/paid';

/** A signed payment: the settle body to POST, and what identifies it. */
export type SignedPayment = {
  readonly body: string;
  /** The id of the bytes the buyer signed (the facilitator's claim key; the on-chain txid differs once sponsored). */
  readonly paymentTxid: string;
  readonly nonce: bigint;
};

export async function signPayment(
  account: StacksAccount,
  requirements: Requirements,
  nonce: bigint,
): Promise<SignedPayment> {
  const { transaction, txid } = await createPaymentTransaction({ account, requirements, nonce });
  const body = JSON.stringify({
    x402Version: 2,
    // The seller's route, as the library's seller names it in every settle: what binds the payment's status.
    paymentPayload: {
      x402Version: 2,
      resource: { url: CHAOS_RESOURCE },
      accepted: requirements,
      payload: { transaction },
    },
    paymentRequirements: requirements,
  });
  return { body, paymentTxid: txid, nonce };
}

/** A new account with a key from the OS's randomness: attackers are many and cheap. */
export function freshAccount(): StacksAccount {
  return privateKeyToAccount(randomPrivateKey(), 'testnet');
}
