/**
 * The refusal table of `checkPaymentTransaction`: each row a good payment, and the one change that makes it fail
 * with a given reason. The unit test (src/stacks/payment/check.test.ts) runs every row against the pure check; the
 * facilitator's end-to-end test runs the rows that need no chain state through its HTTP \`/verify\` against the
 * devnet, where these public devnet keys are the genesis accounts.
 */
import {
  Cl,
  type ClarityValue,
  deserializeTransaction,
  makeContractCall,
  makeSTXTokenTransfer,
  Pc,
  type PostCondition,
  postConditionToWire,
  sponsorTransaction,
} from '@stacks/transactions';
import type { ReasonCode } from '../src/protocol/reasons.js';
import { privateKeyToAccount } from '../src/stacks/accounts.js';
import type { CheckPaymentOptions } from '../src/stacks/payment/check.js';
import type { StacksPaymentRequirements } from '../src/stacks/payment/terms.js';
import {
  flipBit,
  flipByte,
  NONCE_OFFSET,
  originSignatureOf,
  overwrite,
  R_OFFSET,
  resign,
  SIGNATURE_OFFSET,
  toHighS,
} from './tampering.js';

export const PAYER_KEY = '753b7cc01a1a2e86221266a154af739463fce51219d97e4f856cd7200c3bd2a601';
export const SPONSOR_KEY = '530d9f61984c888536871c6573073bdfc0058896dc1adfe9a6a10dfacadc209101';
export const PAYER = 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM';
export const PAYER_MAINNET = 'SP1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRCBGD7R';
export const PAY_TO = 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5';
export const PAY_TO_MAINNET = 'SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7';
export const SPONSOR = 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG';

export const SBTC = 'ST1F7QA2MDF17S807EPA36TSS8AMEFY4KA9TVGWXT.sbtc-token';
export const SBTC_MAINNET = 'SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token';
export const USDCX = 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.usdcx';
export const OTHER_TOKEN = 'ST1F7QA2MDF17S807EPA36TSS8AMEFY4KA9TVGWXT.other-token';
export type ContractId = `${string}.${string}`;
export const ASSET_NAMES: Record<string, string> = {
  [SBTC]: 'sbtc-token',
  [SBTC_MAINNET]: 'sbtc-token',
  [USDCX]: 'usdcx-token',
  [OTHER_TOKEN]: 'other-token',
};

export const AMOUNT = 5000n;
export const account = privateKeyToAccount(PAYER_KEY, 'testnet');

export function requirements(
  asset: string,
  overrides: Partial<StacksPaymentRequirements> = {},
): StacksPaymentRequirements {
  return {
    scheme: 'exact',
    network: 'stacks:2147483648',
    amount: AMOUNT.toString(),
    asset,
    payTo: PAY_TO,
    maxTimeoutSeconds: 300,
    ...overrides,
  };
}
export const STX = requirements('STX');
export const STX_SPONSORED = requirements('STX', { extra: { sponsor: SPONSOR } });
export const SBTC_REQ = requirements('sBTC');
export const SBTC_SPONSORED = requirements('sBTC', { extra: { sponsor: SPONSOR } });
export const USDCX_REQ = requirements('USDCx');
export const OTHER_REQ = requirements(OTHER_TOKEN);

export type StxSpec = {
  amount?: bigint;
  recipient?: string;
  fee?: bigint;
  nonce?: bigint;
  network?: 'testnet' | 'mainnet';
  sponsored?: boolean;
  memo?: string;
};

/** A signed STX transfer; the defaults pay STX requirements exactly. */
export async function stx(spec: StxSpec = {}): Promise<string> {
  const tx = await makeSTXTokenTransfer({
    recipient: spec.recipient ?? PAY_TO,
    amount: spec.amount ?? AMOUNT,
    senderKey: PAYER_KEY,
    network: spec.network ?? 'testnet',
    fee: spec.fee ?? (spec.sponsored ? 0n : 300n),
    nonce: spec.nonce ?? 0n,
    sponsored: spec.sponsored ?? false,
    ...(spec.memo === undefined ? {} : { memo: spec.memo }),
  });
  return tx.serialize();
}

export type TokenSpec = {
  contract?: ContractId;
  functionName?: string;
  amount?: bigint;
  sender?: string;
  recipient?: string;
  memo?: ClarityValue;
  /** Replaces the four `transfer` arguments entirely. */
  args?: ClarityValue[];
  mode?: 'allow' | 'deny';
  /** Default: the payer sends exactly `amount` of the contract's asset. */
  postConditions?: PostCondition[];
  fee?: bigint;
  nonce?: bigint;
  network?: 'testnet' | 'mainnet';
  sponsored?: boolean;
};

/** The post-condition a SIP-010 payment carries: the payer sends exactly `amount` of the asset. */
export function exactCondition(contract: ContractId = SBTC, amount = AMOUNT): PostCondition {
  return Pc.principal(PAYER).willSendEq(amount).ft(contract, ASSET_NAMES[contract]!);
}

/** A signed SIP-010 `transfer` call; the defaults pay sBTC requirements exactly. */
export async function token(spec: TokenSpec = {}): Promise<string> {
  const contract = spec.contract ?? SBTC;
  const [contractAddress, contractName] = contract.split('.') as [string, string];
  const amount = spec.amount ?? AMOUNT;
  const tx = await makeContractCall({
    contractAddress,
    contractName,
    functionName: spec.functionName ?? 'transfer',
    functionArgs: spec.args ?? [
      Cl.uint(amount),
      Cl.principal(spec.sender ?? PAYER),
      Cl.principal(spec.recipient ?? PAY_TO),
      spec.memo ?? Cl.none(),
    ],
    senderKey: PAYER_KEY,
    network: spec.network ?? 'testnet',
    fee: spec.fee ?? (spec.sponsored ? 0n : 3000n),
    nonce: spec.nonce ?? 0n,
    sponsored: spec.sponsored ?? false,
    postConditionMode: spec.mode ?? 'deny',
    postConditions: spec.postConditions ?? [exactCondition(contract, amount)],
    validateWithAbi: false,
  });
  return tx.serialize();
}

export const bytesOf = (hex: string) => hex.length / 2;
export const memoOf = (length: number) => Cl.some(Cl.buffer(new Uint8Array(length).fill(0x61)));
/** The serialized length of a transaction does not depend on the fee value: read it from a build. */
export const DECODE_REASON: ReasonCode =
  'invalid_exact_stacks_payload_transaction_could_not_be_decoded';
export const stxLength = bytesOf(await stx());

export type Row = {
  name: string;
  reason: ReasonCode;
  requirements: StacksPaymentRequirements;
  options?: CheckPaymentOptions;
  /** The untampered transaction, accepted under `requirements` and `options`. */
  good: () => Promise<string>;
  /** The bad transaction: built with a wrong value, or cut from the good one. Default: the good one. */
  bad?: (good: string) => string | Promise<string>;
  /** When the fault is in the requirements or options rather than the transaction. */
  badRequirements?: StacksPaymentRequirements;
  badOptions?: CheckPaymentOptions;
  /** The payer the refusal reports, once the transaction decodes. Default: the testnet payer. */
  payer?: string;
};

const sends = Pc.principal(PAYER);

/** The rows by concern, in the order the unit test reports them. */
export const CHECK_ROW_GROUPS: readonly { title: string; rows: Row[] }[] = [
  {
    title: 'the requirements',
    rows: [
      {
        name: "scheme 'upto' is not the exact scheme",
        reason: 'invalid_scheme',
        requirements: STX,
        good: () => stx(),
        badRequirements: requirements('STX', { scheme: 'upto' }),
      },
      {
        name: 'an EVM network',
        reason: 'invalid_network',
        requirements: STX,
        good: () => stx(),
        badRequirements: requirements('STX', { network: 'eip155:8453' }),
      },
      {
        name: 'amount 0 can never be paid',
        reason: 'invalid_payment_requirements',
        requirements: STX,
        good: () => stx(),
        badRequirements: requirements('STX', { amount: '0' }),
      },
      {
        name: 'a fractional amount',
        reason: 'invalid_payment_requirements',
        requirements: STX,
        good: () => stx(),
        badRequirements: requirements('STX', { amount: '5000.5' }),
      },
      {
        name: 'payTo is a mainnet address on testnet',
        reason: 'invalid_payment_requirements',
        requirements: STX,
        good: () => stx(),
        badRequirements: requirements('STX', { payTo: PAY_TO_MAINNET }),
      },
      {
        name: 'an unknown asset symbol',
        reason: 'invalid_payment_requirements',
        requirements: STX,
        good: () => stx(),
        badRequirements: requirements('DOGE'),
      },
      {
        name: 'extra.sponsor is not an address',
        reason: 'invalid_payment_requirements',
        requirements: STX_SPONSORED,
        good: () => stx({ sponsored: true }),
        badRequirements: requirements('STX', { extra: { sponsor: 42 } }),
      },
    ],
  },
  {
    title: 'decoding',
    rows: [
      {
        name: 'a trailing byte after the transaction',
        reason: DECODE_REASON,
        requirements: STX,
        good: () => stx(),
        bad: (good) => `${good}00`,
      },
      {
        name: 'the last byte cut off',
        reason: DECODE_REASON,
        requirements: STX,
        good: () => stx(),
        bad: (good) => good.slice(0, -2),
      },
      {
        name: 'odd-length hex',
        reason: DECODE_REASON,
        requirements: STX,
        good: () => stx(),
        bad: (good) => good.slice(0, -1),
      },
      {
        name: 'non-hex characters',
        reason: DECODE_REASON,
        requirements: STX,
        good: () => stx(),
        bad: (good) => `${good.slice(0, -2)}zz`,
      },
      {
        name: 'empty hex',
        reason: DECODE_REASON,
        requirements: STX,
        good: () => stx(),
        bad: () => '',
      },
      {
        name: 'a bare 0x',
        reason: DECODE_REASON,
        requirements: STX,
        // 0x-prefixed and upper-case hex of a good transaction are accepted.
        good: async () => `0x${(await stx()).toUpperCase()}`,
        bad: () => '0x',
      },
      {
        name: 'a memo length prefix that overstates the bytes left (the library reads a short slice)',
        reason: DECODE_REASON,
        requirements: SBTC_REQ,
        good: () => token({ memo: memoOf(34) }),
        // The memo is the last value: its 4-byte length sits 38 bytes before the end.
        bad: (good) => overwrite(good, bytesOf(good) - 38, Uint8Array.of(0, 0, 1, 34)),
      },
      {
        name: 'a memo length prefix that understates the bytes left',
        reason: DECODE_REASON,
        requirements: SBTC_REQ,
        good: () => token({ memo: memoOf(34) }),
        bad: (good) => overwrite(good, bytesOf(good) - 38, Uint8Array.of(0, 0, 0, 33)),
      },
    ],
  },
  {
    title: 'signature and network',
    rows: [
      {
        name: 'high-S signature (s → n − s, v ^= 1: same key, malleated)',
        reason: 'invalid_exact_stacks_payload_signature_high_s',
        requirements: STX,
        good: () => stx(),
        bad: (good) => toHighS(good),
      },
      {
        name: 'high-S signature on an sBTC call',
        reason: 'invalid_exact_stacks_payload_signature_high_s',
        requirements: SBTC_REQ,
        good: () => token(),
        bad: (good) => toHighS(good),
      },
      {
        name: 'n − s without flipping v recovers another key',
        reason: 'invalid_exact_stacks_payload_signature',
        requirements: STX,
        good: () => stx(),
        bad: (good) => toHighS(good, false),
      },
      {
        name: 'a flipped byte in the payload (the amount becomes the required one + 1)',
        reason: 'invalid_exact_stacks_payload_signature',
        requirements: STX,
        good: () => stx(),
        // Payload: type at 115, recipient 116..137, amount 138..145, memo 146..179.
        bad: (good) => flipBit(good, 145, 0),
      },
      {
        name: "a flipped byte in the signature's r",
        reason: 'invalid_exact_stacks_payload_signature',
        requirements: STX,
        good: () => stx(),
        bad: (good) => flipByte(good, R_OFFSET + 5),
      },
      {
        name: 'a flipped bit in the nonce',
        reason: 'invalid_exact_stacks_payload_signature',
        requirements: STX,
        good: () => stx(),
        bad: (good) => flipBit(good, NONCE_OFFSET + 7, 0),
      },
      {
        name: 'a recovery id of 4',
        reason: 'invalid_exact_stacks_payload_signature',
        requirements: STX,
        good: () => stx(),
        bad: (good) => overwrite(good, SIGNATURE_OFFSET, Uint8Array.of(4)),
      },
      {
        name: 'an unsigned transaction (empty signature)',
        reason: 'invalid_exact_stacks_payload_signature',
        requirements: STX,
        good: () => stx(),
        bad: (good) => overwrite(good, SIGNATURE_OFFSET, new Uint8Array(65)),
      },
      {
        name: "another transaction's signature",
        reason: 'invalid_exact_stacks_payload_signature',
        requirements: STX,
        good: () => stx(),
        bad: async (good) =>
          overwrite(
            good,
            SIGNATURE_OFFSET,
            Buffer.from(originSignatureOf(await stx({ nonce: 1n })), 'hex'),
          ),
      },
      {
        name: 'a mainnet transaction against testnet requirements',
        reason: 'invalid_exact_stacks_payload_network',
        requirements: STX,
        good: () => stx(),
        bad: () => stx({ network: 'mainnet', recipient: PAY_TO_MAINNET }),
        payer: PAYER_MAINNET,
      },
      {
        name: 'a mainnet sBTC call against testnet requirements',
        reason: 'invalid_exact_stacks_payload_network',
        requirements: SBTC_REQ,
        good: () => token(),
        bad: () => token({ network: 'mainnet', contract: SBTC_MAINNET, sender: PAYER_MAINNET }),
        payer: PAYER_MAINNET,
      },
      {
        name: 'testnet version with the mainnet chain id (re-signed)',
        reason: 'invalid_exact_stacks_payload_network',
        requirements: STX,
        good: () => stx(),
        bad: (good) =>
          resign(good, PAYER_KEY, (tx) => {
            tx.chainId = 1;
          }),
      },
    ],
  },
  {
    title: 'STX transfers',
    rows: [
      {
        name: 'amount one below the requirement',
        reason: 'invalid_exact_stacks_payload_amount_mismatch',
        requirements: STX,
        good: () => stx(),
        bad: () => stx({ amount: AMOUNT - 1n }),
      },
      {
        name: 'amount one above the requirement',
        reason: 'invalid_exact_stacks_payload_amount_mismatch',
        requirements: STX,
        good: () => stx(),
        bad: () => stx({ amount: AMOUNT + 1n }),
      },
      {
        name: 'a different recipient',
        reason: 'invalid_exact_stacks_payload_recipient_mismatch',
        requirements: STX,
        good: () => stx(),
        bad: () => stx({ recipient: SPONSOR }),
      },
      {
        name: 'the recipient as a contract principal of payTo',
        reason: 'invalid_exact_stacks_payload_recipient_mismatch',
        requirements: STX,
        good: () => stx(),
        bad: () => stx({ recipient: `${PAY_TO}.foo` }),
      },
      {
        name: 'the payer paying itself',
        reason: 'invalid_exact_stacks_payload_recipient_mismatch',
        requirements: STX,
        good: () => stx(),
        bad: () => stx({ recipient: PAYER }),
        badRequirements: requirements('STX', { payTo: PAYER }),
      },
      {
        name: 'a token transfer carrying a post-condition (re-signed)',
        reason: 'invalid_exact_stacks_payload_post_conditions',
        requirements: STX,
        good: () => stx(),
        bad: (good) =>
          resign(good, PAYER_KEY, (tx) => {
            tx.postConditions.values.push(
              postConditionToWire(Pc.principal(PAYER).willSendEq(AMOUNT).ustx()),
            );
          }),
      },
      {
        name: 'an STX payment sent as a contract call',
        reason: 'invalid_exact_stacks_payload_payload_type',
        requirements: STX,
        good: () => stx(),
        bad: () => token(),
      },
      {
        name: 'fee one below 1 micro-STX per byte',
        reason: 'invalid_exact_stacks_payload_fee',
        requirements: STX,
        good: () => stx({ fee: BigInt(stxLength) }),
        bad: () => stx({ fee: BigInt(stxLength) - 1n }),
      },
      {
        name: 'fee zero on an unsponsored transaction',
        reason: 'invalid_exact_stacks_payload_fee',
        requirements: STX,
        good: () => stx(),
        bad: () => stx({ fee: 0n }),
      },
      {
        name: 'fee one above maxFee',
        reason: 'invalid_exact_stacks_payload_fee',
        requirements: STX,
        options: { maxFee: 1000n },
        good: () => stx({ fee: 1000n }),
        bad: () => stx({ fee: 1001n }),
      },
      {
        name: 'nonce one above expectedNonce',
        reason: 'invalid_exact_stacks_payload_nonce',
        requirements: STX,
        options: { expectedNonce: 7n },
        good: () => stx({ nonce: 7n }),
        bad: () => stx({ nonce: 8n }),
      },
      {
        name: 'nonce one past the maxNonceAhead window',
        reason: 'invalid_exact_stacks_payload_nonce',
        requirements: STX,
        options: { expectedNonce: 7n, maxNonceAhead: 2n },
        good: () => stx({ nonce: 9n }),
        bad: () => stx({ nonce: 10n }),
      },
      {
        name: 'nonce one below expectedNonce, whatever the window',
        reason: 'invalid_exact_stacks_payload_nonce',
        requirements: STX,
        options: { expectedNonce: 7n, maxNonceAhead: 25n },
        good: () => stx({ nonce: 7n }),
        bad: () => stx({ nonce: 6n }),
      },
      {
        name: 'nonce one below expectedNonce (given as a number)',
        reason: 'invalid_exact_stacks_payload_nonce',
        requirements: STX,
        options: { expectedNonce: 7 },
        good: () => stx({ nonce: 7n }),
        bad: () => stx({ nonce: 6n }),
      },
      {
        name: 'STX balance one short of amount + fee',
        reason: 'insufficient_funds',
        requirements: STX,
        options: { balance: { stx: AMOUNT + 300n } },
        good: () => stx({ fee: 300n }),
        bad: () => stx({ fee: 301n }),
      },
    ],
  },
  {
    title: 'sponsorship',
    rows: [
      {
        name: 'a sponsored transaction when the requirements offer no sponsor',
        reason: 'invalid_exact_stacks_payload_sponsor',
        requirements: STX,
        good: () => stx(),
        bad: () => stx({ sponsored: true }),
      },
      {
        name: 'a sponsored sBTC call when the requirements offer no sponsor',
        reason: 'invalid_exact_stacks_payload_sponsor',
        requirements: SBTC_REQ,
        good: () => token(),
        bad: () => token({ sponsored: true }),
      },
      {
        name: 'a sponsored transaction with a non-zero origin fee',
        reason: 'invalid_exact_stacks_payload_sponsor',
        requirements: STX_SPONSORED,
        good: () => stx({ sponsored: true }),
        bad: () => stx({ sponsored: true, fee: 300n }),
      },
      {
        name: 'a sponsored transaction whose sponsor slot is already signed',
        reason: 'invalid_exact_stacks_payload_sponsor',
        requirements: STX_SPONSORED,
        good: () => stx({ sponsored: true }),
        bad: async (good) =>
          (
            await sponsorTransaction({
              transaction: deserializeTransaction(good),
              sponsorPrivateKey: SPONSOR_KEY,
              fee: 500n,
              sponsorNonce: 3n,
              network: 'testnet',
            })
          ).serialize(),
      },
    ],
  },
  {
    title: 'SIP-010 calls',
    rows: [
      {
        name: 'sBTC amount one below the requirement (post-condition to match)',
        reason: 'invalid_exact_stacks_payload_amount_mismatch',
        requirements: SBTC_REQ,
        good: () => token(),
        bad: () => token({ amount: AMOUNT - 1n }),
      },
      {
        name: 'sBTC amount one above the requirement (post-condition to match)',
        reason: 'invalid_exact_stacks_payload_amount_mismatch',
        requirements: SBTC_REQ,
        good: () => token(),
        bad: () => token({ amount: AMOUNT + 1n }),
      },
      {
        name: 'a different token contract (USDCx for sBTC)',
        reason: 'invalid_exact_stacks_payload_asset_mismatch',
        requirements: SBTC_REQ,
        good: () => token(),
        bad: () => token({ contract: USDCX }),
      },
      {
        name: 'a same-named contract from another deployer',
        reason: 'invalid_exact_stacks_payload_asset_mismatch',
        requirements: SBTC_REQ,
        good: () => token(),
        bad: () =>
          token({
            contract: `${PAYER}.sbtc-token`,
            postConditions: [
              Pc.principal(PAYER).willSendEq(AMOUNT).ft(`${PAYER}.sbtc-token`, 'sbtc-token'),
            ],
          }),
      },
      {
        name: "function 'transfer-many'",
        reason: 'invalid_exact_stacks_payload_function',
        requirements: SBTC_REQ,
        good: () => token(),
        bad: () => token({ functionName: 'transfer-many' }),
      },
      {
        name: "function 'get-balance'",
        reason: 'invalid_exact_stacks_payload_function',
        requirements: SBTC_REQ,
        good: () => token(),
        bad: () => token({ functionName: 'get-balance', args: [Cl.principal(PAYER)] }),
      },
      {
        name: 'a fifth argument',
        reason: 'invalid_exact_stacks_payload_arguments',
        requirements: SBTC_REQ,
        good: () => token(),
        bad: () =>
          token({
            args: [
              Cl.uint(AMOUNT),
              Cl.principal(PAYER),
              Cl.principal(PAY_TO),
              Cl.none(),
              Cl.uint(1),
            ],
          }),
      },
      {
        name: 'three arguments (no memo)',
        reason: 'invalid_exact_stacks_payload_arguments',
        requirements: SBTC_REQ,
        good: () => token(),
        bad: () => token({ args: [Cl.uint(AMOUNT), Cl.principal(PAYER), Cl.principal(PAY_TO)] }),
      },
      {
        name: 'an int amount instead of uint',
        reason: 'invalid_exact_stacks_payload_arguments',
        requirements: SBTC_REQ,
        good: () => token(),
        bad: () =>
          token({ args: [Cl.int(AMOUNT), Cl.principal(PAYER), Cl.principal(PAY_TO), Cl.none()] }),
      },
      {
        name: 'the sender as a string instead of a principal',
        reason: 'invalid_exact_stacks_payload_arguments',
        requirements: SBTC_REQ,
        good: () => token(),
        bad: () =>
          token({
            args: [Cl.uint(AMOUNT), Cl.stringAscii(PAYER), Cl.principal(PAY_TO), Cl.none()],
          }),
      },
      {
        name: 'the recipient as a string instead of a principal',
        reason: 'invalid_exact_stacks_payload_arguments',
        requirements: SBTC_REQ,
        good: () => token(),
        bad: () =>
          token({
            args: [Cl.uint(AMOUNT), Cl.principal(PAYER), Cl.stringAscii(PAY_TO), Cl.none()],
          }),
      },
      {
        name: 'a memo of (some string) instead of (some buff)',
        reason: 'invalid_exact_stacks_payload_arguments',
        requirements: SBTC_REQ,
        good: () => token({ memo: Cl.some(Cl.bufferFromUtf8('x402')) }),
        bad: () => token({ memo: Cl.some(Cl.stringAscii('x402')) }),
      },
      {
        name: 'a bare buffer memo instead of an optional',
        reason: 'invalid_exact_stacks_payload_arguments',
        requirements: SBTC_REQ,
        good: () => token({ memo: Cl.some(Cl.bufferFromUtf8('x402')) }),
        bad: () => token({ memo: Cl.bufferFromUtf8('x402') }),
      },
      {
        name: 'a 35-byte memo (the 34-byte one is accepted)',
        reason: 'invalid_exact_stacks_payload_memo',
        requirements: SBTC_REQ,
        good: () => token({ memo: memoOf(34) }),
        bad: () => token({ memo: memoOf(35) }),
      },
      {
        name: 'the recipient as a contract principal of payTo',
        reason: 'invalid_exact_stacks_payload_recipient_mismatch',
        requirements: SBTC_REQ,
        good: () => token(),
        bad: () => token({ recipient: `${PAY_TO}.foo` }),
      },
      {
        name: 'a different recipient',
        reason: 'invalid_exact_stacks_payload_recipient_mismatch',
        requirements: SBTC_REQ,
        good: () => token(),
        bad: () => token({ recipient: SPONSOR }),
      },
      {
        name: 'the transfer sender is not the origin',
        reason: 'invalid_exact_stacks_payload_sender_mismatch',
        requirements: SBTC_REQ,
        good: () => token(),
        bad: () => token({ sender: SPONSOR }),
      },
      {
        name: 'an sBTC payment sent as an STX transfer',
        reason: 'invalid_exact_stacks_payload_payload_type',
        requirements: SBTC_REQ,
        good: () => token(),
        bad: () => stx(),
      },
      {
        name: 'fee one below 1 micro-STX per byte on a call',
        reason: 'invalid_exact_stacks_payload_fee',
        requirements: SBTC_REQ,
        good: async () => token({ fee: BigInt(bytesOf(await token())) }),
        bad: async () => token({ fee: BigInt(bytesOf(await token())) - 1n }),
      },
      {
        name: 'token balance one short',
        reason: 'insufficient_funds',
        requirements: SBTC_REQ,
        options: { balance: { stx: 3000n, token: AMOUNT } },
        good: () => token(),
        badOptions: { balance: { stx: 3000n, token: AMOUNT - 1n } },
      },
      {
        name: 'STX balance one short of the fee on a token payment',
        reason: 'insufficient_funds',
        requirements: SBTC_REQ,
        options: { balance: { stx: 3000n, token: AMOUNT } },
        good: () => token({ fee: 3000n }),
        bad: () => token({ fee: 3001n }),
      },
    ],
  },
  {
    title: 'post-conditions',
    rows: [
      {
        name: 'allow mode on a token outside the allow-list',
        reason: 'invalid_exact_stacks_payload_post_condition_mode',
        requirements: OTHER_REQ,
        good: () => token({ contract: OTHER_TOKEN }),
        bad: () => token({ contract: OTHER_TOKEN, mode: 'allow', postConditions: [] }),
      },
      {
        name: 'allow mode with the exact post-condition on a token outside the allow-list',
        reason: 'invalid_exact_stacks_payload_post_condition_mode',
        requirements: OTHER_REQ,
        good: () => token({ contract: OTHER_TOKEN }),
        bad: () => token({ contract: OTHER_TOKEN, mode: 'allow' }),
      },
      {
        name: "sBTC in allow mode: accepted under 'compatible', refused under 'strict'",
        reason: 'invalid_exact_stacks_payload_post_condition_mode',
        requirements: SBTC_REQ,
        good: () => token({ mode: 'allow', postConditions: [] }),
        badOptions: { postConditionPolicy: 'strict' },
      },
      {
        name: "sBTC in allow mode under 'strict' (deny mode accepted)",
        reason: 'invalid_exact_stacks_payload_post_condition_mode',
        requirements: SBTC_REQ,
        options: { postConditionPolicy: 'strict' },
        good: () => token(),
        bad: () => token({ mode: 'allow' }),
      },
      {
        name: "sBTC in allow mode with a loose post-condition under 'compatible'",
        reason: 'invalid_exact_stacks_payload_post_conditions',
        requirements: SBTC_REQ,
        good: () => token({ mode: 'allow' }),
        bad: () =>
          token({
            mode: 'allow',
            postConditions: [sends.willSendGte(AMOUNT).ft(SBTC, 'sbtc-token')],
          }),
      },
      {
        name: 'deny mode without a post-condition',
        reason: 'invalid_exact_stacks_payload_post_conditions',
        requirements: SBTC_REQ,
        good: () => token(),
        bad: () => token({ postConditions: [] }),
      },
      {
        name: 'a gte post-condition',
        reason: 'invalid_exact_stacks_payload_post_conditions',
        requirements: SBTC_REQ,
        good: () => token(),
        bad: () => token({ postConditions: [sends.willSendGte(AMOUNT).ft(SBTC, 'sbtc-token')] }),
      },
      {
        name: 'an lte post-condition',
        reason: 'invalid_exact_stacks_payload_post_conditions',
        requirements: SBTC_REQ,
        good: () => token(),
        bad: () => token({ postConditions: [sends.willSendLte(AMOUNT).ft(SBTC, 'sbtc-token')] }),
      },
      {
        name: 'an eq post-condition on a different amount',
        reason: 'invalid_exact_stacks_payload_post_conditions',
        requirements: SBTC_REQ,
        good: () => token(),
        bad: () => token({ postConditions: [exactCondition(SBTC, AMOUNT + 1n)] }),
      },
      {
        name: 'a post-condition on the wrong asset name',
        reason: 'invalid_exact_stacks_payload_post_conditions',
        requirements: SBTC_REQ,
        good: () => token(),
        bad: () => token({ postConditions: [sends.willSendEq(AMOUNT).ft(SBTC, 'sbtc')] }),
      },
      {
        name: 'a post-condition on another contract',
        reason: 'invalid_exact_stacks_payload_post_conditions',
        requirements: SBTC_REQ,
        good: () => token(),
        bad: () => token({ postConditions: [exactCondition(USDCX)] }),
      },
      {
        name: 'a post-condition on STX instead of the token',
        reason: 'invalid_exact_stacks_payload_post_conditions',
        requirements: SBTC_REQ,
        good: () => token(),
        bad: () => token({ postConditions: [sends.willSendEq(AMOUNT).ustx()] }),
      },
      {
        name: 'a post-condition on another principal (the origin form is accepted)',
        reason: 'invalid_exact_stacks_payload_post_conditions',
        requirements: SBTC_REQ,
        good: () =>
          token({ postConditions: [Pc.origin().willSendEq(AMOUNT).ft(SBTC, 'sbtc-token')] }),
        bad: () =>
          token({
            postConditions: [Pc.principal(PAY_TO).willSendEq(AMOUNT).ft(SBTC, 'sbtc-token')],
          }),
      },
      {
        name: "a post-condition on a contract principal of the payer's address",
        reason: 'invalid_exact_stacks_payload_post_conditions',
        requirements: SBTC_REQ,
        good: () => token(),
        bad: () =>
          token({
            postConditions: [
              Pc.principal(`${PAYER}.foo`).willSendEq(AMOUNT).ft(SBTC, 'sbtc-token'),
            ],
          }),
      },
      {
        name: 'two post-conditions',
        reason: 'invalid_exact_stacks_payload_post_conditions',
        requirements: SBTC_REQ,
        good: () => token(),
        bad: () => token({ postConditions: [exactCondition(), sends.willSendEq(1n).ustx()] }),
      },
      {
        name: 'the exact post-condition twice',
        reason: 'invalid_exact_stacks_payload_post_conditions',
        requirements: SBTC_REQ,
        good: () => token(),
        bad: () => token({ postConditions: [exactCondition(), exactCondition()] }),
      },
    ],
  },
];
