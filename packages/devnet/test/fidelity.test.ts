/**
 * Fidelity check: the same signed transactions run through our devnet and through Clarinet's simnet
 * (`@stacks/clarinet-sdk`, a GPL devDependency used only here) against the real sbtc-token source that simnet preloads
 * at the mainnet id. Both must give the same Clarity result and leave the same balances.
 *
 * The bridge: a transaction is signed with @stacks/transactions on the testnet chain id, broadcast as raw bytes to
 * the devnet and mined; then the deserialized payload is replayed in simnet with the origin as tx-sender
 * (`transferSTX` or `callPublicFn`), after simnet's accounts were minted the balances the devnet accounts hold.
 *
 * What simnet cannot judge: signatures, nonces, fees and post-conditions (it checks none of them), and mempool
 * admission. Simnet charges no fee, so STX balances are compared net of the fees the devnet charged, and token
 * balances exactly. Where the node's mempool refuses a token transfer before mining (zero amount, self-transfer,
 * amount plus fee above the balance), the devnet's rejection is asserted next to simnet's Clarity error, which is what
 * `stx-transfer?` itself would answer. See "Fidelity" in packages/devnet/README.md.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { getSDK, type ParsedTransactionResult, type Simnet } from '@stacks/clarinet-sdk';
import { bytesToHex, hexToBytes } from '@stacks/common';
import {
  AddressVersion,
  addressFromVersionHash,
  addressToString,
  Cl,
  type ClarityValue,
  cvToString,
  deserializeTransaction,
  makeContractCall,
  makeSTXTokenTransfer,
  PayloadType,
  Pc,
  type PostCondition,
  privateKeyToAddress,
} from '@stacks/transactions';
import { type DevnetAccount, DevnetChain } from '../src/index.js';
import { type ComparableEvent, fromDevnetEvent, fromSimnetEvent } from './fidelity-events.js';

/** The real sbtc-token: simnet's boot contract, and registered by the devnet at the same id. */
const SBTC = 'SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token';
const SBTC_ASSET = `${SBTC}::sbtc-token`;
const FEE = 2_000n;

type Party = { address: string; privateKey: string };

/** The devnet's answer: refused at admission, or mined with a status and a Clarity result. */
type DevnetOutcome =
  | { rejected: string }
  | { status: string; repr: string; events: ComparableEvent[] };

let simnet: Simnet;
let chain: DevnetChain;
let genesis: DevnetAccount[];
/** Fees the devnet charged, by payer: simnet charges none. */
const feesPaid = new Map<string, bigint>();
/** Principals whose devnet balances were already minted into simnet. */
const mirrored = new Set<string>();

before(async () => {
  simnet = await getSDK();
  await simnet.initEmptySession(null);
  simnet.setEpoch('3.3'); // an empty session starts at epoch 2.05
  chain = new DevnetChain({ accounts: 5 });
  genesis = [...chain.accounts];
});

/** A fresh deterministic account, unknown to both chains until funded. */
function party(label: string): Party {
  const privateKey = `${createHash('sha256').update(`x402-stacks fidelity ${label}`).digest('hex')}01`;
  return { address: privateKeyToAddress(privateKey, 'testnet'), privateKey };
}

/** Credits a fresh account on the devnet; `mirror` copies it to simnet. */
function fund(p: Party, amounts: { stx?: bigint; sBTC?: bigint }): void {
  assert.equal(chain.state.stx(p.address), 0n, `${p.address} is fresh`);
  chain.fund(p.address, amounts);
}

/** Mints into simnet exactly what the devnet holds for each principal, once, and checks both start equal. */
function mirror(...principals: string[]): void {
  for (const principal of principals) {
    if (mirrored.has(principal)) continue;
    mirrored.add(principal);
    const stx = chain.state.stx(principal);
    const sbtc = chain.state.token(SBTC_ASSET, principal);
    if (stx > 0n) simnet.mintSTX(principal, stx);
    if (sbtc > 0n) simnet.mintFT(`${SBTC}.sbtc-token`, principal, sbtc);
    assert.deepEqual(simnetBalances(principal), { stx, sbtc }, `simnet starts like the devnet`);
  }
}

function simnetBalances(principal: string): { stx: bigint; sbtc: bigint } {
  const stx = simnet.getAssetsMap().get('STX')?.get(principal) ?? 0n;
  // getAssetsMap drops the boot contract's deployer from its key; ask the token instead.
  const balance = cvToString(
    simnet.callReadOnlyFn(SBTC, 'get-balance', [Cl.principal(principal)], principal).result,
  );
  const match = /^\(ok u(\d+)\)$/.exec(balance);
  assert.ok(match, `get-balance answered ${balance}`);
  return { stx, sbtc: BigInt(match[1]!) };
}

function devnetBalances(principal: string): { stx: bigint; sbtc: bigint } {
  return { stx: chain.state.stx(principal), sbtc: chain.state.token(SBTC_ASSET, principal) };
}

/** Token balances equal; STX equal once the devnet's fees are added back. Returns the devnet's. */
function assertSameBalances(...principals: string[]): Map<string, { stx: bigint; sbtc: bigint }> {
  const out = new Map<string, { stx: bigint; sbtc: bigint }>();
  for (const principal of principals) {
    const devnet = devnetBalances(principal);
    const netOfFees = { stx: devnet.stx + (feesPaid.get(principal) ?? 0n), sbtc: devnet.sbtc };
    assert.deepEqual(netOfFees, simnetBalances(principal), `balances of ${principal}`);
    out.set(principal, devnet);
  }
  return out;
}

async function signStx(from: Party, recipient: string, amount: bigint, nonce = 0n) {
  const tx = await makeSTXTokenTransfer({
    recipient,
    amount,
    senderKey: from.privateKey,
    network: 'testnet',
    nonce,
    fee: FEE,
  });
  return hexToBytes(tx.serialize());
}

type SbtcCall = {
  amount: bigint;
  sender: string;
  recipient: string;
  memo?: ClarityValue;
  nonce?: bigint;
  /** Deny mode with these post-conditions; allow mode and none when absent. */
  postConditions?: PostCondition[];
};

async function signSbtc(from: Party, call: SbtcCall) {
  const [contractAddress, contractName] = SBTC.split('.') as [string, string];
  const tx = await makeContractCall({
    contractAddress,
    contractName,
    functionName: 'transfer',
    functionArgs: [
      Cl.uint(call.amount),
      Cl.principal(call.sender),
      Cl.principal(call.recipient),
      call.memo ?? Cl.none(),
    ],
    senderKey: from.privateKey,
    network: 'testnet',
    nonce: call.nonce ?? 0n,
    fee: FEE,
    postConditionMode: call.postConditions ? 'deny' : 'allow',
    postConditions: call.postConditions ?? [],
    validateWithAbi: false,
  });
  return hexToBytes(tx.serialize());
}

/** Broadcasts every transaction to the devnet, mines one block if any was accepted, and reports each outcome. */
function runOnDevnet(raws: Uint8Array[]): DevnetOutcome[] {
  const answers = raws.map((raw) => chain.broadcast(raw));
  if (answers.some((answer) => answer.accepted)) chain.mineBlock();
  return answers.map((answer) => {
    if (!answer.accepted) return { rejected: answer.reason };
    const record = chain.transaction(answer.txid);
    assert.ok(record?.execution, `${answer.txid} was mined (status ${record?.status})`);
    const payer = record.admitted.feePayer;
    feesPaid.set(payer, (feesPaid.get(payer) ?? 0n) + record.admitted.fee);
    return {
      status: record.status,
      repr: record.execution.result.repr,
      events: record.execution.events.map(fromDevnetEvent),
    };
  });
}

/** Replays each transaction's payload in simnet, with its origin as tx-sender. */
function runOnSimnet(raws: Uint8Array[]): { repr: string; events: ComparableEvent[] }[] {
  return raws.map((raw) => {
    const tx = deserializeTransaction(bytesToHex(raw));
    const origin = addressToString(
      addressFromVersionHash(AddressVersion.TestnetSingleSig, tx.auth.spendingCondition.signer),
    );
    const { payload } = tx;
    let res: ParsedTransactionResult;
    if (payload.payloadType === PayloadType.TokenTransfer) {
      assert.equal(payload.recipient.type, 'address');
      res = simnet.transferSTX(payload.amount, payload.recipient.value, origin);
    } else if (payload.payloadType === PayloadType.ContractCall) {
      const contract = `${addressToString(payload.contractAddress)}.${payload.contractName.content}`;
      res = simnet.callPublicFn(
        contract,
        payload.functionName.content,
        payload.functionArgs,
        origin,
      );
    } else {
      throw new Error(`no simnet replay for payload type ${payload.payloadType}`);
    }
    return { repr: cvToString(res.result), events: res.events.map(fromSimnetEvent) };
  });
}

/** Runs the same transactions on both chains; returns both sides' outcomes, in order. */
function runBoth(raws: Uint8Array[]) {
  const devnet = runOnDevnet(raws);
  const sim = runOnSimnet(raws);
  return { devnet, sim };
}

/** Asserts a mined devnet outcome matches simnet's: same result, same events, and the expected status. */
function assertSameMined(
  devnet: DevnetOutcome | undefined,
  sim: { repr: string; events: ComparableEvent[] } | undefined,
  expected: { repr: string; status: 'success' | 'abort_by_response' },
): void {
  assert.ok(devnet && sim);
  assert.ok('status' in devnet, `devnet mined it (got ${JSON.stringify(devnet)})`);
  assert.equal(sim.repr, expected.repr, 'simnet result');
  assert.equal(devnet.repr, sim.repr, 'devnet result = simnet result');
  assert.equal(devnet.status, expected.status, 'devnet status');
  assert.deepEqual(devnet.events, sim.events, 'devnet events = simnet events');
}

describe('fidelity: devnet vs Clarinet simnet (real sbtc-token)', () => {
  test('STX transfer between genesis accounts', async () => {
    const [from, to] = [genesis[1]!, genesis[2]!];
    mirror(from.address, to.address);
    const before = devnetBalances(to.address);
    const raw = await signStx(from, to.address, 1_234_567n);
    const { devnet, sim } = runBoth([raw]);
    assertSameMined(devnet[0], sim[0], { repr: '(ok true)', status: 'success' });
    const after = assertSameBalances(from.address, to.address);
    assert.equal(after.get(to.address)?.stx, before.stx + 1_234_567n);
  });

  test('sBTC transfer at the mainnet id, deny mode with a matching post-condition, memo printed', async () => {
    const [from, to] = [genesis[3]!, genesis[4]!];
    mirror(from.address, to.address);
    const before = devnetBalances(to.address);
    const raw = await signSbtc(from, {
      amount: 25_000n,
      sender: from.address,
      recipient: to.address,
      memo: Cl.some(Cl.bufferFromUtf8('x402 fidelity')),
      postConditions: [Pc.principal(from.address).willSendEq(25_000n).ft(SBTC, 'sbtc-token')],
    });
    const { devnet, sim } = runBoth([raw]);
    assertSameMined(devnet[0], sim[0], { repr: '(ok true)', status: 'success' });
    assert.deepEqual(
      sim[0]?.events.map((e) => e.kind),
      ['ft', 'print'],
    );
    const after = assertSameBalances(from.address, to.address);
    assert.equal(after.get(to.address)?.sbtc, before.sbtc + 25_000n);
  });

  test('insufficient sBTC balance: (err u1), nothing moves but the fee', async () => {
    const [from, to] = [party('poor-sbtc'), party('poor-sbtc-to')];
    fund(from, { stx: 10_000n, sBTC: 1_000n });
    mirror(from.address, to.address);
    const raw = await signSbtc(from, {
      amount: 1_001n,
      sender: from.address,
      recipient: to.address,
    });
    const { devnet, sim } = runBoth([raw]);
    assertSameMined(devnet[0], sim[0], { repr: '(err u1)', status: 'abort_by_response' });
    const after = assertSameBalances(from.address, to.address);
    assert.deepEqual(after.get(from.address), { stx: 10_000n - FEE, sbtc: 1_000n });
  });

  test('insufficient STX balance once mined: the second of two chained transfers gives (err u1)', async () => {
    // Admission checks each against the confirmed balance (20,000 covers 12,000 + fee), as the node's mempool does;
    // the second then fails in the block.
    const [from, to] = [party('poor-stx-chained'), party('poor-stx-chained-to')];
    fund(from, { stx: 20_000n });
    mirror(from.address, to.address);
    const raws = [
      await signStx(from, to.address, 12_000n, 0n),
      await signStx(from, to.address, 12_000n, 1n),
    ];
    const { devnet, sim } = runBoth(raws);
    assertSameMined(devnet[0], sim[0], { repr: '(ok true)', status: 'success' });
    assertSameMined(devnet[1], sim[1], { repr: '(err u1)', status: 'abort_by_response' });
    const after = assertSameBalances(from.address, to.address);
    assert.equal(after.get(from.address)?.stx, 20_000n - 12_000n - 2n * FEE);
  });

  test('insufficient STX balance at broadcast: devnet NotEnoughFunds (mempool), simnet (err u1)', async () => {
    const [from, to] = [party('poor-stx'), party('poor-stx-to')];
    fund(from, { stx: 5_000n });
    mirror(from.address, to.address);
    const { devnet, sim } = runBoth([await signStx(from, to.address, 5_001n)]);
    assert.deepEqual(devnet[0], { rejected: 'NotEnoughFunds' });
    assert.equal(sim[0]?.repr, '(err u1)');
    const after = assertSameBalances(from.address, to.address);
    assert.equal(after.get(from.address)?.stx, 5_000n);
    assert.equal(chain.state.nonce(from.address), 0n, 'a refused transaction consumes no nonce');
  });

  test('wrong sender: tx-sender moves the sBTC of another principal, (err u4)', async () => {
    const [signer, owner, to] = [party('thief'), party('owner'), party('thief-to')];
    fund(signer, { stx: 10_000n, sBTC: 500n });
    fund(owner, { stx: 10_000n, sBTC: 50_000n });
    mirror(signer.address, owner.address, to.address);
    const raw = await signSbtc(signer, {
      amount: 100n,
      sender: owner.address,
      recipient: to.address,
    });
    const { devnet, sim } = runBoth([raw]);
    assertSameMined(devnet[0], sim[0], { repr: '(err u4)', status: 'abort_by_response' });
    const after = assertSameBalances(signer.address, owner.address, to.address);
    assert.deepEqual(after.get(owner.address), { stx: 10_000n, sbtc: 50_000n });
    assert.deepEqual(after.get(signer.address), { stx: 10_000n - FEE, sbtc: 500n });
  });

  test('zero amount: sBTC (err u3) on both; STX refused by the devnet mempool, (err u3) in simnet', async () => {
    const [from, to] = [party('zero'), party('zero-to')];
    fund(from, { stx: 10_000n, sBTC: 1_000n });
    mirror(from.address, to.address);
    const sbtc = runBoth([
      await signSbtc(from, { amount: 0n, sender: from.address, recipient: to.address }),
    ]);
    assertSameMined(sbtc.devnet[0], sbtc.sim[0], { repr: '(err u3)', status: 'abort_by_response' });
    const stx = runBoth([await signStx(from, to.address, 0n, 1n)]);
    assert.deepEqual(stx.devnet[0], { rejected: 'TransferAmountMustBePositive' });
    assert.equal(stx.sim[0]?.repr, '(err u3)');
    const after = assertSameBalances(from.address, to.address);
    assert.deepEqual(after.get(from.address), { stx: 10_000n - FEE, sbtc: 1_000n });
  });

  test('self-transfer: sBTC (err u2) on both; STX refused by the devnet mempool, (err u2) in simnet', async () => {
    const from = party('self');
    fund(from, { stx: 10_000n, sBTC: 1_000n });
    mirror(from.address);
    const sbtc = runBoth([
      await signSbtc(from, { amount: 10n, sender: from.address, recipient: from.address }),
    ]);
    assertSameMined(sbtc.devnet[0], sbtc.sim[0], { repr: '(err u2)', status: 'abort_by_response' });
    const stx = runBoth([await signStx(from, from.address, 10n, 1n)]);
    assert.deepEqual(stx.devnet[0], { rejected: 'TransferRecipientCannotEqualSender' });
    assert.equal(stx.sim[0]?.repr, '(err u2)');
    const after = assertSameBalances(from.address);
    assert.deepEqual(after.get(from.address), { stx: 10_000n - FEE, sbtc: 1_000n });
  });

  test('sBTC error precedence: u4 before u3 before u2 before u1', async () => {
    const [from, other] = [party('precedence'), party('precedence-other')];
    fund(from, { stx: 20_000n, sBTC: 100n });
    mirror(from.address, other.address);
    const raws = [
      // wrong sender, zero amount, to itself: the owner check comes first
      await signSbtc(from, { amount: 0n, sender: other.address, recipient: other.address }),
      // zero amount to itself: non-positive amount first
      await signSbtc(from, {
        amount: 0n,
        sender: from.address,
        recipient: from.address,
        nonce: 1n,
      }),
      // more than the balance, to itself: sender = recipient first
      await signSbtc(from, {
        amount: 101n,
        sender: from.address,
        recipient: from.address,
        nonce: 2n,
      }),
    ];
    const { devnet, sim } = runBoth(raws);
    const expected = ['(err u4)', '(err u3)', '(err u2)'];
    for (const [index, repr] of expected.entries()) {
      assertSameMined(devnet[index], sim[index], { repr, status: 'abort_by_response' });
    }
    assertSameBalances(from.address, other.address);
  });
});
