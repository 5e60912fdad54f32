/**
 * Every verify reason end to end: the refusal table of the pure check (packages/test-kit/src/fixtures/check-rows.ts), row
 * by row through the service's `POST /verify` over real HTTP, against the devnet, for STX, sBTC and sponsored
 * payments; then the reasons that only chain state can give (nonce, funds, a settled txid) for each kind.
 *
 * Rows that set a post-condition policy run on a service with that policy. Rows that set other check options (an
 * expected nonce, a balance, a fee cap) stand for chain state: the service reads that from the chain instead, so
 * those rows are replaced by the chain-state cases below. Rows on mainnet requirements or
 * on a token the devnet does not deploy cannot have a valid good case here, so they stay with the unit test.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import {
  CHECK_ROW_GROUPS,
  OTHER_TOKEN,
  PAYER,
  type Row,
  SBTC_REQ,
  SBTC_SPONSORED,
  SPONSOR,
  SPONSOR_KEY,
  STX,
  STX_SPONSORED,
} from '@x402-stacks/test-kit/fixtures';
import { createFacilitator } from 'x402-stacks';
import { PaymentRequirementsSchema, REASON_CODES } from 'x402-stacks/protocol';
import { createPaymentTransaction, type PostConditionPolicy } from 'x402-stacks/stacks';
import { createFacilitatorApp } from '../src/app.js';

type Verdict = { isValid: boolean; invalidReason?: string; payer?: string };

const TESTNET = 'stacks:2147483648';
/**
 * Where the service answers differently from the pure check, on purpose: a facilitator that serves only `exact`
 * says the scheme is unsupported, and an empty `transaction` is a missing one, not one that failed to decode.
 */
const SERVICE_REASON: Partial<Record<string, string>> = {
  invalid_scheme: 'unsupported_scheme',
};
const expectedReason = (row: Row, transaction: string) =>
  transaction === ''
    ? 'invalid_exact_stacks_payload_transaction'
    : (SERVICE_REASON[row.reason] ?? row.reason);
/** Options the service has too: a facilitator's post-condition policy. Any other option stands for chain state. */
const policyOnly = (options: Row['options']) =>
  !options || Object.keys(options).every((key) => key === 'postConditionPolicy');
const servable = (row: Row) =>
  policyOnly(row.options) &&
  policyOnly(row.badOptions) &&
  [row.requirements, row.badRequirements ?? row.requirements].every(
    (r) => r.network === TESTNET && r.asset !== OTHER_TOKEN,
  );
const rows = CHECK_ROW_GROUPS.flatMap((group) =>
  group.rows.filter(servable).map((row) => ({ group: group.title, row })),
);

describe('POST /verify: every reason, over HTTP against the devnet', () => {
  let devnet: Devnet;
  const servers: ReturnType<typeof serve>[] = [];
  /** One service per post-condition policy, over the same devnet. */
  const urls = new Map<PostConditionPolicy, string>();
  before(async () => {
    devnet = await startDevnet({ port: 0 });
    // The table's payer is the devnet's deployer, funded at genesis; its sponsor gets STX for fees from the faucet.
    assert.equal(devnet.accounts[0]!.address, PAYER);
    const funded = await fetch(`${devnet.url}/devnet/faucet`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ address: SPONSOR, stx: '1000000000' }),
    });
    assert.equal(funded.status, 200);
    for (const postConditionPolicy of ['compatible', 'strict'] as const) {
      const facilitator = createFacilitator({
        networks: { testnet: { url: devnet.url } },
        sponsor: { privateKeys: SPONSOR_KEY },
        postConditionPolicy,
        pollIntervalMs: 10,
      });
      const app = createFacilitatorApp({ facilitator });
      const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
        const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
          resolve(started),
        );
      });
      servers.push(server);
      urls.set(postConditionPolicy, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    }
  });
  after(async () => {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    await devnet.stop();
  });
  const url = (options?: Row['options']) => urls.get(options?.postConditionPolicy ?? 'compatible')!;

  async function post(
    transaction: string,
    requirements: unknown,
    options?: Row['options'],
  ): Promise<Response> {
    return fetch(`${url(options)}/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        x402Version: 2,
        paymentPayload: { x402Version: 2, accepted: requirements, payload: { transaction } },
        paymentRequirements: requirements,
      }),
    });
  }
  async function verify(
    transaction: string,
    requirements: unknown,
    options?: Row['options'],
  ): Promise<Verdict> {
    const response = await post(transaction, requirements, options);
    assert.equal(response.status, 200, 'a refusal is a 200 with a reason');
    return (await response.json()) as Verdict;
  }

  test('the table covers STX, sBTC and sponsored payments, and every reason the check can give', () => {
    assert.ok(rows.length >= 60, `${rows.length} rows run end to end`);
    const assets = new Set(rows.map(({ row }) => row.requirements.asset));
    assert.ok(assets.has('STX') && assets.has('sBTC'));
    assert.ok(rows.some(({ row }) => row.requirements.extra?.sponsor === SPONSOR));
    const all = new Set(CHECK_ROW_GROUPS.flatMap((g) => g.rows.map((r) => r.reason)));
    const served = new Set(rows.map(({ row }) => row.reason));
    // Reasons only option rows give are the chain-state ones, run below against real balances and nonces.
    const chainState = ['invalid_exact_stacks_payload_nonce', 'insufficient_funds'];
    // The table's invalid_network rows are on mainnet; the served-network test below gives it end to end.
    chainState.push('invalid_network');
    for (const reason of all) {
      if (!chainState.includes(reason)) assert.ok(served.has(reason), `${reason} runs end to end`);
    }
  });

  for (const { group, row } of rows) {
    test(`${group}: ${row.name}`, async () => {
      const good = await row.good();
      const accepted = await verify(good, row.requirements, row.options);
      assert.deepEqual(accepted, { isValid: true, payer: PAYER }, 'the good case is accepted');
      const bad = row.bad ? await row.bad(good) : good;
      const badRequirements = row.badRequirements ?? row.requirements;
      if (!PaymentRequirementsSchema.safeParse(badRequirements).success) {
        // Requirements that are not x402 at all stop at the HTTP boundary.
        const response = await post(bad, badRequirements, row.badOptions ?? row.options);
        assert.equal(response.status, 400);
        assert.equal(((await response.json()) as { error: string }).error, 'invalid_request');
        return;
      }
      const refused = await verify(bad, badRequirements, row.badOptions ?? row.options);
      assert.equal(refused.isValid, false);
      assert.equal(refused.invalidReason, expectedReason(row, bad));
      assert.ok(refused.invalidReason! in REASON_CODES);
    });
  }

  test('a network this facilitator does not serve', async () => {
    const { transaction } = await createPaymentTransaction({
      account: devnet.accounts[0]!.account,
      requirements: STX,
      nonce: 0n,
      fee: 300n,
    });
    const mainnet = {
      ...STX,
      network: 'stacks:1',
      payTo: 'SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7',
    };
    assert.equal((await verify(transaction, mainnet)).invalidReason, 'invalid_network');
  });

  for (const [kind, requirements] of [
    ['STX', STX],
    ['sBTC', SBTC_REQ],
    ['sponsored STX', STX_SPONSORED],
    ['sponsored sBTC', SBTC_SPONSORED],
  ] as const) {
    test(`${kind}: the nonce window, the payer's funds, and a txid already settled`, async () => {
      const payer = devnet.accounts[0]!.account;
      const sponsored = Boolean(requirements.extra);
      const sign = async (nonce: bigint, reqs: typeof requirements = requirements) =>
        (
          await createPaymentTransaction({
            account: payer,
            requirements: reqs,
            nonce,
            ...(sponsored ? {} : { fee: 3000n }),
          })
        ).transaction;
      const next = devnet.chain.state.nonce(PAYER);
      assert.equal((await verify(await sign(next + 25n), requirements)).isValid, true);
      const far = await verify(await sign(next + 26n), requirements);
      assert.equal(far.invalidReason, 'invalid_exact_stacks_payload_nonce');
      if (next > 0n) {
        const stale = await verify(await sign(next - 1n), requirements);
        assert.equal(stale.invalidReason, 'invalid_exact_stacks_payload_nonce');
      }
      const tooMuch = { ...requirements, amount: (2n ** 64n - 1n).toString() };
      assert.equal(
        (await verify(await sign(next, tooMuch), tooMuch)).invalidReason,
        'insufficient_funds',
      );

      const transaction = await sign(next);
      const settled = await fetch(`${url()}/settle`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          x402Version: 2,
          paymentPayload: { x402Version: 2, accepted: requirements, payload: { transaction } },
          paymentRequirements: requirements,
        }),
      });
      assert.equal(((await settled.json()) as { success: boolean }).success, true);
      const again = await verify(transaction, requirements);
      assert.equal(again.invalidReason, 'invalid_exact_stacks_payload_txid_reused');
    });
  }
});
