/**
 * What the batch-settlement seller suites share: the facilitator service's environment (batch escrow, authorizer key,
 * a ledger), our Express seller with `batch: true` on four routes, and a hand-built buyer that signs deposits,
 * vouchers and refunds and sends them in `payment-signature` as the library's wrappers do. The buyer library lands
 * separately; building the payloads here keeps these suites on the wire format alone.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Cl, type ClarityValue, makeContractCall } from '@stacks/transactions';
import {
  type FacilitatorService,
  loadConfig,
  startFacilitatorService,
} from '@x402-stacks/facilitator';
import express, { type Request, type Response } from 'express';
import type { PaymentRequirements, SettleResponse } from 'x402-stacks';
import {
  BATCH_SETTLEMENT,
  type ChannelConfig,
  channelIdOf,
  createDepositTransaction,
  signVoucher,
} from 'x402-stacks/batch';
import { getPayment, paymentMiddleware } from 'x402-stacks/express';
import {
  decodePaymentRequiredHeader,
  decodePaymentResponseHeader,
  encodePaymentSignatureHeader,
} from 'x402-stacks/protocol';
import { resolveAsset, STACKS_NETWORKS, type StacksAccount } from 'x402-stacks/stacks';

export const NETWORK = STACKS_NETWORKS.testnet;
/** The escrow the devnet preloads at genesis. */
export const ESCROW = 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow';
/** Every route's price (the voucher ceiling per request), micro-STX. */
export const PRICE = 1000n;
/** What `/dynamic` charges of the price. */
export const DYNAMIC_CHARGE = 400n;
/** The routes' withdraw delay, burn blocks (the escrow's minimum: 30 devnet blocks). */
export const WITHDRAW_DELAY = 6;
/** Devnet accounts by role: the seller's payTo, the receiver-authorizer key, the sponsor key. */
export const ROLES = { seller: 1, authorizer: 4, sponsor: 5 } as const;

type DevnetLike = {
  readonly url: string;
  readonly accounts: readonly { readonly address: string; readonly privateKey: string }[];
};

/** A channel snapshot as a facilitator's answer carries it (`extra.channelState`): nothing claimed, no withdrawal. */
export function channelSnapshot(channelId: string, balance: bigint, charged: string) {
  return {
    channelId,
    balance: balance.toString(),
    totalClaimed: '0',
    withdrawRequestedAt: 0,
    refundNonce: '0',
    chargedCumulativeAmount: charged,
  };
}

/** The facilitator service in this process, on {@link facilitatorEnv}. */
export function startBatchService(
  devnet: DevnetLike,
  databaseUrl: string,
  options: Parameters<typeof facilitatorEnv>[2] = {},
): Promise<FacilitatorService> {
  return startFacilitatorService(loadConfig(facilitatorEnv(devnet, databaseUrl, options)));
}

/**
 * The facilitator service's environment: batch-settlement on the devnet's escrow, the authorizer and sponsor keys,
 * the ledger at `databaseUrl`. Claims are due at once (age 0) but the keeper runs only when `keeperMs` says so.
 */
export function facilitatorEnv(
  devnet: DevnetLike,
  databaseUrl: string,
  options: {
    keeperMs?: number;
    schema?: string;
    settleTimeoutMs?: number;
    /** When a claim is due by age alone; default 0 (at once). */
    claimMaxAgeMs?: number;
  } = {},
): Record<string, string> {
  return {
    PORT: '0',
    STACKS_API_URL_TESTNET: devnet.url,
    DATABASE_URL: databaseUrl,
    ...(options.schema ? { DATABASE_SCHEMA: options.schema } : {}),
    SPONSOR_PRIVATE_KEYS: devnet.accounts[ROLES.sponsor]!.privateKey,
    BATCH_ESCROW_TESTNET: ESCROW,
    BATCH_AUTHORIZER_KEY: devnet.accounts[ROLES.authorizer]!.privateKey,
    BATCH_CLAIM_MAX_AGE_MS: String(options.claimMaxAgeMs ?? 0),
    KEEPER_INTERVAL_MS: String(options.keeperMs ?? 600_000),
    ...(options.settleTimeoutMs ? { SETTLE_TIMEOUT_MS: String(options.settleTimeoutMs) } : {}),
    RATE_LIMIT_PER_MINUTE: '0',
    LOG_LEVEL: 'silent',
  };
}

/** One handler run: the route and the charge the seller settled with. */
export type HandlerRun = { readonly route: string };

export type BatchSeller = {
  readonly url: string;
  /** Every handler run, in order. */
  readonly runs: HandlerRun[];
  stop(): Promise<void>;
};

/**
 * Our Express 5 seller with `batch: true`, at one price, on four routes:
 * `/paid` answers 200; `/dynamic` charges {@link DYNAMIC_CHARGE} with `getPayment(req).charge()`; `/throws` throws
 * after the payment was verified; `/fails` answers 500. `pauseMs` holds each handler that long, a window for
 * concurrent requests.
 */
export async function startBatchSeller(options: {
  facilitatorUrl: string;
  payTo: string;
  pauseMs?: number;
}): Promise<BatchSeller> {
  const runs: HandlerRun[] = [];
  const app = express();
  const paid = paymentMiddleware({
    amount: PRICE.toString(),
    payTo: options.payTo,
    network: 'testnet',
    facilitatorUrl: options.facilitatorUrl,
    batch: { withdrawDelay: WITHDRAW_DELAY },
  });
  const pause = () => new Promise((resolve) => setTimeout(resolve, options.pauseMs ?? 0));
  app.get('/paid', paid, async (req: Request, res: Response) => {
    runs.push({ route: '/paid' });
    await pause();
    res.json({ content: 'secret', payer: getPayment(req)?.payer });
  });
  app.get('/dynamic', paid, (req: Request, res: Response) => {
    runs.push({ route: '/dynamic' });
    getPayment(req)?.charge?.(DYNAMIC_CHARGE.toString());
    res.json({ content: 'cheaper' });
  });
  app.get('/throws', paid, () => {
    runs.push({ route: '/throws' });
    throw new Error('the handler failed');
  });
  app.get('/fails', paid, (_req: Request, res: Response) => {
    runs.push({ route: '/fails' });
    res.status(500).json({ error: 'upstream down' });
  });
  // The seller's own error handler, as an app would have: a quiet 500 in place of Express's logged stack.
  app.use((_error: unknown, _req: Request, res: Response, _next: () => void) => {
    res.status(500).json({ error: 'handler_failed' });
  });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    runs,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A seller's answer, decoded. */
export type Answer = {
  readonly status: number;
  readonly body: string;
  /** The `payment-response` header, decoded. */
  readonly receipt?: SettleResponse;
  /** The `payment-required` header of a 402, decoded. */
  readonly required?: { error?: string; accepts: PaymentRequirements[] };
};

/** GET `url` with the given headers and decodes the payment headers of the answer. */
export async function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, { headers });
  const body = await response.text();
  const receiptHeader = response.headers.get('payment-response');
  const requiredHeader = response.headers.get('payment-required');
  return {
    status: response.status,
    body,
    ...(receiptHeader ? { receipt: decodePaymentResponseHeader(receiptHeader) } : {}),
    ...(requiredHeader ? { required: decodePaymentRequiredHeader(requiredHeader) } : {}),
  };
}

/** The batch-settlement entry of a route's 402. */
export async function batchOffer(url: string): Promise<PaymentRequirements> {
  const answer = await get(url);
  assert.equal(answer.status, 402);
  const offer = answer.required?.accepts.find((entry) => entry.scheme === BATCH_SETTLEMENT);
  assert.ok(offer, `${url} offers batch-settlement`);
  return offer;
}

/** A payer's STX balance on the devnet, over HTTP. */
export async function stxBalance(devnetUrl: string, address: string): Promise<bigint> {
  const answer = (await (await fetch(`${devnetUrl}/v2/accounts/${address}?proof=0`)).json()) as {
    balance: string;
  };
  return BigInt(answer.balance);
}

async function nextNonce(devnetUrl: string, address: string): Promise<bigint> {
  const answer = (await (
    await fetch(`${devnetUrl}/extended/v1/address/${address}/nonces`)
  ).json()) as { possible_next_nonce: number };
  return BigInt(answer.possible_next_nonce);
}

/**
 * A buyer built by hand: one channel (its config from the offer, its own salt), the headers of deposits, vouchers and
 * refunds, and the payer's own escrow calls (a timed withdrawal) with the fees it paid counted.
 */
export function handBuyer(
  devnetUrl: string,
  payer: StacksAccount,
  offer: PaymentRequirements,
  salt: string,
) {
  const config: ChannelConfig = {
    payer: payer.address,
    payerAuthorizer: payer.address,
    receiver: offer.payTo,
    receiverAuthorizer: String(offer.extra?.receiverAuthorizer),
    token: null,
    withdrawDelay: Number(offer.extra?.withdrawDelay),
    salt: `0x${salt.repeat(64 / salt.length)}`,
  };
  const channelId = channelIdOf(config);
  let feesPaid = 0n;
  const voucher = (max: bigint) => ({
    channelId,
    maxClaimableAmount: max.toString(),
    signature: signVoucher(payer.privateKey, NETWORK, String(offer.extra?.escrow), channelId, max),
  });
  const header = (payload: unknown) => ({
    'payment-signature': encodePaymentSignatureHeader({
      x402Version: 2,
      accepted: offer,
      payload: payload as Record<string, unknown>,
    }),
  });
  return {
    config,
    channelId,
    /** The fees the payer paid itself (its withdrawal calls); deposits are sponsored. */
    get feesPaid() {
      return feesPaid;
    },
    /** A voucher payload for the cumulative ceiling `max`. */
    voucher: (max: bigint) =>
      header({ type: 'voucher', channelConfig: config, voucher: voucher(max) }),
    /** A refund payload: the zero-charge voucher at the charged total. */
    refund: (charged: bigint) =>
      header({ type: 'refund', channelConfig: config, voucher: voucher(charged) }),
    /** A sponsored deposit of `amount` (a first deposit or a top-up) with the voucher for `max`. */
    async deposit(amount: bigint, max: bigint) {
      const { transaction } = await createDepositTransaction({
        account: payer,
        network: NETWORK,
        escrow: String(offer.extra?.escrow),
        config,
        amount,
        asset: resolveAsset('STX', NETWORK),
        nonce: await nextNonce(devnetUrl, payer.address),
        sponsored: true,
      });
      return header({
        type: 'deposit',
        channelConfig: config,
        voucher: voucher(max),
        deposit: { amount: amount.toString(), transaction },
      });
    },
    /** The payer's own escrow call (`start-withdrawal`, `finish-withdrawal`), paying its fee; resolves with the txid. */
    async escrowCall(functionName: string, args: ClarityValue[], fee = 10_000n): Promise<string> {
      const [contractAddress, contractName] = String(offer.extra?.escrow).split('.') as [
        string,
        string,
      ];
      const tx = await makeContractCall({
        contractAddress,
        contractName,
        functionName,
        functionArgs: args,
        senderKey: payer.privateKey,
        network: 'testnet',
        nonce: await nextNonce(devnetUrl, payer.address),
        fee,
        postConditionMode: 'allow',
        validateWithAbi: false,
      });
      const response = await fetch(`${devnetUrl}/v2/transactions`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: Buffer.from(tx.serialize(), 'hex'),
      });
      assert.equal(response.status, 200, await response.text());
      feesPaid += fee;
      return tx.txid();
    },
    channelArg: () => Cl.bufferFromHex(channelId.slice(2)),
  };
}

/** The status of a transaction on the devnet. */
export async function txStatus(devnetUrl: string, txid: string): Promise<string> {
  const found = (await (
    await fetch(`${devnetUrl}/extended/v1/tx/${txid.startsWith('0x') ? txid : `0x${txid}`}`)
  ).json()) as { tx_status?: string };
  return found.tx_status ?? 'unknown';
}
