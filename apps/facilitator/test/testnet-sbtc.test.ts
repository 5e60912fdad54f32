/**
 * SBTC_CONTRACT_TESTNET: an operator still on another testnet sBTC (Hiro's older ST1F7QA2…GWXT stand-in) names it,
 * and 'sBTC' then means that contract in what the service verifies and settles, over HTTP against the devnet.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import type { PaymentRequirements, SettleResponse, VerifyResponse } from 'x402-stacks';
import { createPaymentTransaction } from 'x402-stacks/stacks';
import { loadConfig } from '../src/config.js';
import { type FacilitatorService, startFacilitatorService } from '../src/service.js';

const HIRO_TESTNET_SBTC = 'ST1F7QA2MDF17S807EPA36TSS8AMEFY4KA9TVGWXT.sbtc-token';

describe('SBTC_CONTRACT_TESTNET', () => {
  let devnet: Devnet;
  let dir: string;
  const services: FacilitatorService[] = [];
  let nonce = 0n;

  before(async () => {
    devnet = await startDevnet({ port: 0, tokens: { sbtcTestnetContract: HIRO_TESTNET_SBTC } });
    dir = mkdtempSync(join(tmpdir(), 'x402-sbtc-'));
  });
  after(async () => {
    for (const service of services) await service.stop(2_000);
    await devnet.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function service(env: Record<string, string>): Promise<FacilitatorService> {
    const started = await startFacilitatorService(
      loadConfig({
        PORT: '0',
        STACKS_API_URL_TESTNET: devnet.url,
        DATABASE_URL: `sqlite:${join(dir, `ledger-${services.length}.db`)}`,
        RATE_LIMIT_PER_MINUTE: '0',
        LOG_LEVEL: 'silent',
        ...env,
      }),
    );
    services.push(started);
    return started;
  }

  const requirements = (asset: string): PaymentRequirements => ({
    scheme: 'exact',
    network: 'stacks:2147483648',
    amount: '700',
    asset,
    payTo: devnet.accounts[1]!.address,
    maxTimeoutSeconds: 300,
  });

  /** A payment of the Hiro token whose `accepted` names it by the symbol, as x402-stacks 2.0 clients echo it. */
  async function body(): Promise<string> {
    const offered = requirements(HIRO_TESTNET_SBTC);
    const { transaction } = await createPaymentTransaction({
      account: devnet.accounts[0]!.account,
      requirements: offered,
      nonce: nonce++,
      fee: 400n,
    });
    const paymentPayload = {
      x402Version: 2,
      accepted: { ...offered, asset: 'SBTC' },
      payload: { transaction },
    };
    return JSON.stringify({ x402Version: 2, paymentPayload, paymentRequirements: offered });
  }

  async function post<T>(at: FacilitatorService, path: string, payload: string): Promise<T> {
    const response = await fetch(`${at.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: payload,
    });
    return (await response.json()) as T;
  }

  test("unset, 'SBTC' is the default testnet sBTC, so a payment of the Hiro token naming it is refused", async () => {
    const plain = await service({});
    const verdict = await post<VerifyResponse>(plain, '/verify', await body());
    nonce--; // refused before anything was broadcast: the nonce is still free
    assert.equal(verdict.isValid, false);
    assert.equal(verdict.invalidReason, 'invalid_payment_requirements');
  });

  test("set, 'SBTC' is that contract: verified and settled once, the seller is paid in it", async () => {
    const configured = await service({ SBTC_CONTRACT_TESTNET: HIRO_TESTNET_SBTC });
    const seller = devnet.accounts[1]!.address;
    const asset = `${HIRO_TESTNET_SBTC}::sbtc-token`;
    const before = devnet.chain.state.token(asset, seller);
    const payment = await body();
    const verdict = await post<VerifyResponse>(configured, '/verify', payment);
    assert.equal(verdict.isValid, true, verdict.invalidReason);
    const settled = await post<SettleResponse>(configured, '/settle', payment);
    assert.equal(settled.success, true, settled.errorReason);
    assert.equal(devnet.chain.state.token(asset, seller), before + 700n);
  });

  test('a value that is not a testnet contract id is a configuration error', () => {
    for (const bad of [
      'SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token',
      'ST1F7QA2MDF17S807EPA36TSS8AMEFY4KA9TVGWXT',
      `${HIRO_TESTNET_SBTC}::sbtc-token`,
      'sBTC',
    ]) {
      assert.throws(
        () => loadConfig({ SBTC_CONTRACT_TESTNET: bad }),
        (error: unknown) => error instanceof Error && /SBTC_CONTRACT_TESTNET/.test(error.message),
        bad,
      );
    }
  });
});
