/**
 * What the batch-escrow tests share: a Clarinet simnet (`@stacks/clarinet-sdk`, a GPL devDependency used only in
 * tests) with the real contract deployed in Clarity 3 at epoch 3.3, deterministic parties, the channel config as a
 * Clarity tuple, and SIP-018 signatures made by the library's `signStructuredData`, so the contract is checked
 * against the hash the library computes, never against a copy of its own arithmetic.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { getSDK, type ParsedTransactionResult, type Simnet } from '@stacks/clarinet-sdk';
import {
  Cl,
  type ClarityValue,
  cvToString,
  deserializeCV,
  privateKeyToAddress,
  serializeCVBytes,
} from '@stacks/transactions';
import { STACKS_NETWORKS } from 'x402-stacks';
import { type StructuredDataDomain, signStructuredData } from 'x402-stacks/stacks';

export const DEPLOYER = 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM';
export const ESCROW = `${DEPLOYER}.batch-escrow`;
export const PLAIN_TOKEN = `${DEPLOYER}.plain-token`;
export const DRAINING_TOKEN = `${DEPLOYER}.draining-token`;
/** The real sbtc-token simnet preloads at its mainnet id. */
export const SBTC = 'SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token';

/** The contract's SIP-018 domain on the simnet's chain (testnet's chain id). */
export const ESCROW_DOMAIN: StructuredDataDomain = {
  name: 'x402-batch-escrow',
  version: '1',
  chainId: STACKS_NETWORKS.testnet.chainId,
};

const here = new URL('.', import.meta.url);

/** A simnet with the escrow, a plain SIP-010 token and a hostile one deployed; sBTC and the plain token allowed. */
export async function startEscrowSimnet(options = { trackCosts: false }): Promise<Simnet> {
  // With trackCosts a test can show a full claim batch fits a block's budget; it slows every call, so it is opt-in.
  const simnet = await getSDK({ trackCosts: options.trackCosts, trackCoverage: false });
  await simnet.initEmptySession(null);
  simnet.setEpoch('3.3'); // an empty session starts at epoch 2.05
  simnet.mintSTX(DEPLOYER, 1_000_000_000n);
  for (const [name, path] of [
    ['batch-escrow', '../contracts/batch-escrow.clar'],
    ['plain-token', 'contracts/plain-token.clar'],
    ['draining-token', 'contracts/draining-token.clar'],
  ] as const) {
    const source = readFileSync(new URL(path, here), 'utf8');
    simnet.deployContract(name, source, { clarityVersion: 3 }, DEPLOYER);
  }
  for (const token of [SBTC, PLAIN_TOKEN]) {
    const { result } = simnet.callPublicFn(
      ESCROW,
      'set-token-allowed',
      [Cl.principal(token), Cl.bool(true)],
      DEPLOYER,
    );
    assert.equal(cvToString(result), '(ok true)');
  }
  return simnet;
}

export type Party = { readonly address: string; readonly privateKey: string };

/** A deterministic testnet key and address from a label; unknown to the chain until funded. */
export function party(label: string): Party {
  const privateKey = `${createHash('sha256').update(`x402-stacks escrow ${label}`).digest('hex')}01`;
  return { address: privateKeyToAddress(privateKey, 'testnet'), privateKey };
}

export type ChannelConfig = {
  readonly payer: string;
  readonly payerAuthorizer: string;
  readonly receiver: string;
  readonly receiverAuthorizer: string;
  /** The SIP-010 contract id, or null for STX. */
  readonly token: string | null;
  readonly withdrawDelay: bigint;
  /** 32 bytes, hex. */
  readonly salt: string;
};

export function configCV(config: ChannelConfig): ClarityValue {
  return Cl.tuple({
    payer: Cl.principal(config.payer),
    'payer-authorizer': Cl.principal(config.payerAuthorizer),
    receiver: Cl.principal(config.receiver),
    'receiver-authorizer': Cl.principal(config.receiverAuthorizer),
    token: config.token === null ? Cl.none() : Cl.some(Cl.principal(config.token)),
    'withdraw-delay': Cl.uint(config.withdrawDelay),
    salt: Cl.bufferFromHex(config.salt),
  });
}

/** sha256 of the config tuple's consensus serialization, as the contract computes it. */
export function channelIdOf(config: ChannelConfig): string {
  return createHash('sha256')
    .update(serializeCVBytes(configCV(config)))
    .digest('hex');
}

export function saltOf(label: string): string {
  return createHash('sha256').update(`salt ${label}`).digest('hex');
}

/** The voucher message: the payer-authorizer lets the receiver side claim up to `maxClaimable` in total. */
export function voucherCV(
  channelId: string,
  maxClaimable: bigint,
  escrow: string = ESCROW,
): ClarityValue {
  return Cl.tuple({
    action: Cl.stringAscii('voucher'),
    escrow: Cl.principal(escrow),
    'channel-id': Cl.bufferFromHex(channelId),
    'max-claimable': Cl.uint(maxClaimable),
  });
}

export function signVoucher(
  signer: Party,
  channelId: string,
  maxClaimable: bigint,
  options: { domain?: StructuredDataDomain; escrow?: string } = {},
): string {
  return signStructuredData(
    signer.privateKey,
    options.domain ?? ESCROW_DOMAIN,
    voucherCV(channelId, maxClaimable, options.escrow),
  );
}

export type ClaimRow = {
  readonly channelId: string;
  readonly maxClaimable: bigint;
  readonly voucherSignature: string;
  readonly claimed: bigint;
};

export function claimRowsCV(rows: readonly ClaimRow[]): ClarityValue {
  return Cl.list(
    rows.map((row) =>
      Cl.tuple({
        'channel-id': Cl.bufferFromHex(row.channelId),
        'max-claimable': Cl.uint(row.maxClaimable),
        'voucher-signature': Cl.bufferFromHex(row.voucherSignature),
        claimed: Cl.uint(row.claimed),
      }),
    ),
  );
}

/** The claim-batch message: the receiver-authorizer authorizes these (channel, new claimed total) rows, in order. */
export function claimBatchCV(rows: readonly ClaimRow[]): ClarityValue {
  return Cl.tuple({
    action: Cl.stringAscii('claim'),
    escrow: Cl.principal(ESCROW),
    claims: Cl.list(
      rows.map((row) =>
        Cl.tuple({ 'channel-id': Cl.bufferFromHex(row.channelId), claimed: Cl.uint(row.claimed) }),
      ),
    ),
  });
}

export function signClaimBatch(signer: Party, rows: readonly ClaimRow[]): string {
  return signStructuredData(signer.privateKey, ESCROW_DOMAIN, claimBatchCV(rows));
}

/** The refund message: the receiver-authorizer agrees to return up to `amount` of the unclaimed escrow, once. */
export function refundCV(channelId: string, amount: bigint, nonce: bigint): ClarityValue {
  return Cl.tuple({
    action: Cl.stringAscii('refund'),
    escrow: Cl.principal(ESCROW),
    'channel-id': Cl.bufferFromHex(channelId),
    amount: Cl.uint(amount),
    nonce: Cl.uint(nonce),
  });
}

export function signRefund(signer: Party, channelId: string, amount: bigint, nonce: bigint) {
  return signStructuredData(signer.privateKey, ESCROW_DOMAIN, refundCV(channelId, amount, nonce));
}

/** `none` for STX, `(some token)` for a SIP-010 contract passed as the trait argument. */
export function tokenArg(token: string | null): ClarityValue {
  return token === null ? Cl.none() : Cl.some(Cl.principal(token));
}

export function optionalSignature(signature: string | undefined): ClarityValue {
  return signature === undefined ? Cl.none() : Cl.some(Cl.bufferFromHex(signature));
}

/** The result as Clarity text (`(ok u5)`, `(err u107)`) and the contract's print events as plain values. */
export type Outcome = { readonly result: string; readonly prints: Record<string, unknown>[] };

export function call(
  simnet: Simnet,
  fn: string,
  args: ClarityValue[],
  sender: string,
): Outcome & Pick<ParsedTransactionResult, 'events' | 'costs'> {
  const { result, events, costs } = simnet.callPublicFn(ESCROW, fn, args, sender);
  const prints = events
    .filter((e) => e.event === 'print_event' && e.data.contract_identifier === ESCROW)
    .map((e) => plain(deserializeCV(String(e.data.raw_value))) as Record<string, unknown>);
  return { result: cvToString(result), prints, events, costs };
}

export function readOnly(simnet: Simnet, fn: string, args: ClarityValue[]): ClarityValue {
  return simnet.callReadOnlyFn(ESCROW, fn, args, DEPLOYER).result;
}

/** A Clarity value as plain JSON-ish data: uints as bigint, buffers as hex, principals as strings. */
export function plain(value: ClarityValue): unknown {
  switch (value.type) {
    case 'uint':
    case 'int':
      return BigInt(value.value);
    case 'buffer':
      return `0x${value.value}`;
    case 'ascii':
    case 'utf8':
    case 'address':
    case 'contract':
      return value.value;
    case 'true':
      return true;
    case 'false':
      return false;
    case 'none':
      return null;
    case 'some':
      return plain(value.value);
    case 'list':
      return value.value.map(plain);
    case 'tuple':
      return Object.fromEntries(Object.entries(value.value).map(([k, v]) => [k, plain(v)]));
    default:
      return cvToString(value);
  }
}

export function stxOf(simnet: Simnet, principal: string): bigint {
  return simnet.getAssetsMap().get('STX')?.get(principal) ?? 0n;
}

export function tokenBalance(simnet: Simnet, token: string, principal: string): bigint {
  const answer = cvToString(
    simnet.callReadOnlyFn(token, 'get-balance', [Cl.principal(principal)], DEPLOYER).result,
  );
  const match = /^\(ok u(\d+)\)$/.exec(answer);
  assert.ok(match, `get-balance answered ${answer}`);
  return BigInt(match[1]!);
}

/** A map entry read straight from the contract's storage (far cheaper than a read-only call), or null. */
function mapEntry(simnet: Simnet, map: string, key: ClarityValue): ClarityValue | null {
  try {
    return simnet.getMapEntry(ESCROW, map, key);
  } catch (error) {
    // The SDK throws this exact message for an absent key; anything else is a real failure.
    if (String(error) === 'value not found') return null;
    throw error;
  }
}

/** The channel as the contract stores it, or null. */
export type ChannelState = {
  balance: bigint;
  claimed: bigint;
  refundNonce: bigint;
  withdrawal: { amount: bigint; requestedAt: bigint } | null;
};

export function channelState(simnet: Simnet, channelId: string): ChannelState | null {
  const entry = mapEntry(simnet, 'channels', Cl.bufferFromHex(channelId));
  if (entry === null || entry.type === 'none') return null;
  const stored = plain(entry) as {
    balance: bigint;
    claimed: bigint;
    'refund-nonce': bigint;
    withdrawal: { amount: bigint; 'requested-at': bigint } | null;
  };
  return {
    balance: stored.balance,
    claimed: stored.claimed,
    refundNonce: stored['refund-nonce'],
    withdrawal: stored.withdrawal
      ? { amount: stored.withdrawal.amount, requestedAt: stored.withdrawal['requested-at'] }
      : null,
  };
}

/** Claimed but not yet settled for (receiver, token); `get-unsettled` answers the same. */
export function unsettled(simnet: Simnet, receiver: string, token: string | null): bigint {
  const entry = mapEntry(
    simnet,
    'unsettled',
    Cl.tuple({ receiver: Cl.principal(receiver), token: tokenArg(token) }),
  );
  return entry === null || entry.type === 'none' ? 0n : (plain(entry) as bigint);
}

/** The plain test token's balance, from simnet's asset map (no read-only call). */
export function plainTokenOf(simnet: Simnet, principal: string): bigint {
  return simnet.getAssetsMap().get('.plain-token.plain')?.get(principal) ?? 0n;
}
