/**
 * A sponsoring facilitator service over HTTP, on a devnet that mines only when told: what the sponsorship tests drive.
 * Accounts 8 and 9 are the sponsor keys; the others pay.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import type {
  PaymentRequirements,
  SettleResponse,
  StacksAccount,
  VerifyResponse,
} from 'x402-stacks';
import { createPaymentTransaction } from 'x402-stacks/stacks';
import { loadConfig } from '../src/config.js';
import { type FacilitatorService, startFacilitatorService } from '../src/service.js';

export type SponsoredStack = {
  readonly devnet: Devnet;
  readonly service: FacilitatorService;
  readonly sponsors: readonly string[];
  /** Requirements of a sponsored payment to account 7, naming the first sponsor. */
  requirements(amount?: string, asset?: string): PaymentRequirements;
  /** A sponsored payment signed by `account` on `nonce`, as the settle and verify bodies carry it. */
  payment(
    account: StacksAccount,
    nonce: bigint,
    requirements?: PaymentRequirements,
  ): Promise<SignedPayment>;
  settle(payment: SignedPayment): Promise<SettleResponse>;
  verify(payment: SignedPayment): Promise<VerifyResponse>;
  /** Total STX of the sponsor keys. */
  sponsorsStx(): bigint;
  /** Resolves once the mempool holds `count` transactions (at most 20 s). */
  mempoolHolds(count: number): Promise<void>;
  stop(): Promise<void>;
};

export type SignedPayment = {
  readonly body: string;
  /** The txid of the bytes the payer signed. */
  readonly txid: string;
  readonly transaction: string;
};

export async function startSponsoredStack(
  options: { keys?: 1 | 2; env?: Record<string, string> } = {},
): Promise<SponsoredStack> {
  const devnet = await startDevnet({ port: 0, mining: { mode: 'manual' } });
  const dir = mkdtempSync(join(tmpdir(), 'x402-sponsored-'));
  const keys = [devnet.accounts[9]!, devnet.accounts[8]!].slice(0, options.keys ?? 2);
  const service = await startFacilitatorService(
    loadConfig({
      PORT: '0',
      STACKS_API_URL_TESTNET: devnet.url,
      DATABASE_URL: `sqlite:${join(dir, 'ledger.db')}`,
      SPONSOR_PRIVATE_KEYS: keys.map((key) => key.privateKey).join(','),
      SETTLE_TIMEOUT_MS: '15000',
      KEEPER_INTERVAL_MS: '200',
      VERIFY_CACHE_MS: '0',
      RATE_LIMIT_PER_MINUTE: '0',
      LOG_LEVEL: 'silent',
      ...options.env,
    }),
  );
  const post = async (path: string, body: string) => {
    const response = await fetch(`${service.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    return response.json();
  };
  const requirements = (amount = '3000', asset = 'STX'): PaymentRequirements => ({
    scheme: 'exact',
    network: 'stacks:2147483648',
    amount,
    asset,
    payTo: devnet.accounts[7]!.address,
    maxTimeoutSeconds: 300,
    extra: { sponsor: keys[0]!.address },
  });
  return {
    devnet,
    service,
    sponsors: keys.map((key) => key.address),
    requirements,
    async payment(account, nonce, paid = requirements()) {
      const { transaction, txid } = await createPaymentTransaction({
        account,
        requirements: paid,
        nonce,
      });
      const payload = { x402Version: 2, accepted: paid, payload: { transaction } };
      return {
        body: JSON.stringify({
          x402Version: 2,
          paymentPayload: payload,
          paymentRequirements: paid,
        }),
        txid,
        transaction,
      };
    },
    settle: (payment) => post('/settle', payment.body) as Promise<SettleResponse>,
    verify: (payment) => post('/verify', payment.body) as Promise<VerifyResponse>,
    sponsorsStx: () => keys.reduce((sum, key) => sum + devnet.chain.state.stx(key.address), 0n),
    async mempoolHolds(count) {
      const deadline = Date.now() + 20_000;
      while (devnet.chain.mempool.length < count) {
        if (Date.now() > deadline) {
          throw new Error(`the mempool holds ${devnet.chain.mempool.length}, not ${count}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop() {
      await service.stop(2_000);
      await devnet.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
