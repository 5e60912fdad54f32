import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hexToBytes } from '@stacks/common';
import {
  BytesReader,
  Cl,
  deserializeTransaction,
  makeContractCall,
  makeSTXTokenTransfer,
  Pc,
  type StacksTransactionWire,
} from '@stacks/transactions';
import { fuzzRuns } from '@x402-stacks/test-kit';
import {
  buildBase,
  CHECK_ROW_GROUPS,
  exactCondition,
  MULTISIG_MODES,
  multisigPayer,
  multisigPayment,
  PAY_TO,
  PAYER,
  PAYER_KEY,
  Rng,
  SPONSOR_KEY,
  STX,
  tamper,
  token,
} from '@x402-stacks/test-kit/fixtures';
import { readPaymentTransaction } from './read-transaction.js';

/** What @stacks/transactions reads from the bytes, whole and exactly, or undefined where it throws or over-reads. */
function libraryReading(raw: Uint8Array): StacksTransactionWire | undefined {
  try {
    const reader = new BytesReader(raw);
    const tx = deserializeTransaction(reader);
    return reader.consumed === raw.length ? tx : undefined;
  } catch {
    return undefined;
  }
}

/** The reader's answer is the library's, or none at all: never a transaction the library would not make. */
function assertSameOrDeclined(hex: string, label: string): 'read' | 'declined' {
  const raw = hexToBytes(hex);
  const read = readPaymentTransaction(raw);
  if (read === undefined) return 'declined';
  const reference = libraryReading(raw);
  assert.ok(reference, `${label}: read, but the library refuses these bytes (${hex})`);
  assert.deepStrictEqual(read, reference, `${label}: ${hex}`);
  return 'read';
}

/**
 * Random bytes in a transaction's grammar, field by field, with each field's edge values: the shapes the reader reads,
 * and now and then a value or a shape it leaves to the library (every enum's next value, names of 128 and 129 bytes,
 * lists past its bound, bytes outside ASCII, optionals nested, tuples and strings).
 */
function grammarTransaction(rng: Rng): Uint8Array {
  const out: number[] = [];
  const push = (...bytes: number[]) => out.push(...bytes);
  const some = (chance: number) => rng.chance(chance);
  const u32 = (value: number) =>
    push(value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
  const edgeBytes = (length: number) => {
    const kind = rng.int(5);
    for (let i = 0; i < length; i++) {
      if (kind === 0) push(0);
      else if (kind === 1) push(0xff);
      else if (kind === 2) push(i === 0 ? 0x80 : 0);
      else if (kind === 3) push(i === 0 ? 0x7f : 0xff);
      else push(rng.int(256));
    }
  };
  const name = () => {
    const length = some(0.9) ? rng.pick([0, 1, 10, 40]) : rng.pick([127, 128, 129]);
    push(length);
    for (let i = 0; i < length; i++) push(some(0.01) ? 0x80 + rng.int(128) : 0x61 + rng.int(26));
  };
  const address = () => {
    push(some(0.9) ? rng.pick([22, 26, 20, 21]) : rng.pick([0, 31, 32, 255]));
    push(...rng.bytes(20));
  };
  const spendingCondition = () => {
    push(some(0.95) ? rng.pick([0, 2]) : rng.pick([1, 3, 5]));
    push(...rng.bytes(20));
    edgeBytes(8);
    edgeBytes(8);
    push(some(0.97) ? rng.pick([0, 1]) : 2);
    push(...rng.bytes(65));
  };
  const value = (optionalAllowed: boolean): void => {
    const kind = rng.int(some(0.05) ? 14 : 11);
    if (kind === 0 || kind === 1) {
      push(kind);
      edgeBytes(16);
    } else if (kind === 2) {
      push(0x02);
      const length = rng.pick([0, 1, 34, 40]);
      u32(length);
      push(...rng.bytes(length));
    } else if (kind === 3 || kind === 4) push(kind);
    else if (kind === 5) {
      push(0x05);
      address();
    } else if (kind === 6) {
      push(0x06);
      address();
      name();
    } else if (kind === 7 || (kind === 9 && optionalAllowed)) push(0x09);
    else if (kind === 8 || kind === 10) {
      push(0x0a);
      value(some(0.05) || !optionalAllowed);
    } else if (kind === 9) push(0x09);
    else if (kind === 11) {
      push(0x0c);
      u32(1);
      name();
      value(false);
    } else if (kind === 12) {
      push(0x0d);
      u32(3);
      push(0x61, 0x62, 0x63);
    } else push(0x0b, 0, 0, 0, 0);
  };

  push(some(0.97) ? rng.pick([0x00, 0x80]) : 0x01);
  u32(rng.pick([1, 0x80000000, 0xffffffff, rng.int(2 ** 32)]));
  const authType = some(0.98) ? rng.pick([4, 5]) : 6;
  push(authType);
  spendingCondition();
  if (authType === 5) spendingCondition();
  push(some(0.97) ? rng.pick([1, 2, 3]) : rng.pick([0, 4]));
  push(some(0.97) ? rng.pick([1, 2]) : 3);
  const conditions = some(0.98) ? rng.int(4) : 9;
  u32(conditions);
  for (let i = 0; i < conditions; i++) {
    const type = some(0.97) ? rng.pick([0, 1]) : 2;
    push(type);
    const prefix = some(0.98) ? rng.pick([1, 2, 3]) : 4;
    push(prefix);
    if (prefix === 2 || prefix === 3) address();
    if (prefix === 3) name();
    if (type !== 0) {
      address();
      name();
      name();
    }
    if (type === 2) value(false);
    push(some(0.95) ? rng.between(1, 5) : rng.pick([0, 6, 16]));
    edgeBytes(8);
  }
  const payloadType = some(0.97) ? rng.pick([0, 2]) : 1;
  push(payloadType);
  if (payloadType === 0) {
    value(false);
    edgeBytes(8);
    const memo = rng.int(35);
    for (let i = 0; i < 34; i++) {
      push(i >= memo ? 0 : some(0.1) ? 0 : some(0.01) ? 0x80 + rng.int(128) : 0x20 + rng.int(95));
    }
  } else if (payloadType === 2) {
    address();
    name();
    name();
    const count = some(0.97) ? rng.int(6) : 9;
    u32(count);
    for (let i = 0; i < count; i++) value(true);
  } else {
    name();
  }
  const bytes = Uint8Array.from(out);
  if (some(0.05)) return bytes.subarray(0, rng.int(bytes.length));
  if (some(0.05)) return Uint8Array.from([...bytes, rng.int(256)]);
  return bytes;
}

describe('readPaymentTransaction, against deserializeTransaction of @stacks/transactions', () => {
  test("random payments, and every tampering of them, read to the library's object or left to it", async () => {
    const rng = new Rng(0x5eed_0402);
    const bases = [];
    for (let i = 0; i < fuzzRuns(200); i++) bases.push(await buildBase(rng));
    let read = 0;
    let declined = 0;
    for (const [index, base] of bases.entries()) {
      // Every base is a shape payments take: the reader reads each one.
      assert.equal(assertSameOrDeclined(base.hex, base.describe), 'read', base.describe);
      const other = bases[(index + 1) % bases.length]!;
      for (const sample of tamper(base, other, rng)) {
        if (assertSameOrDeclined(sample.hex, `${sample.kind} of ${sample.base}`) === 'read') read++;
        else declined++;
      }
    }
    // Tampered bytes are mostly still transactions: the comparison above was made, not skipped.
    assert.ok(read > declined, `${read} read, ${declined} declined`);
  });

  test("transactions made field by field, with every field's edge values", () => {
    const rng = new Rng(0x6a77a4);
    let read = 0;
    const runs = fuzzRuns(40_000);
    for (let run = 0; run < runs; run++) {
      const hex = Buffer.from(grammarTransaction(rng)).toString('hex');
      if (assertSameOrDeclined(hex, `grammar case ${run}`) === 'read') read++;
    }
    // Most cases are shapes the reader reads: the comparison was made, not skipped.
    assert.ok(read > runs / 10, `${read} of ${runs} read`);
  });

  test('random bytes written over, cut off or added to a payment', async () => {
    const rng = new Rng(0x0b17e5);
    let read = 0;
    const runs = fuzzRuns(4000);
    const bases = [];
    for (let i = 0; i < Math.max(4, runs / 100); i++) bases.push(await buildBase(rng));
    for (let run = 0; run < runs; run++) {
      const raw = hexToBytes(rng.pick(bases).hex);
      const edit = rng.int(4);
      let bytes: Uint8Array;
      if (edit === 0) {
        bytes = raw.slice();
        for (let k = rng.between(1, 3); k > 0; k--) bytes[rng.int(bytes.length)] = rng.int(256);
      } else if (edit === 1) {
        bytes = raw.slice(0, rng.int(raw.length));
      } else if (edit === 2) {
        bytes = new Uint8Array([...raw, ...rng.bytes(rng.between(1, 4))]);
      } else {
        // A length or count field set large: the library's reader runs past the end.
        bytes = raw.slice();
        bytes.fill(0xff, rng.int(bytes.length), bytes.length);
      }
      const hex = Buffer.from(bytes).toString('hex');
      if (assertSameOrDeclined(hex, `edit ${edit}`) === 'read') read++;
    }
    assert.ok(read > 0, 'some edited payments were still read');
  });

  test("the check rows' transactions, good and tampered", async () => {
    let read = 0;
    for (const { rows } of CHECK_ROW_GROUPS) {
      for (const row of rows) {
        const good = await row.good();
        if (assertSameOrDeclined(good, `${row.name} (good)`) === 'read') read++;
        const bad = row.bad ? await row.bad(good) : undefined;
        // Some rows' bad transactions are not hex at all: the checker refuses those before any reading.
        if (bad !== undefined && /^([0-9a-fA-F]{2})+$/.test(bad)) {
          assertSameOrDeclined(bad, `${row.name} (bad)`);
        }
      }
    }
    assert.ok(read > 10, `${read} good rows read`);
  });

  test('what payments do not take is left to the library', async () => {
    const members = [PAYER_KEY, SPONSOR_KEY];
    const multisig = await multisigPayment(multisigPayer(members, 2, MULTISIG_MODES.p2sh), {
      requirements: STX,
      nonce: 0n,
      fee: 300n,
    });
    const nonFungibleCondition = await token({
      postConditions: [
        Pc.principal(PAYER)
          .willSendAsset()
          .nft('ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.nft::nft', Cl.uint(1)),
      ],
    });
    const tupleArgument = await token({ args: [Cl.tuple({ amount: Cl.uint(1) })] });
    // Past the reader's bound: a payment padded with principals is decoded once, by the library.
    const nineArguments = await token({
      args: Array.from({ length: 9 }, () => Cl.principal(PAYER)),
    });
    const nineConditions = await token({
      postConditions: Array.from({ length: 9 }, () => exactCondition()),
    });
    const nonAsciiMemo = (
      await makeSTXTokenTransfer({
        recipient: PAY_TO,
        amount: 1n,
        senderKey: PAYER_KEY,
        network: 'testnet',
        fee: 300n,
        nonce: 0n,
        memo: 'café',
      })
    ).serialize();
    const stringArgument = (
      await makeContractCall({
        contractAddress: 'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM',
        contractName: 'usdcx',
        functionName: 'transfer',
        functionArgs: [Cl.stringAscii('one')],
        senderKey: PAYER_KEY,
        network: 'testnet',
        fee: 300n,
        nonce: 0n,
        validateWithAbi: false,
      })
    ).serialize();
    const good = await token();
    for (const [label, hex] of [
      ['a multi-signature origin', multisig.transaction],
      ['a non-fungible post-condition', nonFungibleCondition],
      ['a tuple argument', tupleArgument],
      ['nine call arguments', nineArguments],
      ['nine post-conditions', nineConditions],
      ['a memo outside ASCII', nonAsciiMemo],
      ['a string argument', stringArgument],
      ['a trailing byte', `${good}00`],
      ['a missing last byte', good.slice(0, -2)],
    ] as const) {
      assert.equal(readPaymentTransaction(hexToBytes(hex)), undefined, label);
    }
    // The library reads each of these the way it always did (the checker then refuses most).
    assert.ok(libraryReading(hexToBytes(multisig.transaction)));
    assert.ok(libraryReading(hexToBytes(nonAsciiMemo)));
  });
});
