/**
 * bench/batch's voucher-verify measurement, in a facilitator process of its own: the service's engine, configured
 * from the same environment (`openFacilitator`), on the bench's SQLite ledger (two processes on one ledger file are
 * supported), so verify runs in a heap the size of a facilitator's, not in the bench process that also holds the
 * devnet, the seller and the buyers. Nothing is started on the engine: a keeper here would take leases that keep the
 * bench's own keeper from claiming afterwards. It alternates short rounds of `facilitator.verify` of one voucher, raw
 * libsecp256k1 recovery and the signature check alone, and prints each round's rates as JSON on stdout.
 *
 * Input (environment): BENCH_VERIFY_INPUT, JSON of { config, payment, requirements, escrow, secondsPerRound, rounds }:
 * `config` is the facilitator's environment (as `loadConfig` reads it), the rest what to verify and for how long.
 * Not meant to be run by hand: `bench/batch/index.ts` spawns it.
 */
import { createRequire } from 'node:module';
import { loadConfig, openFacilitator } from '@x402-stacks/facilitator';
import { isVoucherSignedBy, type VoucherPayload } from 'x402-stacks/batch';
import type { PaymentPayload, PaymentRequirements } from 'x402-stacks/protocol';
import { STACKS_NETWORKS } from 'x402-stacks/stacks';
import { measure } from '../lib.js';

type Input = {
  config: Record<string, string>;
  payment: PaymentPayload & { payload: VoucherPayload };
  requirements: PaymentRequirements;
  escrow: string;
  secondsPerRound: number;
  rounds: number;
};
const input = JSON.parse(process.env.BENCH_VERIFY_INPUT ?? '') as Input;
// The service's engine, configured as the service configures it, but with nothing started on it.
const { facilitator, close } = await openFacilitator(loadConfig(input.config));

type NativeSecp256k1 = {
  ecdsaSign(msg32: Uint8Array, key: Uint8Array): { signature: Uint8Array; recid: number };
  ecdsaRecover(sig: Uint8Array, recid: number, msg32: Uint8Array, compressed: boolean): Uint8Array;
};
// libsecp256k1's Node binding, resolved from the library package that depends on it (as bench/verify does).
const native = createRequire(new URL('../../packages/x402-stacks/package.json', import.meta.url))(
  'secp256k1/bindings',
) as NativeSecp256k1;
const message = new Uint8Array(32).fill(7);
const { signature, recid } = native.ecdsaSign(message, new Uint8Array(32).fill(3));

try {
  const first = await facilitator.verify(input.payment, input.requirements);
  if (!first.isValid) throw new Error(`the voucher was refused: ${first.invalidReason}`);
  // Each verify takes a payment and requirements of its own, as each request parsed from JSON brings: one object used
  // again and again would be frozen after its first parse, and every later parse would skip freezing it.
  const text = JSON.stringify([input.payment, input.requirements]);
  const fresh = () => Array.from({ length: 12_000 }, () => JSON.parse(text) as [unknown, unknown]);
  let ring = fresh();
  let next = 0;
  // Run with --expose-gc: the copies of the last round are collected before the next round, not during it.
  const collect = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
  const checks = {
    verify: async () => {
      // A long round uses them all: new ones are made inside the timing, which only slows verify down.
      if (next === ring.length) {
        ring = fresh();
        next = 0;
      }
      const [payment, requirements] = ring[next++]!;
      const answer = await facilitator.verify(payment, requirements);
      if (!answer.isValid) throw new Error(answer.invalidReason);
    },
    recover: () => native.ecdsaRecover(signature, recid, message, true),
    // Where verify's time goes: the signature check alone (the SIP-018 hash, the recovery, the signer's key).
    signature: () => {
      const { channelConfig, voucher } = input.payment.payload;
      if (
        !isVoucherSignedBy(
          STACKS_NETWORKS.testnet,
          input.escrow,
          voucher,
          channelConfig.payerAuthorizer,
        )
      )
        throw new Error('the voucher signature was refused');
    },
  };
  const names = Object.keys(checks) as (keyof typeof checks)[];
  const rates: Record<keyof typeof checks, number[]> = { verify: [], recover: [], signature: [] };
  for (let round = 0; round < input.rounds; round++) {
    // The order rotates, so no check always runs first (or last) after the others.
    for (let k = 0; k < names.length; k++) {
      const name = names[(round + k) % names.length]!;
      if (name === 'verify') {
        ring = fresh();
        next = 0;
      }
      collect();
      rates[name].push((await measure(name, checks[name], input.secondsPerRound)).opsPerSecond);
    }
  }
  process.stdout.write(`${JSON.stringify(rates)}\n`);
} finally {
  await close();
}
