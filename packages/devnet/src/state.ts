/**
 * Balances and nonces: the confirmed account state, with the running totals Hiro's balance route reports.
 * @module
 */

type Totals = { sent: bigint; received: bigint; fees: bigint };

/** Confirmed state of every principal: STX, fungible tokens by asset id, and nonces. */
export class AccountState {
  readonly #stx = new Map<string, bigint>();
  readonly #nonces = new Map<string, bigint>();
  readonly #tokens = new Map<string, Map<string, bigint>>();
  readonly #stxTotals = new Map<string, Totals>();
  readonly #tokenTotals = new Map<string, Map<string, Totals>>();

  stx(principal: string): bigint {
    return this.#stx.get(principal) ?? 0n;
  }

  nonce(principal: string): bigint {
    return this.#nonces.get(principal) ?? 0n;
  }

  token(assetId: string, principal: string): bigint {
    return this.#tokens.get(assetId)?.get(principal) ?? 0n;
  }

  stxTotals(principal: string): Totals {
    return this.#stxTotals.get(principal) ?? { sent: 0n, received: 0n, fees: 0n };
  }

  tokenTotals(assetId: string, principal: string): Totals {
    return this.#tokenTotals.get(assetId)?.get(principal) ?? { sent: 0n, received: 0n, fees: 0n };
  }

  /** Asset ids with any balance or history for the principal. */
  tokensOf(principal: string): string[] {
    return [...this.#tokenTotals.keys(), ...this.#tokens.keys()].filter(
      (assetId, index, all) =>
        all.indexOf(assetId) === index &&
        (this.#tokens.get(assetId)?.has(principal) ||
          this.#tokenTotals.get(assetId)?.has(principal)),
    );
  }

  credit(principal: string, amount: bigint): void {
    this.#stx.set(principal, this.stx(principal) + amount);
  }

  creditToken(assetId: string, principal: string, amount: bigint): void {
    const balances = this.#tokens.get(assetId) ?? new Map<string, bigint>();
    balances.set(principal, (balances.get(principal) ?? 0n) + amount);
    this.#tokens.set(assetId, balances);
  }

  transferStx(from: string, to: string, amount: bigint): void {
    this.#stx.set(from, this.stx(from) - amount);
    this.#stx.set(to, this.stx(to) + amount);
    this.#bump(this.#stxTotals, from, 'sent', amount);
    this.#bump(this.#stxTotals, to, 'received', amount);
  }

  transferToken(assetId: string, from: string, to: string, amount: bigint): void {
    this.creditToken(assetId, from, -amount);
    this.creditToken(assetId, to, amount);
    const totals = this.#tokenTotals.get(assetId) ?? new Map<string, Totals>();
    this.#tokenTotals.set(assetId, totals);
    this.#bump(totals, from, 'sent', amount);
    this.#bump(totals, to, 'received', amount);
  }

  chargeFee(payer: string, fee: bigint): void {
    this.#stx.set(payer, this.stx(payer) - fee);
    this.#bump(this.#stxTotals, payer, 'fees', fee);
  }

  bumpNonce(principal: string): void {
    this.#nonces.set(principal, this.nonce(principal) + 1n);
  }

  /** A JSON-safe copy: every amount as a decimal string. */
  toJSON(): AccountStateJson {
    const strings = (map: Map<string, bigint>) =>
      Object.fromEntries([...map].map(([key, value]) => [key, value.toString()]));
    const totals = (map: Map<string, Totals>) =>
      Object.fromEntries(
        [...map].map(([key, t]) => [
          key,
          [t.sent.toString(), t.received.toString(), t.fees.toString()],
        ]),
      );
    return {
      stx: strings(this.#stx),
      nonces: strings(this.#nonces),
      tokens: Object.fromEntries([...this.#tokens].map(([id, map]) => [id, strings(map)])),
      stxTotals: totals(this.#stxTotals),
      tokenTotals: Object.fromEntries([...this.#tokenTotals].map(([id, map]) => [id, totals(map)])),
    };
  }

  static fromJSON(json: AccountStateJson): AccountState {
    const state = new AccountState();
    const load = (target: Map<string, bigint>, source: Record<string, string>) => {
      for (const [key, value] of Object.entries(source)) target.set(key, BigInt(value));
    };
    const loadTotals = (target: Map<string, Totals>, source: Record<string, string[]>) => {
      for (const [key, [sent = '0', received = '0', fees = '0']] of Object.entries(source)) {
        target.set(key, { sent: BigInt(sent), received: BigInt(received), fees: BigInt(fees) });
      }
    };
    load(state.#stx, json.stx);
    load(state.#nonces, json.nonces);
    for (const [id, balances] of Object.entries(json.tokens)) {
      const map = new Map<string, bigint>();
      load(map, balances);
      state.#tokens.set(id, map);
    }
    loadTotals(state.#stxTotals, json.stxTotals);
    for (const [id, totals] of Object.entries(json.tokenTotals)) {
      const map = new Map<string, Totals>();
      loadTotals(map, totals);
      state.#tokenTotals.set(id, map);
    }
    return state;
  }

  #bump(map: Map<string, Totals>, principal: string, field: keyof Totals, amount: bigint): void {
    const totals = map.get(principal) ?? { sent: 0n, received: 0n, fees: 0n };
    totals[field] += amount;
    map.set(principal, totals);
  }
}

export type AccountStateJson = {
  stx: Record<string, string>;
  nonces: Record<string, string>;
  tokens: Record<string, Record<string, string>>;
  stxTotals: Record<string, string[]>;
  tokenTotals: Record<string, Record<string, string[]>>;
};
