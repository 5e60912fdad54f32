/**
 * batch-escrow executed natively: every public and read-only function of `contracts/batch-escrow.clar`, with the
 * contract's results, error codes in the order it checks them, print events and transfers. The fidelity test
 * (`test/batch-escrow.fidelity.test.ts`) runs the same calls here and through Clarinet's simnet with the real source.
 * Nothing commits until the caller applies the plan, so a refusal or a failed post-condition leaves no trace.
 * @module
 */
import { createHash } from 'node:crypto';
import { hexToBytes } from '@stacks/common';
import { Cl, type ClarityValue, serializeCVBytes } from '@stacks/transactions';
import {
  parsePrincipal,
  recoverStructuredDataSigner,
  STACKS_NETWORKS,
  type StructuredDataDomain,
  structuredDataHash,
} from 'x402-stacks/stacks';
import type { AccountState } from './state.js';
import { type DevnetToken, tokenAssetId } from './tokens.js';

/** The refusals, named as in the contract (README "Errors"). */
export const ESCROW_ERRORS = {
  NOT_ADMIN: 100n,
  NOT_PAYER: 101n,
  ZERO_AMOUNT: 102n,
  TOKEN_MISMATCH: 103n,
  TOKEN_NOT_ALLOWED: 104n,
  WITHDRAW_DELAY_OUT_OF_RANGE: 105n,
  AUTHORIZER_NOT_SIGNER: 106n,
  CHANNEL_NOT_FOUND: 107n,
  NO_CLAIMS: 108n,
  NOT_RECEIVER_AUTHORIZED: 109n,
  BAD_VOUCHER_SIGNATURE: 110n,
  CLAIM_ABOVE_VOUCHER: 111n,
  CLAIM_ABOVE_BALANCE: 112n,
  REFUND_NONCE: 113n,
  NOT_CHANNEL_PAYER: 114n,
  WITHDRAWAL_PENDING: 115n,
  WITHDRAWAL_ABOVE_AVAILABLE: 116n,
  NO_WITHDRAWAL: 117n,
  WITHDRAWAL_LOCKED: 118n,
} as const;

const MIN_WITHDRAW_DELAY = 6n;
const MAX_WITHDRAW_DELAY = 4320n;
const NETWORK = STACKS_NETWORKS.testnet;

/** The SIP-018 domain of every deployment on the devnet: the contract binds signatures to the chain it runs on. */
export const ESCROW_DOMAIN: StructuredDataDomain = {
  name: 'x402-batch-escrow',
  version: '1',
  chainId: NETWORK.chainId,
};

type Config = {
  payer: string;
  payerAuthorizer: string;
  receiver: string;
  receiverAuthorizer: string;
  token: string | null;
  withdrawDelay: bigint;
  /** hex */
  salt: string;
};

type Channel = {
  config: Config;
  balance: bigint;
  claimed: bigint;
  refundNonce: bigint;
  withdrawal: { amount: bigint; requestedAt: bigint } | null;
};

/** An asset that moves in a call, for post-conditions, events and balances. `asset` is `STX` or an asset id. */
export type EscrowTransfer = { asset: string; sender: string; recipient: string; amount: bigint };

/** What a call does, before anything commits: the result, the transfers and prints in order, and how to commit. */
export type EscrowPlan =
  | { error: ClarityValue }
  | {
      value: ClarityValue;
      effects: ({ transfer: EscrowTransfer } | { print: ClarityValue })[];
      apply: () => void;
    };

/** What a call reads from the chain around it. */
export type EscrowCallContext = {
  /** tx-sender (and contract-caller: the call is direct). */
  readonly sender: string;
  readonly burnBlockHeight: number;
  readonly state: AccountState;
  readonly tokens: ReadonlyMap<string, DevnetToken>;
};

class Refusal {
  constructor(readonly value: ClarityValue) {}
}

const refuse = (code: bigint): never => {
  throw new Refusal(Cl.error(Cl.uint(code)));
};

/**
 * One deployment of batch-escrow: its storage (admin, allow-list, channels, unsettled pools) and its functions.
 * @example
 * ```ts
 * const escrow = new BatchEscrow('ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.batch-escrow', deployer, [sbtcId]);
 * escrow.readOnly('get-admin', []); // (ok 'ST1PQ…)
 * ```
 */
export class BatchEscrow {
  readonly contractId: string;
  readonly #storage: Storage;

  constructor(contractId: string, admin: string, allowedTokens: readonly string[] = []) {
    this.contractId = contractId;
    this.#storage = {
      admin,
      allowed: new Map(allowedTokens.map((token) => [token, true])),
      channels: new Map(),
      unsettled: new Map(),
    };
  }

  /** Runs a public function. Throws nothing for a refusal: it is an `error` plan. */
  call(fn: string, args: readonly ClarityValue[], context: EscrowCallContext): EscrowPlan {
    const run = new Run(this.contractId, this.#storage, context);
    try {
      const value = run.public(fn, args);
      return { value, effects: run.effects, apply: () => run.commit() };
    } catch (error) {
      if (error instanceof Refusal) return { error: error.value };
      throw error;
    }
  }

  /** Runs a read-only function: its value, or the response error it returns. */
  readOnly(fn: string, args: readonly ClarityValue[]): ClarityValue {
    const run = new Run(this.contractId, this.#storage, undefined);
    try {
      return run.readOnly(fn, args);
    } catch (error) {
      if (error instanceof Refusal) return error.value;
      throw error;
    }
  }

  /** The storage as JSON, every amount a decimal string. */
  toJSON(): EscrowStateJson {
    return {
      admin: this.#storage.admin,
      allowed: Object.fromEntries(this.#storage.allowed),
      channels: Object.fromEntries(
        [...this.#storage.channels].map(([id, ch]) => [
          id,
          {
            config: { ...ch.config, withdrawDelay: ch.config.withdrawDelay.toString() },
            balance: ch.balance.toString(),
            claimed: ch.claimed.toString(),
            refundNonce: ch.refundNonce.toString(),
            withdrawal: ch.withdrawal && {
              amount: ch.withdrawal.amount.toString(),
              requestedAt: ch.withdrawal.requestedAt.toString(),
            },
          },
        ]),
      ),
      unsettled: Object.fromEntries(
        [...this.#storage.unsettled].map(([k, v]) => [k, v.toString()]),
      ),
    };
  }

  /** Loads storage saved by `toJSON()`, replacing what genesis put there. */
  load(json: EscrowStateJson): void {
    this.#storage.admin = json.admin;
    this.#storage.allowed.clear();
    for (const [token, allowed] of Object.entries(json.allowed))
      this.#storage.allowed.set(token, allowed);
    this.#storage.channels.clear();
    for (const [id, ch] of Object.entries(json.channels)) {
      this.#storage.channels.set(id, {
        config: { ...ch.config, withdrawDelay: BigInt(ch.config.withdrawDelay) },
        balance: BigInt(ch.balance),
        claimed: BigInt(ch.claimed),
        refundNonce: BigInt(ch.refundNonce),
        withdrawal: ch.withdrawal && {
          amount: BigInt(ch.withdrawal.amount),
          requestedAt: BigInt(ch.withdrawal.requestedAt),
        },
      });
    }
    this.#storage.unsettled.clear();
    for (const [key, amount] of Object.entries(json.unsettled))
      this.#storage.unsettled.set(key, BigInt(amount));
  }
}

/** One deployment's storage, as the contract's data-var and maps hold it. */
type Storage = {
  admin: string;
  readonly allowed: Map<string, boolean>;
  readonly channels: Map<string, Channel>;
  /** by `<receiver>|<token id or ''>` */
  readonly unsettled: Map<string, bigint>;
};

/**
 * The saved form of one deployment's storage, every amount a decimal string so it survives JSON.
 * @example
 * ```ts
 * const saved: EscrowStateJson = escrow.toJSON();
 * escrow.load(saved);
 * ```
 */
export type EscrowStateJson = {
  admin: string;
  allowed: Record<string, boolean>;
  channels: Record<
    string,
    {
      config: Omit<Config, 'withdrawDelay'> & { withdrawDelay: string };
      balance: string;
      claimed: string;
      refundNonce: string;
      withdrawal: { amount: string; requestedAt: string } | null;
    }
  >;
  unsettled: Record<string, string>;
};

/** One call: reads through staged writes, so a later row of a claim sees an earlier one; commits only on success. */
class Run {
  readonly effects: ({ transfer: EscrowTransfer } | { print: ClarityValue })[] = [];
  readonly #contractId: string;
  readonly #storage: Storage;
  readonly #context: EscrowCallContext | undefined;
  #admin: string | undefined;
  readonly #allowed = new Map<string, boolean>();
  readonly #channels = new Map<string, Channel>();
  readonly #unsettled = new Map<string, bigint>();

  constructor(contractId: string, storage: Storage, context: EscrowCallContext | undefined) {
    this.#contractId = contractId;
    this.#storage = storage;
    this.#context = context;
  }

  commit(): void {
    const storage = this.#storage;
    if (this.#admin !== undefined) storage.admin = this.#admin;
    for (const [token, allowed] of this.#allowed) storage.allowed.set(token, allowed);
    for (const [id, channel] of this.#channels) storage.channels.set(id, channel);
    for (const [key, amount] of this.#unsettled) {
      if (amount === 0n) storage.unsettled.delete(key);
      else storage.unsettled.set(key, amount);
    }
    const { state } = this.#context!;
    for (const effect of this.effects) {
      if (!('transfer' in effect)) continue;
      const { asset, sender, recipient, amount } = effect.transfer;
      if (asset === 'STX') state.transferStx(sender, recipient, amount);
      else state.transferToken(asset, sender, recipient, amount);
    }
  }

  public(fn: string, args: readonly ClarityValue[]): ClarityValue {
    switch (fn) {
      case 'set-admin':
        return this.#setAdmin(principalOf(args[0]));
      case 'set-token-allowed':
        return this.#setTokenAllowed(principalOf(args[0]), args[1]!.type === 'true');
      case 'deposit':
        return this.#deposit(args[0]!, uintOf(args[1]), tokenArg(args[2]));
      case 'claim':
        return this.#claim(args[0]!, optionalBuffer(args[1]));
      case 'settle':
        return this.#settle(principalOf(args[0]), tokenArg(args[1]));
      case 'refund':
        return this.#refund(
          bufferOf(args[0]),
          uintOf(args[1]),
          uintOf(args[2]),
          optionalBuffer(args[3]),
          tokenArg(args[4]),
        );
      case 'start-withdrawal':
        return this.#startWithdrawal(bufferOf(args[0]), uintOf(args[1]));
      case 'finish-withdrawal':
        return this.#finishWithdrawal(bufferOf(args[0]), tokenArg(args[1]));
      default:
        throw new Error(`batch-escrow has no public function ${fn}`);
    }
  }

  readOnly(fn: string, args: readonly ClarityValue[]): ClarityValue {
    switch (fn) {
      case 'get-channel-id':
        return Cl.buffer(channelIdOf(args[0]!));
      case 'get-channel': {
        const channel = this.#channel(bufferOf(args[0]));
        return channel ? Cl.some(channelCV(channel)) : Cl.none();
      }
      case 'get-unsettled': {
        return Cl.uint(this.#pool(principalOf(args[0]), tokenArg(args[1])));
      }
      case 'is-token-allowed':
        return Cl.bool(this.#isAllowed(principalOf(args[0])));
      case 'get-admin':
        return Cl.principal(this.#currentAdmin());
      case 'voucher-hash':
        return Cl.buffer(this.#voucherHash(bufferOf(args[0]), uintOf(args[1])));
      case 'claim-batch-hash':
        return Cl.buffer(this.#hash(claimBatchMessage(this.#contractId, args[0]!)));
      case 'refund-hash':
        return Cl.buffer(this.#refundHash(bufferOf(args[0]), uintOf(args[1]), uintOf(args[2])));
      case 'check-voucher': {
        const id = bufferOf(args[0]);
        const max = uintOf(args[1]);
        const channel = this.#channel(id) ?? refuse(ESCROW_ERRORS.CHANNEL_NOT_FOUND);
        if (
          this.#signerOf(this.#voucherHash(id, max), bufferOf(args[2])) !==
          channel.config.payerAuthorizer
        ) {
          refuse(ESCROW_ERRORS.BAD_VOUCHER_SIGNATURE);
        }
        return Cl.ok(Cl.bool(max <= channel.balance));
      }
      default:
        throw new Error(`batch-escrow has no read-only function ${fn}`);
    }
  }

  // --- public functions, each check in the contract's order -------------------------------------------------------

  #setAdmin(admin: string): ClarityValue {
    if (this.#sender !== this.#currentAdmin()) refuse(ESCROW_ERRORS.NOT_ADMIN);
    this.#print({ event: Cl.stringAscii('admin'), admin: Cl.principal(admin) });
    this.#admin = admin;
    return Cl.ok(Cl.bool(true));
  }

  #setTokenAllowed(token: string, allowed: boolean): ClarityValue {
    if (this.#sender !== this.#currentAdmin()) refuse(ESCROW_ERRORS.NOT_ADMIN);
    this.#print({
      event: Cl.stringAscii('token-allowed'),
      token: Cl.principal(token),
      allowed: Cl.bool(allowed),
    });
    this.#allowed.set(token, allowed);
    return Cl.ok(Cl.bool(true));
  }

  #deposit(configArg: ClarityValue, amount: bigint, token: string | null): ClarityValue {
    const config = configOf(configArg);
    const id = channelIdOf(configArg);
    const existing = this.#channel(id);
    const channel: Channel = existing ?? {
      config,
      balance: 0n,
      claimed: 0n,
      refundNonce: 0n,
      withdrawal: null,
    };
    const balance = channel.balance + amount;
    if (this.#sender !== config.payer) refuse(ESCROW_ERRORS.NOT_PAYER);
    if (amount <= 0n) refuse(ESCROW_ERRORS.ZERO_AMOUNT);
    if (config.token !== token) refuse(ESCROW_ERRORS.TOKEN_MISMATCH);
    if (config.token !== null && !this.#isAllowed(config.token)) {
      refuse(ESCROW_ERRORS.TOKEN_NOT_ALLOWED);
    }
    if (config.withdrawDelay < MIN_WITHDRAW_DELAY || config.withdrawDelay > MAX_WITHDRAW_DELAY) {
      refuse(ESCROW_ERRORS.WITHDRAW_DELAY_OUT_OF_RANGE);
    }
    if (!canSign(config.payerAuthorizer) || !canSign(config.receiverAuthorizer)) {
      refuse(ESCROW_ERRORS.AUTHORIZER_NOT_SIGNER);
    }
    this.#transfer(token, amount, this.#sender, this.#contractId);
    this.#channels.set(hexOf(id), { ...channel, balance });
    if (!existing) {
      this.#print({
        event: Cl.stringAscii('open'),
        'channel-id': Cl.buffer(id),
        config: configArg,
      });
    }
    this.#print({
      event: Cl.stringAscii('deposit'),
      'channel-id': Cl.buffer(id),
      amount: Cl.uint(amount),
      balance: Cl.uint(balance),
      claimed: Cl.uint(channel.claimed),
    });
    return Cl.ok(Cl.buffer(id));
  }

  #claim(claims: ClarityValue, authorization: Uint8Array | null): ClarityValue {
    const rows = claims.type === 'list' ? claims.value : [];
    if (rows.length === 0) refuse(ESCROW_ERRORS.NO_CLAIMS);
    let signer: string | null = null;
    if (authorization !== null) {
      const hash = this.#hash(claimBatchMessage(this.#contractId, claims));
      signer = this.#signerOf(hash, authorization) ?? refuse(ESCROW_ERRORS.NOT_RECEIVER_AUTHORIZED);
    }
    let total = 0n;
    for (const row of rows) {
      const fields = row.type === 'tuple' ? row.value : {};
      const id = bufferOf(fields['channel-id']);
      const max = uintOf(fields['max-claimable']);
      const target = uintOf(fields.claimed);
      const channel = this.#channel(id) ?? refuse(ESCROW_ERRORS.CHANNEL_NOT_FOUND);
      const { config } = channel;
      const authorized =
        signer !== null
          ? signer === config.receiverAuthorizer
          : this.#sender === config.receiver || this.#sender === config.receiverAuthorizer;
      if (!authorized) refuse(ESCROW_ERRORS.NOT_RECEIVER_AUTHORIZED);
      const voucherSigner = this.#signerOf(
        this.#voucherHash(id, max),
        bufferOf(fields['voucher-signature']),
      );
      if (voucherSigner !== config.payerAuthorizer) refuse(ESCROW_ERRORS.BAD_VOUCHER_SIGNATURE);
      if (target > max) refuse(ESCROW_ERRORS.CLAIM_ABOVE_VOUCHER);
      if (target <= channel.claimed) continue;
      const raised = target - channel.claimed;
      if (target > channel.balance) refuse(ESCROW_ERRORS.CLAIM_ABOVE_BALANCE);
      this.#channels.set(hexOf(id), { ...channel, claimed: target });
      const key = poolKey(config.receiver, config.token);
      this.#unsettled.set(key, this.#pool(config.receiver, config.token) + raised);
      this.#print({
        event: Cl.stringAscii('claim'),
        'channel-id': Cl.buffer(id),
        amount: Cl.uint(raised),
        balance: Cl.uint(channel.balance),
        claimed: Cl.uint(target),
      });
      total += raised;
    }
    return Cl.ok(Cl.uint(total));
  }

  #settle(receiver: string, token: string | null): ClarityValue {
    const amount = this.#pool(receiver, token);
    if (amount === 0n) return Cl.ok(Cl.uint(0n));
    this.#unsettled.set(poolKey(receiver, token), 0n);
    this.#transfer(token, amount, this.#contractId, receiver);
    this.#print({
      event: Cl.stringAscii('settle'),
      receiver: Cl.principal(receiver),
      token: token === null ? Cl.none() : Cl.some(Cl.principal(token)),
      amount: Cl.uint(amount),
    });
    return Cl.ok(Cl.uint(amount));
  }

  #refund(
    id: Uint8Array,
    amount: bigint,
    nonce: bigint,
    authorization: Uint8Array | null,
    token: string | null,
  ): ClarityValue {
    const channel = this.#channel(id) ?? refuse(ESCROW_ERRORS.CHANNEL_NOT_FOUND);
    const { config } = channel;
    const available = channel.balance - channel.claimed;
    const refunded = smaller(amount, available);
    const balance = channel.balance - refunded;
    const pending = channel.withdrawal;
    const withdrawal =
      pending && pending.amount > refunded
        ? { ...pending, amount: pending.amount - refunded }
        : null;
    if (amount <= 0n) refuse(ESCROW_ERRORS.ZERO_AMOUNT);
    if (config.token !== token) refuse(ESCROW_ERRORS.TOKEN_MISMATCH);
    const authorized =
      authorization !== null
        ? this.#signerOf(this.#refundHash(id, amount, nonce), authorization) ===
          config.receiverAuthorizer
        : this.#sender === config.receiver || this.#sender === config.receiverAuthorizer;
    if (!authorized) refuse(ESCROW_ERRORS.NOT_RECEIVER_AUTHORIZED);
    if (nonce !== channel.refundNonce) refuse(ESCROW_ERRORS.REFUND_NONCE);
    this.#channels.set(hexOf(id), { ...channel, balance, refundNonce: nonce + 1n, withdrawal });
    if (refunded > 0n) this.#transfer(token, refunded, this.#contractId, config.payer);
    this.#print({
      event: Cl.stringAscii('refund'),
      'channel-id': Cl.buffer(id),
      amount: Cl.uint(refunded),
      balance: Cl.uint(balance),
      claimed: Cl.uint(channel.claimed),
      'refund-nonce': Cl.uint(nonce + 1n),
    });
    return Cl.ok(Cl.uint(refunded));
  }

  #startWithdrawal(id: Uint8Array, amount: bigint): ClarityValue {
    const channel = this.#channel(id) ?? refuse(ESCROW_ERRORS.CHANNEL_NOT_FOUND);
    const { config } = channel;
    if (!this.#isPayerSide(config)) refuse(ESCROW_ERRORS.NOT_CHANNEL_PAYER);
    if (channel.withdrawal) refuse(ESCROW_ERRORS.WITHDRAWAL_PENDING);
    if (amount <= 0n) refuse(ESCROW_ERRORS.ZERO_AMOUNT);
    if (amount > channel.balance - channel.claimed)
      refuse(ESCROW_ERRORS.WITHDRAWAL_ABOVE_AVAILABLE);
    const requestedAt = BigInt(this.#context!.burnBlockHeight);
    const unlocksAt = requestedAt + config.withdrawDelay;
    this.#channels.set(hexOf(id), { ...channel, withdrawal: { amount, requestedAt } });
    this.#print({
      event: Cl.stringAscii('withdrawal-started'),
      'channel-id': Cl.buffer(id),
      amount: Cl.uint(amount),
      'requested-at': Cl.uint(requestedAt),
      'unlocks-at': Cl.uint(unlocksAt),
    });
    return Cl.ok(Cl.uint(unlocksAt));
  }

  #finishWithdrawal(id: Uint8Array, token: string | null): ClarityValue {
    const channel = this.#channel(id) ?? refuse(ESCROW_ERRORS.CHANNEL_NOT_FOUND);
    const { config } = channel;
    const pending = channel.withdrawal ?? refuse(ESCROW_ERRORS.NO_WITHDRAWAL);
    const available = channel.balance - channel.claimed;
    const paid = smaller(pending.amount, available);
    const balance = channel.balance - paid;
    if (!this.#isPayerSide(config)) refuse(ESCROW_ERRORS.NOT_CHANNEL_PAYER);
    if (config.token !== token) refuse(ESCROW_ERRORS.TOKEN_MISMATCH);
    if (BigInt(this.#context!.burnBlockHeight) < pending.requestedAt + config.withdrawDelay) {
      refuse(ESCROW_ERRORS.WITHDRAWAL_LOCKED);
    }
    this.#channels.set(hexOf(id), { ...channel, balance, withdrawal: null });
    if (paid > 0n) this.#transfer(token, paid, this.#contractId, config.payer);
    this.#print({
      event: Cl.stringAscii('withdrawal-finished'),
      'channel-id': Cl.buffer(id),
      amount: Cl.uint(paid),
      balance: Cl.uint(balance),
      claimed: Cl.uint(channel.claimed),
    });
    return Cl.ok(Cl.uint(paid));
  }

  // --- helpers ------------------------------------------------------------------------------------------------------

  get #sender(): string {
    return this.#context!.sender;
  }

  #currentAdmin(): string {
    return this.#admin ?? this.#storage.admin;
  }

  #isAllowed(token: string): boolean {
    return this.#allowed.get(token) ?? this.#storage.allowed.get(token) ?? false;
  }

  #channel(id: Uint8Array | string): Channel | undefined {
    const key = typeof id === 'string' ? id : hexOf(id);
    return this.#channels.get(key) ?? this.#storage.channels.get(key);
  }

  #pool(receiver: string, token: string | null): bigint {
    const key = poolKey(receiver, token);
    return this.#unsettled.get(key) ?? this.#storage.unsettled.get(key) ?? 0n;
  }

  #isPayerSide(config: Config): boolean {
    return this.#sender === config.payer || this.#sender === config.payerAuthorizer;
  }

  #print(fields: Record<string, ClarityValue>): void {
    this.effects.push({ print: Cl.tuple(fields) });
  }

  /**
   * stx-transfer? or the token's `transfer` (sbtc-token's semantics), refused with their own codes: u3 for a
   * non-positive amount, u2 to oneself, u1 for too little. The contract `try!`s it, so the code aborts the call.
   */
  #transfer(token: string | null, amount: bigint, sender: string, recipient: string): void {
    const { state, tokens } = this.#context!;
    let asset = 'STX';
    if (token !== null) {
      const known = tokens.get(token);
      if (!known) throw new Error(`the devnet does not execute token ${token}`);
      asset = tokenAssetId(known);
    }
    const held = asset === 'STX' ? state.stx(sender) : state.token(asset, sender);
    if (amount <= 0n) throw new Refusal(Cl.error(Cl.uint(3)));
    if (sender === recipient) throw new Refusal(Cl.error(Cl.uint(2)));
    if (held < amount) throw new Refusal(Cl.error(Cl.uint(1)));
    this.effects.push({ transfer: { asset, sender, recipient, amount } });
  }

  #hash(message: ClarityValue): Uint8Array {
    return structuredDataHash(ESCROW_DOMAIN, message);
  }

  #voucherHash(id: Uint8Array, max: bigint): Uint8Array {
    return this.#hash(
      Cl.tuple({
        action: Cl.stringAscii('voucher'),
        escrow: Cl.principal(this.#contractId),
        'channel-id': Cl.buffer(id),
        'max-claimable': Cl.uint(max),
      }),
    );
  }

  #refundHash(id: Uint8Array, amount: bigint, nonce: bigint): Uint8Array {
    return this.#hash(
      Cl.tuple({
        action: Cl.stringAscii('refund'),
        escrow: Cl.principal(this.#contractId),
        'channel-id': Cl.buffer(id),
        amount: Cl.uint(amount),
        nonce: Cl.uint(nonce),
      }),
    );
  }

  /** `signer-of`: the testnet single-sig principal of the compressed key the signature recovers, or undefined. */
  #signerOf(hash: Uint8Array, signature: Uint8Array): string | undefined {
    return recoverStructuredDataSigner(hash, signature, NETWORK.addressVersion.singleSig);
  }
}

/** The claim-batch message: what the receiver-authorizer signs for these rows, `{ channel-id, claimed }` in order. */
function claimBatchMessage(contractId: string, claims: ClarityValue): ClarityValue {
  const rows = claims.type === 'list' ? claims.value : [];
  return Cl.tuple({
    action: Cl.stringAscii('claim'),
    escrow: Cl.principal(contractId),
    claims: Cl.list(
      rows.map((row) => {
        const fields = row.type === 'tuple' ? row.value : {};
        return Cl.tuple({ 'channel-id': fields['channel-id']!, claimed: fields.claimed! });
      }),
    ),
  });
}

/** sha256 of the config tuple's consensus serialization, as `get-channel-id` computes it. */
function channelIdOf(config: ClarityValue): Uint8Array {
  return createHash('sha256').update(serializeCVBytes(config)).digest();
}

function configOf(value: ClarityValue): Config {
  if (value.type !== 'tuple') throw new Error('a channel config is a tuple');
  const fields = value.value;
  const token = fields.token!;
  return {
    payer: principalOf(fields.payer),
    payerAuthorizer: principalOf(fields['payer-authorizer']),
    receiver: principalOf(fields.receiver),
    receiverAuthorizer: principalOf(fields['receiver-authorizer']),
    token: token.type === 'some' ? principalOf(token.value) : null,
    withdrawDelay: uintOf(fields['withdraw-delay']),
    salt: fields.salt?.type === 'buffer' ? fields.salt.value : '',
  };
}

function configCV(config: Config): ClarityValue {
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

function channelCV(channel: Channel): ClarityValue {
  return Cl.tuple({
    config: configCV(channel.config),
    balance: Cl.uint(channel.balance),
    claimed: Cl.uint(channel.claimed),
    'refund-nonce': Cl.uint(channel.refundNonce),
    withdrawal: channel.withdrawal
      ? Cl.some(
          Cl.tuple({
            amount: Cl.uint(channel.withdrawal.amount),
            'requested-at': Cl.uint(channel.withdrawal.requestedAt),
          }),
        )
      : Cl.none(),
  });
}

/**
 * `can-sign`: a standard principal of this network's single-sig version. `principal-destruct?` fails for another
 * network's version, and a multi-sig or contract principal can never produce a recoverable key.
 */
function canSign(principal: string): boolean {
  try {
    const parsed = parsePrincipal(principal);
    return parsed.contractName === undefined && parsed.version === NETWORK.addressVersion.singleSig;
  } catch {
    return false;
  }
}

function poolKey(receiver: string, token: string | null): string {
  return `${receiver}|${token ?? ''}`;
}

function principalOf(value: ClarityValue | undefined): string {
  return value && (value.type === 'address' || value.type === 'contract') ? value.value : '';
}

function uintOf(value: ClarityValue | undefined): bigint {
  return value?.type === 'uint' ? BigInt(value.value) : 0n;
}

function bufferOf(value: ClarityValue | undefined): Uint8Array {
  return value?.type === 'buffer' ? hexToBytes(value.value) : new Uint8Array();
}

function optionalBuffer(value: ClarityValue | undefined): Uint8Array | null {
  return value?.type === 'some' ? bufferOf(value.value) : null;
}

function tokenArg(value: ClarityValue | undefined): string | null {
  return value?.type === 'some' ? principalOf(value.value) : null;
}

/** The smaller of two amounts (Math.min takes no bigint). */
function smaller(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
