/**
 * Executing a mined transaction: STX transfers, SIP-010 `transfer` with sbtc-token's semantics, post-conditions checked
 * before anything commits, and the fee and nonce consumed whatever the outcome.
 * @module
 */
import {
  Cl,
  type ClarityValue,
  cvToHex,
  cvToString,
  FungibleConditionCode,
  NonFungibleConditionCode,
  PayloadType,
  PostConditionMode,
  PostConditionPrincipalId,
  PostConditionType,
  type PostConditionWire,
} from '@stacks/transactions';
import { addressFromHash160 } from 'x402-stacks/stacks';
import { type AdmittedTransaction, contractIdOf } from './admission.js';
import type { BatchEscrow, EscrowPlan } from './escrow.js';
import type { AccountState } from './state.js';
import { type DevnetToken, tokenAssetId } from './tokens.js';

/**
 * Hiro's event shapes, as `GET /extended/v1/tx/:txid` lists them.
 * @example
 * ```ts
 * const tokenMoves = record.execution?.events.filter((e) => e.event_type === 'fungible_token_asset');
 * ```
 */
export type TransactionEvent =
  | {
      event_index: number;
      event_type: 'stx_asset';
      tx_id: string;
      asset: { asset_event_type: 'transfer'; sender: string; recipient: string; amount: string };
    }
  | {
      event_index: number;
      event_type: 'fungible_token_asset';
      tx_id: string;
      asset: {
        asset_event_type: 'transfer';
        asset_id: string;
        sender: string;
        recipient: string;
        amount: string;
      };
    }
  | {
      event_index: number;
      event_type: 'smart_contract_log';
      tx_id: string;
      contract_log: { contract_id: string; topic: 'print'; value: { hex: string; repr: string } };
    };

/**
 * The outcome of executing one transaction: its status, its Clarity result and the events it emitted.
 * @example
 * ```ts
 * const { status, result } = chain.transaction(txid)!.execution!; // 'success', { repr: '(ok true)', … }
 * ```
 */
export type Execution = {
  readonly status: 'success' | 'abort_by_response' | 'abort_by_post_condition';
  readonly result: { hex: string; repr: string };
  readonly events: TransactionEvent[];
};

/**
 * An execution read back from a saved state: status and result as saved, events rebuilt from the transaction (or, for
 * a contract whose events depend on its storage, as saved).
 */
export function restoreExecution(
  saved: Pick<Execution, 'status' | 'result'> & { events?: TransactionEvent[] },
  admitted: AdmittedTransaction,
): Execution {
  if (saved.status === 'success') return new Success(saved.result, admitted, saved.events);
  return { status: saved.status, result: saved.result, events: [] };
}

/** What execution reads besides balances: the escrow deployments and the burn height of the block being mined. */
export type ExecutionContext = {
  readonly escrows: ReadonlyMap<string, BatchEscrow>;
  readonly tokens: ReadonlyMap<string, DevnetToken>;
  readonly burnBlockHeight: number;
};

/**
 * A successful execution. Events follow from the transaction alone, so they are rebuilt when read rather than kept
 * for every transaction of every block.
 */
class Success implements Execution {
  readonly status = 'success' as const;
  readonly #admitted: AdmittedTransaction;
  /** Events that depend on contract storage (batch-escrow's prints), kept since they cannot be rebuilt. */
  readonly stored: TransactionEvent[] | undefined;

  constructor(
    readonly result: { hex: string; repr: string },
    admitted: AdmittedTransaction,
    stored?: TransactionEvent[],
  ) {
    this.#admitted = admitted;
    this.stored = stored;
  }

  get events(): TransactionEvent[] {
    return this.stored ?? transferEvents(this.#admitted);
  }
}

/** A forced outcome injected by a fault. */
export type ForcedAbort = 'abort_by_response' | 'abort_by_post_condition';

type Movement = { principal: string; asset: string; amount: bigint };

/**
 * Executes an admitted transaction against the state. The caller has already checked that nonces are next in line
 * and that the fee payer can pay. Fee and nonces are consumed on every outcome.
 */
export function execute(
  admitted: AdmittedTransaction,
  state: AccountState,
  forced?: ForcedAbort,
  context: ExecutionContext = { escrows: new Map(), tokens: new Map(), burnBlockHeight: 0 },
): Execution {
  state.chargeFee(admitted.feePayer, admitted.fee);
  state.bumpNonce(admitted.origin);
  // An account sponsoring itself spends one nonce, not two.
  if (admitted.sponsor && admitted.sponsor !== admitted.origin) state.bumpNonce(admitted.sponsor);

  if (forced === 'abort_by_response') return abortByResponse(Cl.error(Cl.uint(1)), []);

  const planned = plan(admitted, state, context);
  const isCall = admitted.tx.payload.payloadType === PayloadType.ContractCall;
  if ('error' in planned) {
    // An error response rolls back every transfer, yet the node still checks the call's post-conditions against
    // that empty asset map: a condition that something was sent then fails.
    if (isCall && !postConditionsHold(admitted, [])) {
      return { status: 'abort_by_post_condition', result: result(planned.error), events: [] };
    }
    return abortByResponse(planned.error, []);
  }

  // Post-conditions judge the planned movements before anything commits. A token transfer carries none (the miner
  // drops one that does), and the node does not hold it to deny mode.
  if (
    forced === 'abort_by_post_condition' ||
    (isCall && !postConditionsHold(admitted, planned.movements))
  ) {
    return { status: 'abort_by_post_condition', result: result(planned.value), events: [] };
  }
  for (const apply of planned.apply) apply();
  return new Success(result(planned.value), admitted, planned.events);

  function abortByResponse(value: ClarityValue, events: TransactionEvent[]): Execution {
    return { status: 'abort_by_response', result: result(value), events };
  }
}

type Plan =
  | { error: ClarityValue }
  | {
      value: ClarityValue;
      movements: Movement[];
      apply: (() => void)[];
      /** Set when the events depend on contract storage. */
      events?: TransactionEvent[];
    };

function plan(admitted: AdmittedTransaction, state: AccountState, context: ExecutionContext): Plan {
  const { payload } = admitted.tx;
  if (payload.payloadType === PayloadType.ContractCall) {
    const escrow = context.escrows.get(
      contractIdOf(payload.contractAddress, payload.contractName.content),
    );
    if (escrow) {
      const planned = escrow.call(payload.functionName.content, payload.functionArgs, {
        sender: admitted.origin,
        burnBlockHeight: context.burnBlockHeight,
        state,
        tokens: context.tokens,
      });
      return fromEscrowPlan(planned, escrow.contractId, `0x${admitted.txid}`);
    }
  }
  if (payload.payloadType === PayloadType.TokenTransfer) {
    const recipient = principalValue(payload.recipient);
    const amount = payload.amount;
    // stx-transfer? failures, as the node reports them for a token-transfer payload.
    if (amount <= 0n) return { error: Cl.error(Cl.uint(3)) };
    if (recipient === admitted.origin) return { error: Cl.error(Cl.uint(2)) };
    if (state.stx(admitted.origin) < amount) return { error: Cl.error(Cl.uint(1)) };
    return {
      value: Cl.ok(Cl.bool(true)),
      movements: [{ principal: admitted.origin, asset: 'STX', amount }],
      apply: [() => state.transferStx(admitted.origin, recipient, amount)],
    };
  }
  if (payload.payloadType !== PayloadType.ContractCall || !admitted.token) {
    return { error: Cl.error(Cl.none()) };
  }
  const token = admitted.token;
  const assetId = tokenAssetId(token);
  const [amountArg, senderArg, recipientArg] = payload.functionArgs as ClarityValue[];
  const amount = amountArg?.type === 'uint' ? BigInt(amountArg.value) : 0n;
  const sender = principalValue(senderArg);
  const recipient = principalValue(recipientArg);
  // sbtc-token: (asserts! (or (is-eq tx-sender sender) (is-eq contract-caller sender)) (err u4)), then ft-transfer?.
  if (sender !== admitted.origin) return { error: Cl.error(Cl.uint(4)) };
  if (amount <= 0n) return { error: Cl.error(Cl.uint(3)) };
  if (sender === recipient) return { error: Cl.error(Cl.uint(2)) };
  if (state.token(assetId, sender) < amount) return { error: Cl.error(Cl.uint(1)) };
  return {
    value: Cl.ok(Cl.bool(true)),
    movements: [{ principal: sender, asset: assetId, amount }],
    apply: [() => state.transferToken(assetId, sender, recipient, amount)],
  };
}

/** An escrow call's plan as the executor's: transfers become movements and asset events, prints log events. */
function fromEscrowPlan(planned: EscrowPlan, contractId: string, txId: string): Plan {
  if ('error' in planned) return planned;
  const movements: Movement[] = [];
  const events: TransactionEvent[] = planned.effects.map((effect, event_index) => {
    if ('print' in effect) {
      return {
        event_index,
        event_type: 'smart_contract_log',
        tx_id: txId,
        contract_log: {
          contract_id: contractId,
          topic: 'print',
          value: { hex: cvToHex(effect.print), repr: cvToString(effect.print) },
        },
      };
    }
    const { asset, sender, recipient, amount } = effect.transfer;
    movements.push({ principal: sender, asset, amount });
    const transfer = { sender, recipient, amount: amount.toString() };
    return asset === 'STX'
      ? {
          event_index,
          event_type: 'stx_asset',
          tx_id: txId,
          asset: { asset_event_type: 'transfer', ...transfer },
        }
      : {
          event_index,
          event_type: 'fungible_token_asset',
          tx_id: txId,
          asset: { asset_event_type: 'transfer', asset_id: asset, ...transfer },
        };
  });
  return { value: planned.value, movements, apply: [planned.apply], events };
}

/**
 * The events of a successful transfer: who sent what to whom, and for a token call the printed memo. They depend on
 * the transaction only.
 */
export function transferEvents(admitted: AdmittedTransaction): TransactionEvent[] {
  const { payload } = admitted.tx;
  const txId = `0x${admitted.txid}`;
  if (payload.payloadType === PayloadType.TokenTransfer) {
    return [
      {
        event_index: 0,
        event_type: 'stx_asset',
        tx_id: txId,
        asset: {
          asset_event_type: 'transfer',
          sender: admitted.origin,
          recipient: principalValue(payload.recipient),
          amount: payload.amount.toString(),
        },
      },
    ];
  }
  if (payload.payloadType !== PayloadType.ContractCall || !admitted.token) return [];
  const [amountArg, senderArg, recipientArg, memoArg] = payload.functionArgs as ClarityValue[];
  const events: TransactionEvent[] = [
    {
      event_index: 0,
      event_type: 'fungible_token_asset',
      tx_id: txId,
      asset: {
        asset_event_type: 'transfer',
        asset_id: tokenAssetId(admitted.token),
        sender: principalValue(senderArg),
        recipient: principalValue(recipientArg),
        amount: amountArg?.type === 'uint' ? BigInt(amountArg.value).toString() : '0',
      },
    },
  ];
  if (memoArg?.type === 'some') {
    // The contract prints the memo after the transfer.
    events.push({
      event_index: 1,
      event_type: 'smart_contract_log',
      tx_id: txId,
      contract_log: {
        contract_id: admitted.token.contractId,
        topic: 'print',
        value: { hex: cvToHex(memoArg.value), repr: cvToString(memoArg.value) },
      },
    });
  }
  return events;
}

/**
 * Deny mode: every asset a principal sends must be covered by a post-condition naming it, and every condition must
 * hold. Allow mode: only the stated conditions must hold.
 */
function postConditionsHold(admitted: AdmittedTransaction, movements: Movement[]): boolean {
  const conditions = admitted.tx.postConditions.values as PostConditionWire[];
  const sent = (principal: string, asset: string) =>
    movements
      .filter((m) => m.principal === principal && m.asset === asset)
      .reduce((total, m) => total + m.amount, 0n);
  const covered = new Set<string>();
  for (const condition of conditions) {
    const principal = conditionPrincipal(condition, admitted.origin);
    if (condition.conditionType === PostConditionType.STX) {
      covered.add(`${principal}|STX`);
      if (!compare(sent(principal, 'STX'), condition.conditionCode, condition.amount)) return false;
    } else if (condition.conditionType === PostConditionType.Fungible) {
      const asset = `${addressFromHash160(condition.asset.address.version, condition.asset.address.hash160)}.${condition.asset.contractName.content}::${condition.asset.assetName.content}`;
      covered.add(`${principal}|${asset}`);
      if (!compare(sent(principal, asset), condition.conditionCode, condition.amount)) return false;
    } else if (condition.conditionType === PostConditionType.NonFungible) {
      // No NFT ever moves on this devnet: "sends" fails and "does not send" holds.
      if (condition.conditionCode === NonFungibleConditionCode.Sends) return false;
    }
  }
  if (admitted.tx.postConditionMode === PostConditionMode.Deny) {
    for (const movement of movements) {
      if (movement.amount > 0n && !covered.has(`${movement.principal}|${movement.asset}`))
        return false;
    }
  }
  return true;
}

function compare(actual: bigint, code: FungibleConditionCode, expected: bigint): boolean {
  switch (code) {
    case FungibleConditionCode.Equal:
      return actual === expected;
    case FungibleConditionCode.Greater:
      return actual > expected;
    case FungibleConditionCode.GreaterEqual:
      return actual >= expected;
    case FungibleConditionCode.Less:
      return actual < expected;
    case FungibleConditionCode.LessEqual:
      return actual <= expected;
    default:
      return false;
  }
}

function conditionPrincipal(condition: PostConditionWire, origin: string): string {
  const { principal } = condition;
  if (principal.prefix === PostConditionPrincipalId.Origin) return origin;
  const address = addressFromHash160(principal.address.version, principal.address.hash160);
  return principal.prefix === PostConditionPrincipalId.Contract
    ? `${address}.${principal.contractName.content}`
    : address;
}

function principalValue(value: ClarityValue | undefined): string {
  return value && (value.type === 'address' || value.type === 'contract') ? value.value : '';
}

// Results repeat ((ok true), (err u1), …): one shared object per distinct value keeps 100,000 blocks' worth small.
const results = new Map<string, { hex: string; repr: string }>();

function result(value: ClarityValue): { hex: string; repr: string } {
  const hex = cvToHex(value);
  let known = results.get(hex);
  if (!known) {
    known = Object.freeze({ hex, repr: cvToString(value) });
    if (results.size < 256) results.set(hex, known);
  }
  return known;
}
