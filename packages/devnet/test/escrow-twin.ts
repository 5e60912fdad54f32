/**
 * The batch-escrow fidelity bridge: one signed transaction runs on the devnet (broadcast as raw bytes, mined) and its
 * payload is replayed in Clarinet's simnet with the real contract, with the origin as tx-sender. Both sides start with
 * the same balances for every party (minted into simnet once), burn heights are lined up before each call, and the
 * comparison covers the result, the status, every event, the balances (STX net of the devnet's fees, since simnet
 * charges none) and each channel's storage read through `get-channel` (simnet's read-only call against the devnet's
 * node `call-read` route).
 */
import assert from 'node:assert/strict';
import type { Simnet } from '@stacks/clarinet-sdk';
import { bytesToHex, hexToBytes } from '@stacks/common';
import {
  AddressVersion,
  addressFromVersionHash,
  addressToString,
  Cl,
  type ClarityValue,
  cvToHex,
  cvToString,
  deserializeTransaction,
  hexToCV,
  makeContractCall,
  PayloadType,
  type PostCondition,
  sponsorTransaction,
} from '@stacks/transactions';
import type { Hono } from 'hono';
import { createDevnetApp, DevnetChain } from '../src/index.js';
import { DEPLOYER, ESCROW, type Party, SBTC, startEscrowSimnet } from './batch-escrow-kit.js';
import { type ComparableEvent, fromDevnetEvent, fromSimnetEvent } from './fidelity-events.js';

const SBTC_ASSET = `${SBTC}::sbtc-token`;

/** Each side's answer to one call. */
export type TwinOutcome = {
  readonly devnet: { status: string; repr: string; events: ComparableEvent[] };
  readonly simnet: { repr: string; events: ComparableEvent[] };
};

export type CallOptions = {
  /** A sponsored transaction: this party pays the fee. */
  sponsor?: Party;
  /** Deny mode with these post-conditions; allow mode when absent. */
  postConditions?: PostCondition[];
};

export class EscrowTwin {
  readonly simnet: Simnet;
  readonly chain: DevnetChain;
  readonly #app: Hono;
  readonly #fees = new Map<string, bigint>();
  readonly #mirrored = new Set<string>();

  private constructor(simnet: Simnet, chain: DevnetChain) {
    this.simnet = simnet;
    this.chain = chain;
    this.#app = createDevnetApp(chain);
  }

  static async start(): Promise<EscrowTwin> {
    // One burn block per Stacks block keeps the burn heights easy to line up with simnet's.
    return new EscrowTwin(
      await startEscrowSimnet(),
      new DevnetChain({ accounts: 1, burnBlockEvery: 1 }),
    );
  }

  /** The deployer (the escrow's admin on both sides), with its published devnet key. */
  get deployer(): Party {
    const account = this.chain.accounts[0]!;
    assert.equal(account.address, DEPLOYER);
    return { address: account.address, privateKey: account.privateKey };
  }

  /** Funds a fresh party on both sides with the same STX and sBTC. */
  fund(party: Party, amounts: { stx?: bigint; sBTC?: bigint }): void {
    assert.ok(!this.#mirrored.has(party.address), `${party.address} is funded once`);
    this.#mirrored.add(party.address);
    this.chain.fund(party.address, amounts);
    if (amounts.stx) this.simnet.mintSTX(party.address, amounts.stx);
    if (amounts.sBTC) this.simnet.mintFT(`${SBTC}.sbtc-token`, party.address, amounts.sBTC);
    this.assertSameBalances(party.address);
  }

  /**
   * Signs a call to the escrow, runs it on the devnet and then in simnet, after lining up the burn height the call
   * will see on both sides.
   */
  async call(
    from: Party,
    fn: string,
    args: ClarityValue[],
    options: CallOptions = {},
  ): Promise<TwinOutcome> {
    const raw = await this.sign(from, fn, args, options);
    this.alignBurnHeights();
    const devnet = this.runOnDevnet(raw);
    assert.ok('status' in devnet, `the devnet admitted ${fn}: ${JSON.stringify(devnet)}`);
    return { devnet, simnet: this.runOnSimnet(raw) };
  }

  /** Signs a contract call to the escrow (sponsored when asked), with a fee far above 1 micro-STX per byte. */
  async sign(from: Party, fn: string, args: ClarityValue[], options: CallOptions = {}) {
    const [contractAddress, contractName] = ESCROW.split('.') as [string, string];
    const tx = await makeContractCall({
      contractAddress,
      contractName,
      functionName: fn,
      functionArgs: args,
      senderKey: from.privateKey,
      network: 'testnet',
      nonce: this.chain.state.nonce(from.address),
      fee: options.sponsor ? 0n : 50_000n,
      sponsored: options.sponsor !== undefined,
      postConditionMode: options.postConditions ? 'deny' : 'allow',
      postConditions: options.postConditions ?? [],
      validateWithAbi: false,
    });
    if (!options.sponsor) return hexToBytes(tx.serialize());
    const sponsored = await sponsorTransaction({
      transaction: tx,
      sponsorPrivateKey: options.sponsor.privateKey,
      fee: 50_000n,
      sponsorNonce: this.chain.state.nonce(options.sponsor.address),
      network: 'testnet',
    });
    return hexToBytes(sponsored.serialize());
  }

  /** Broadcasts and mines one block: the devnet's refusal reason, or its status, result and events. */
  runOnDevnet(
    raw: Uint8Array,
  ): { rejected: string } | { status: string; repr: string; events: ComparableEvent[] } {
    const answer = this.chain.broadcast(raw);
    if (!answer.accepted) return { rejected: answer.reason };
    this.chain.mineBlock();
    const record = this.chain.transaction(answer.txid);
    assert.ok(record?.execution, `${answer.txid} was mined (status ${record?.status})`);
    const payer = record.admitted.feePayer;
    this.#fees.set(payer, (this.#fees.get(payer) ?? 0n) + record.admitted.fee);
    return {
      status: record.status,
      repr: record.execution.result.repr,
      events: record.execution.events.map(fromDevnetEvent),
    };
  }

  runOnSimnet(raw: Uint8Array): { repr: string; events: ComparableEvent[] } {
    const tx = deserializeTransaction(bytesToHex(raw));
    const origin = addressToString(
      addressFromVersionHash(AddressVersion.TestnetSingleSig, tx.auth.spendingCondition.signer),
    );
    const { payload } = tx;
    assert.equal(payload.payloadType, PayloadType.ContractCall);
    if (payload.payloadType !== PayloadType.ContractCall) throw new Error('unreachable');
    const contract = `${addressToString(payload.contractAddress)}.${payload.contractName.content}`;
    const res = this.simnet.callPublicFn(
      contract,
      payload.functionName.content,
      payload.functionArgs,
      origin,
    );
    return { repr: cvToString(res.result), events: res.events.map(fromSimnetEvent) };
  }

  /** Advances both sides' burn heights by `count` blocks. */
  mineBurnBlocks(count: number): void {
    this.chain.mine(count);
    this.alignBurnHeights();
  }

  /**
   * Makes the burn height the next devnet block will carry equal to simnet's current one, advancing whichever side is
   * behind: simnet calls run at its current burn height, the devnet's at its next block's.
   */
  alignBurnHeights(): void {
    const devnetNext = this.chain.height + 1;
    const simnet = this.simnet.burnBlockHeight;
    if (simnet < devnetNext) this.simnet.mineEmptyBurnBlocks(devnetNext - simnet);
    else if (simnet > devnetNext) this.chain.mine(simnet - devnetNext);
    assert.equal(this.simnet.burnBlockHeight, this.chain.height + 1, 'burn heights line up');
  }

  /** STX (net of the devnet's fees) and sBTC equal on both sides for each principal; returns the devnet's. */
  assertSameBalances(...principals: string[]): Map<string, { stx: bigint; sbtc: bigint }> {
    const out = new Map<string, { stx: bigint; sbtc: bigint }>();
    for (const principal of principals) {
      const stx = this.chain.state.stx(principal);
      const sbtc = this.chain.state.token(SBTC_ASSET, principal);
      const simStx = this.simnet.getAssetsMap().get('STX')?.get(principal) ?? 0n;
      const simSbtc = this.#simnetSbtc(principal);
      assert.deepEqual(
        { stx: stx + (this.#fees.get(principal) ?? 0n), sbtc },
        { stx: simStx, sbtc: simSbtc },
        `balances of ${principal}`,
      );
      out.set(principal, { stx, sbtc });
    }
    return out;
  }

  /** A read-only function on both sides: simnet's value, and the devnet's through `POST /v2/contracts/call-read`. */
  async readOnly(fn: string, args: ClarityValue[]): Promise<{ devnet: string; simnet: string }> {
    const simnet = cvToHex(this.simnet.callReadOnlyFn(ESCROW, fn, args, DEPLOYER).result);
    const [address, name] = ESCROW.split('.') as [string, string];
    const response = await this.#app.request(`/v2/contracts/call-read/${address}/${name}/${fn}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sender: DEPLOYER, arguments: args.map((arg) => cvToHex(arg)) }),
    });
    assert.equal(response.status, 200);
    const body = (await response.json()) as { okay: boolean; result?: string; cause?: string };
    assert.ok(body.okay, `call-read ${fn}: ${body.cause}`);
    return { devnet: body.result!, simnet };
  }

  /** The same read-only answer on both sides; returns it as Clarity text. */
  async assertSameRead(fn: string, args: ClarityValue[]): Promise<string> {
    const { devnet, simnet } = await this.readOnly(fn, args);
    assert.equal(devnet, simnet, `${fn} answers the same`);
    return cvToString(hexToCV(devnet));
  }

  /** The channel's storage, the same on both sides. */
  async assertSameChannel(channelId: string): Promise<string> {
    return this.assertSameRead('get-channel', [Cl.bufferFromHex(channelId)]);
  }

  #simnetSbtc(principal: string): bigint {
    const balance = cvToString(
      this.simnet.callReadOnlyFn(SBTC, 'get-balance', [Cl.principal(principal)], DEPLOYER).result,
    );
    const match = /^\(ok u(\d+)\)$/.exec(balance);
    assert.ok(match, `get-balance answered ${balance}`);
    return BigInt(match[1]!);
  }
}

/** Asserts both sides answered `repr` with the same events, and the devnet's status fits the result. */
export function assertSame(outcome: TwinOutcome, repr: string): ComparableEvent[] {
  assert.equal(outcome.simnet.repr, repr, 'simnet result');
  assert.equal(outcome.devnet.repr, outcome.simnet.repr, 'devnet result = simnet result');
  assert.equal(
    outcome.devnet.status,
    repr.startsWith('(ok') ? 'success' : 'abort_by_response',
    'devnet status',
  );
  assert.deepEqual(outcome.devnet.events, outcome.simnet.events, 'devnet events = simnet events');
  return outcome.devnet.events;
}
