/**
 * The batch-escrow contract's public functions as argument shapes, so admission refuses a malformed call with the
 * node's `BadFunctionArgument` before anything runs, as a node's static check of a contract call does.
 * @module
 */
import type { ClarityValue } from '@stacks/transactions';

/** A Clarity type, as far as the escrow's signatures need one. `max` is a list's or buffer's maximum length. */
export type ClarityType =
  | { kind: 'uint' | 'bool' | 'principal' | 'trait' }
  | { kind: 'buffer'; max: number }
  | { kind: 'optional'; of: ClarityType }
  | { kind: 'list'; max: number; of: ClarityType }
  | { kind: 'tuple'; fields: Record<string, ClarityType> };

const uint = { kind: 'uint' } as const;
const bool = { kind: 'bool' } as const;
const principal = { kind: 'principal' } as const;
const buffer = (max: number) => ({ kind: 'buffer', max }) as const;
const optional = (of: ClarityType) => ({ kind: 'optional', of }) as const;
/** `(optional <sip-010-transfer>)`: a contract principal standing for the trait. */
const tokenTrait = optional({ kind: 'trait' });

const CONFIG: ClarityType = {
  kind: 'tuple',
  fields: {
    payer: principal,
    'payer-authorizer': principal,
    receiver: principal,
    'receiver-authorizer': principal,
    token: optional(principal),
    'withdraw-delay': uint,
    salt: buffer(32),
  },
};

const CLAIM_ROW: ClarityType = {
  kind: 'tuple',
  fields: {
    'channel-id': buffer(32),
    'max-claimable': uint,
    'voucher-signature': buffer(65),
    claimed: uint,
  },
};

/** Every public function and its parameter types, in order. */
export const ESCROW_PUBLIC_FUNCTIONS: Readonly<Record<string, readonly ClarityType[]>> = {
  deposit: [CONFIG, uint, tokenTrait],
  claim: [{ kind: 'list', max: 100, of: CLAIM_ROW }, optional(buffer(65))],
  settle: [principal, tokenTrait],
  refund: [buffer(32), uint, uint, optional(buffer(65)), tokenTrait],
  'start-withdrawal': [buffer(32), uint],
  'finish-withdrawal': [buffer(32), tokenTrait],
  'set-token-allowed': [principal, bool],
  'set-admin': [principal],
};

/** Every read-only function and its parameter types, for `call-read`. */
export const ESCROW_READ_ONLY_FUNCTIONS: Readonly<Record<string, readonly ClarityType[]>> = {
  'get-channel-id': [CONFIG],
  'get-channel': [buffer(32)],
  'get-unsettled': [principal, optional(principal)],
  'is-token-allowed': [principal],
  'get-admin': [],
  'voucher-hash': [buffer(32), uint],
  'claim-batch-hash': [
    {
      kind: 'list',
      max: 100,
      of: { kind: 'tuple', fields: { 'channel-id': buffer(32), claimed: uint } },
    },
  ],
  'refund-hash': [buffer(32), uint, uint],
  'check-voucher': [buffer(32), uint, buffer(65)],
};

/**
 * Whether `args` fit `types`. A `none` fits any optional; a trait argument must be a contract principal.
 * @example
 * ```ts
 * argumentsFit(ESCROW_PUBLIC_FUNCTIONS['start-withdrawal']!, [Cl.bufferFromHex(id), Cl.uint(5)]); // true
 * ```
 */
export function argumentsFit(
  types: readonly ClarityType[],
  args: readonly ClarityValue[],
): boolean {
  return types.length === args.length && types.every((type, index) => fits(type, args[index]!));
}

function fits(type: ClarityType, value: ClarityValue): boolean {
  switch (type.kind) {
    case 'uint':
      return value.type === 'uint';
    case 'bool':
      return value.type === 'true' || value.type === 'false';
    case 'principal':
      return value.type === 'address' || value.type === 'contract';
    case 'trait':
      return value.type === 'contract';
    case 'buffer':
      return value.type === 'buffer' && value.value.length / 2 <= type.max;
    case 'optional':
      return value.type === 'none' || (value.type === 'some' && fits(type.of, value.value));
    case 'list':
      return (
        value.type === 'list' &&
        value.value.length <= type.max &&
        value.value.every((item) => fits(type.of, item))
      );
    case 'tuple': {
      if (value.type !== 'tuple') return false;
      const names = Object.keys(type.fields);
      const given = Object.keys(value.value);
      return (
        names.length === given.length &&
        names.every(
          (name) => value.value[name] !== undefined && fits(type.fields[name]!, value.value[name]!),
        )
      );
    }
  }
}
