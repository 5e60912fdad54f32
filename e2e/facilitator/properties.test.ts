/**
 * Properties of the facilitator engine over random payments, against the devnet over HTTP:
 *
 *  - what `verify` accepts, `settle` settles, or refuses with a reason code (never `unexpected_settle_error`);
 *  - what `verify` refuses, `settle` never settles (nothing else touches the chain between the two);
 *  - neither ever throws.
 *
 * Payments come from single-sig, P2WPKH and multisig origins (every multisig hash mode), in STX, sBTC and USDCx,
 * sponsored or not, and are valid or perturbed: another amount or payTo than the requirements they claim to accept, a
 * nonce ahead or behind, fees around the floor, a sponsorship the requirements do not offer, payers short of funds.
 *
 * Every run draws a seed; a failure names it. Reproduce with
 * `X402_PROPERTY_SEED=<seed> node --import tsx --test e2e/facilitator/properties.test.ts`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import { fuzzRuns } from '@x402-stacks/test-kit';
import {
  MULTISIG_MODES,
  multisigPayer,
  multisigPayment,
  Rng,
  witnessAddressOf,
  witnessPayment,
} from '@x402-stacks/test-kit/fixtures';
import { createFacilitator, type Facilitator, privateKeyToAccount } from 'x402-stacks';
import { type ChainClient, createChainClient } from 'x402-stacks/chain';
import { REASON_CODES } from 'x402-stacks/protocol';
import {
  type CreatePaymentTransactionOptions,
  createPaymentTransaction,
  type PaymentTransaction,
} from 'x402-stacks/stacks';

const SEED = Number(process.env.X402_PROPERTY_SEED ?? Math.floor(Math.random() * 2 ** 32));
/**
 * Payer kinds × sponsored or not, each drawn this many times: 72 payments, 5 to 10 s on the devnet. X402_FUZZ_RUNS
 * sizes it like every fuzz test (`quick`: one round; a number: that many).
 */
const ROUNDS = fuzzRuns(4);
const ASSETS = ['STX', 'sBTC', 'USDCx'] as const;
const PERTURBATIONS = [
  'none',
  'none',
  'none',
  'amount',
  'payTo',
  'nonce-ahead',
  'nonce-behind',
  'fee',
  'sponsor-not-offered',
] as const;
const RICH = { stx: 10n ** 12n, sBTC: 10n ** 9n, USDCx: 10n ** 12n };

type PaymentOptions = Omit<CreatePaymentTransactionOptions, 'account'>;
type Payer = {
  readonly name: string;
  readonly address: string;
  pay(options: PaymentOptions): Promise<PaymentTransaction>;
};

describe(`facilitator properties (seed ${SEED})`, () => {
  const rng = new Rng(SEED);
  let devnet: Devnet;
  let facilitator: Facilitator;
  let chain: ChainClient;
  const payers: Payer[] = [];

  before(async () => {
    devnet = await startDevnet({ port: 0 });
    facilitator = createFacilitator({
      networks: { testnet: { url: devnet.url } },
      sponsor: { privateKeys: devnet.accounts[9]!.privateKey },
      // A payment ahead of the payer's nonce waits this long for the gap to fill: short, so the run stays short.
      settleTimeoutMs: 500,
      pollIntervalMs: 10,
    });
    chain = createChainClient({ network: 'testnet', url: devnet.url });
    for (const index of [2, 3]) {
      const { account } = devnet.accounts[index]!;
      payers.push({
        name: `single-sig wallet_${index}`,
        address: account.address,
        pay: (options) => createPaymentTransaction({ ...options, account }),
      });
    }
    const witnessKey = rng.privateKey(true);
    payers.push(fund(paidByWitness('p2wpkh', witnessKey), RICH));
    for (const [mode, hashMode] of Object.entries(MULTISIG_MODES)) {
      const members = Array.from({ length: rng.between(1, 3) }, () => rng.privateKey(true));
      const payer = multisigPayer(members, rng.between(1, members.length), hashMode);
      payers.push(
        fund(paidByMultisig(`${payer.required}-of-${members.length} ${mode}`, payer), RICH),
      );
    }
    // Short of funds: a little of everything, sometimes nothing, around the amounts payments ask.
    const little = () => BigInt(rng.pick([0, rng.between(1, 6_000)]));
    const poor = () => ({ stx: little(), sBTC: little(), USDCx: little() });
    const poorSingle = privateKeyToAccount(rng.privateKey(true), 'testnet');
    payers.push(
      fund(
        {
          name: 'poor single-sig',
          address: poorSingle.address,
          pay: (options) => createPaymentTransaction({ ...options, account: poorSingle }),
        },
        poor(),
      ),
    );
    const poorMultisig = multisigPayer([rng.privateKey(true), rng.privateKey(true)], 2);
    payers.push(fund(paidByMultisig('poor 2-of-2 p2sh', poorMultisig), poor()));
  });

  after(async () => {
    await facilitator.idle();
    await devnet.stop();
  });

  function fund(payer: Payer, amounts: typeof RICH): Payer {
    devnet.chain.fund(payer.address, amounts);
    return payer;
  }

  test('verify accepts ⇒ settle settles or refuses with a reason; verify refuses ⇒ settle refuses', async (t) => {
    const seller = devnet.accounts[1]!.address;
    const sponsor = devnet.accounts[9]!.address;
    const tally = new Map<string, number>();
    let draw = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (const sponsored of [false, true]) {
        for (const payer of payers) {
          draw++;
          const asset = rng.pick(ASSETS);
          const perturbation = rng.pick(PERTURBATIONS);
          const requirements = {
            scheme: 'exact',
            network: 'stacks:2147483648',
            amount: String(rng.between(1, 5_000)),
            asset,
            payTo: seller,
            maxTimeoutSeconds: 300,
            ...(sponsored ? { extra: { sponsor } } : {}),
          };
          // What the payer signs: the requirements, unless a perturbation says otherwise.
          const signed = { ...requirements };
          const next = await chain.getNextNonce(payer.address);
          let nonce = next;
          let fee = BigInt(rng.between(600, 3_000));
          let sponsorship: boolean | undefined;
          if (perturbation === 'amount') {
            signed.amount = String(Number(requirements.amount) + rng.pick([-1, 1, 7]) || 2);
          } else if (perturbation === 'payTo') {
            signed.payTo = devnet.accounts[4]!.address;
          } else if (perturbation === 'nonce-ahead') {
            nonce = next + BigInt(rng.between(1, 3));
          } else if (perturbation === 'nonce-behind') {
            // Nothing is behind a fresh account's nonce 0: past the chaining window instead.
            nonce = next > 0n ? next - 1n : 26n;
          } else if (perturbation === 'fee') {
            fee = BigInt(rng.pick([0, 1, 100, 200, 300, 450]));
            // A sponsored payment's origin fee is 0; the fee variant there is to pay the fee itself.
            if (sponsored) sponsorship = false;
          } else if (perturbation === 'sponsor-not-offered') {
            signed.extra = { sponsor };
            delete (requirements as { extra?: unknown }).extra;
          }
          const isSponsored = sponsorship ?? signed.extra !== undefined;
          const payment = await payer.pay({
            requirements: signed,
            nonce,
            ...(isSponsored ? { sponsored: true } : { sponsored: false, fee }),
          });
          const payload = {
            x402Version: 2,
            accepted: requirements,
            payload: { transaction: payment.transaction },
          };
          const label = [
            `seed ${SEED}, draw ${draw}: ${payer.name}`,
            `${requirements.amount} ${asset}`,
            isSponsored ? 'sponsored' : `fee ${fee}`,
            `nonce ${nonce} (chain ${next})`,
            perturbation,
          ].join(', ');

          const verdict = await facilitator.verify(payload, requirements).catch((error) => {
            assert.fail(`${label}: verify threw ${error}`);
          });
          const settled = await facilitator.settle(payload, requirements).catch((error) => {
            assert.fail(`${label}: settle threw ${error}`);
          });
          const outcome = `verify ${verdict.isValid ? 'valid' : verdict.invalidReason}, settle ${
            settled.success ? 'success' : `${settled.errorReason}: ${settled.errorMessage}`
          }`;
          if (verdict.isValid && !settled.success) {
            assert.ok(
              settled.errorReason !== undefined &&
                Object.hasOwn(REASON_CODES, settled.errorReason) &&
                settled.errorReason !== 'unexpected_settle_error',
              `${label}: ${outcome}`,
            );
          }
          if (!verdict.isValid) assert.equal(settled.success, false, `${label}: ${outcome}`);
          const key = verdict.isValid
            ? `valid → ${settled.success ? 'settled' : settled.errorReason}`
            : `refused (${verdict.invalidReason})`;
          tally.set(key, (tally.get(key) ?? 0) + 1);
        }
      }
    }
    t.diagnostic(`seed ${SEED}: ${JSON.stringify(Object.fromEntries([...tally].sort()))}`);
  });
});

function paidByWitness(name: string, privateKey: string): Payer {
  return {
    name,
    address: witnessAddressOf(privateKey),
    pay: (options) => witnessPayment(privateKey, options),
  };
}

function paidByMultisig(name: string, payer: ReturnType<typeof multisigPayer>): Payer {
  return { name, address: payer.address, pay: (options) => multisigPayment(payer, options) };
}
