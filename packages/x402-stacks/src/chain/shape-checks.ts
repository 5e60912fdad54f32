/**
 * Hand-written checks for the small answers read on every verify and settle (nonces, account, balances, fee rate,
 * chain info). They accept exactly what the zod schemas of `schemas.ts` accept (a test holds them to it) at a
 * fraction of the cost: zod builds a new object and an issue list per parse. The answers that decide money on their
 * own (a broadcast's txid or rejection, a transaction's status and events) keep their zod schemas. Internal: not
 * re-exported.
 * @module
 */
import type { ChainInfo } from './types.js';

/**
 * Why a JSON value does not have the expected shape: the field, and what it should have been.
 * @example
 * ```ts
 * new Mismatch('balance', 'expected 0x-prefixed u128 hex');
 * ```
 */
export class Mismatch {
  constructor(
    readonly path: string,
    readonly expected: string,
  ) {}

  /** In the format of zod's `prettifyError`, so errors read the same whichever way the answer was checked. */
  describe(): string {
    return `✖ ${this.expected}${this.path ? `\n  → at ${this.path}` : ''}`;
  }
}

/**
 * Checks a parsed JSON value: the value (typed, possibly converted), or a {@link Mismatch}.
 * @example
 * ```ts
 * const result = checkFeeRate(JSON.parse('7')); // 7
 * ```
 */
export type ShapeCheck<T> = (value: unknown) => T | Mismatch;

/** `GET /v2/accounts/:principal?proof=0`, as `AccountSchema`. */
export type AccountAnswer = { balance: string; nonce: number };
/** `GET /extended/v1/address/:principal/nonces`, as `NoncesSchema`. */
export type NoncesAnswer = {
  possible_next_nonce: number;
  last_executed_tx_nonce?: number | null;
  detected_missing_nonces?: number[];
};
/** `GET /extended/v1/address/:principal/balances`, as `BalancesSchema`. */
export type BalancesAnswer = { fungible_tokens?: Record<string, { balance: string }> };

const HEX_U128 = /^0x[0-9a-fA-F]{1,32}$/;
const DECIMAL = /^\d+$/;
const COUNT = 'expected a non-negative safe integer';

/**
 * `GET /v2/accounts/:principal?proof=0`: a u128 hex balance and a nonce.
 * @example
 * ```ts
 * checkAccount({ balance: '0x0000000000000000000000003b9aca00', nonce: 4 }); // the same object
 * ```
 */
export const checkAccount: ShapeCheck<AccountAnswer> = (value) => {
  if (!isObject(value)) return new Mismatch('', 'expected an object');
  const { balance, nonce } = value;
  if (typeof balance !== 'string' || !HEX_U128.test(balance)) {
    return new Mismatch('balance', 'expected 0x-prefixed u128 hex');
  }
  if (!isCount(nonce)) return new Mismatch('nonce', COUNT);
  return value as AccountAnswer;
};

/**
 * `GET /extended/v1/address/:principal/nonces`.
 * @example
 * ```ts
 * checkNonces({ possible_next_nonce: 5, last_executed_tx_nonce: 4, detected_missing_nonces: [] });
 * ```
 */
export const checkNonces: ShapeCheck<NoncesAnswer> = (value) => {
  if (!isObject(value)) return new Mismatch('', 'expected an object');
  const {
    possible_next_nonce: possibleNext,
    last_executed_tx_nonce: lastExecuted,
    detected_missing_nonces: missing,
  } = value;
  if (!isCount(possibleNext)) return new Mismatch('possible_next_nonce', COUNT);
  if (lastExecuted !== undefined && lastExecuted !== null && !isCount(lastExecuted)) {
    return new Mismatch('last_executed_tx_nonce', COUNT);
  }
  if (missing !== undefined) {
    if (!Array.isArray(missing)) return new Mismatch('detected_missing_nonces', 'expected array');
    for (let index = 0; index < missing.length; index++) {
      if (!isCount(missing[index])) return new Mismatch(`detected_missing_nonces[${index}]`, COUNT);
    }
  }
  return value as NoncesAnswer;
};

/**
 * `GET /extended/v1/address/:principal/balances`: every fungible token's balance is a decimal string.
 * @example
 * ```ts
 * checkBalances({ fungible_tokens: { 'SP….sbtc-token::sbtc-token': { balance: '250000' } } });
 * ```
 */
export const checkBalances: ShapeCheck<BalancesAnswer> = (value) => {
  if (!isObject(value)) return new Mismatch('', 'expected an object');
  const tokens = value.fungible_tokens;
  if (tokens === undefined) return value as BalancesAnswer;
  if (!isObject(tokens)) return new Mismatch('fungible_tokens', 'expected record');
  for (const asset in tokens) {
    if (!Object.hasOwn(tokens, asset)) continue;
    const entry = tokens[asset];
    if (!isObject(entry)) return new Mismatch(`fungible_tokens.${asset}`, 'expected an object');
    if (typeof entry.balance !== 'string' || !DECIMAL.test(entry.balance)) {
      return new Mismatch(`fungible_tokens.${asset}.balance`, 'expected a decimal integer string');
    }
  }
  return value as BalancesAnswer;
};

/**
 * `GET /v2/fees/transfer`: µSTX per byte, a bare JSON number.
 * @example
 * ```ts
 * checkFeeRate(7); // 7
 * ```
 */
export const checkFeeRate: ShapeCheck<number> = (value) =>
  isCount(value) ? value : new Mismatch('', COUNT);

/**
 * `GET /v2/info`, converted to {@link ChainInfo}.
 * @example
 * ```ts
 * checkInfo({ network_id: 2147483648, stacks_tip_height: 120, burn_block_height: 4021, server_version: 'stacks-node 3.1' });
 * ```
 */
export const checkInfo: ShapeCheck<ChainInfo> = (value) => {
  if (!isObject(value)) return new Mismatch('', 'expected an object');
  const { network_id, stacks_tip_height, burn_block_height, server_version } = value;
  if (!isCount(network_id)) return new Mismatch('network_id', COUNT);
  if (!isCount(stacks_tip_height)) return new Mismatch('stacks_tip_height', COUNT);
  if (!isCount(burn_block_height)) return new Mismatch('burn_block_height', COUNT);
  if (typeof server_version !== 'string') return new Mismatch('server_version', 'expected string');
  return {
    networkId: network_id,
    stacksTipHeight: stacks_tip_height,
    burnBlockHeight: burn_block_height,
    serverVersion: server_version,
  };
};

/**
 * `POST /v2/contracts/call-read/:address/:name/:function`: the value's hex when `okay`, else the node's `cause`.
 * @example
 * ```ts
 * checkCallRead({ okay: true, result: '0x0701' }); // { okay: true, result: '0x0701' }
 * ```
 */
export const checkCallRead: ShapeCheck<CallReadAnswer> = (value) => {
  if (!isObject(value)) return new Mismatch('', 'expected an object');
  if (value.okay === true) {
    if (typeof value.result !== 'string' || !/^0x[0-9a-fA-F]+$/.test(value.result)) {
      return new Mismatch('result', 'expected 0x-prefixed hex');
    }
    return { okay: true, result: value.result };
  }
  if (value.okay === false) return { okay: false, cause: String(value.cause ?? '') };
  return new Mismatch('okay', 'expected a boolean');
};

/** A read-only call's answer. */
export type CallReadAnswer =
  | { readonly okay: true; readonly result: string }
  | { readonly okay: false; readonly cause: string };

/** A JSON object (not null, not an array), as zod's objects and records require. */
function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Zod's `z.number().int().nonnegative()`: v4's `int()` means a safe integer. */
function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
