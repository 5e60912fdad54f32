/**
 * Reading the shared ledger from outside the processes, for the audit: settlements not yet final, and the sponsor
 * fees the ledger itself counts as lost. The schema is the run's own, dropped when the run ends.
 */
import pg from 'pg';

/** A settlement still `claimed` or `broadcast`. */
export type UnfinishedRow = {
  readonly paymentTxid: string;
  readonly txid: string;
  readonly payer: string;
  readonly nonce: bigint;
  readonly state: string;
  readonly sponsor: string | null;
  readonly sponsorNonce: bigint | null;
};

export type LedgerView = {
  readonly states: Record<string, number>;
  readonly unfinished: readonly UnfinishedRow[];
  /** Sum of `x402_sponsor_fees.fee` where `failed = 1`: what the ledger charges against payers' failure limits. */
  readonly failedFees: bigint;
  readonly failedCount: number;
  /** Every settlement's state by payment txid, when asked for (the audit's evidence for payments at fault). */
  readonly settlements: ReadonlyMap<string, SettlementRow>;
};

export type SettlementRow = {
  readonly txid: string;
  readonly state: string;
  readonly errorReason: string | null;
  readonly errorMessage: string | null;
};

export async function readLedger(
  url: string,
  schema: string,
  withSettlements = false,
): Promise<LedgerView> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const states = await client.query<{ state: string; n: string }>(
      `select state, count(*) as n from ${schema}.x402_settlements group by state`,
    );
    const unfinished = await client.query<{
      payment_txid: string;
      txid: string;
      payer: string;
      nonce: string;
      state: string;
      sponsor: string | null;
      sponsor_nonce: string | null;
    }>(
      `select payment_txid, txid, payer, nonce, state, sponsor, sponsor_nonce
         from ${schema}.x402_settlements where state in ('claimed', 'broadcast') order by created_at`,
    );
    const failed = await client.query<{ fees: string | null; n: string }>(
      `select sum(fee) as fees, count(*) as n from ${schema}.x402_sponsor_fees where failed = 1`,
    );
    const settlements = withSettlements
      ? await client.query<{
          payment_txid: string;
          txid: string;
          state: string;
          error_reason: string | null;
          error_message: string | null;
        }>(
          `select payment_txid, txid, state, error_reason, error_message from ${schema}.x402_settlements`,
        )
      : { rows: [] };
    return {
      settlements: new Map(
        settlements.rows.map((row) => [
          row.payment_txid,
          {
            txid: row.txid,
            state: row.state,
            errorReason: row.error_reason,
            errorMessage: row.error_message,
          },
        ]),
      ),
      states: Object.fromEntries(states.rows.map((row) => [row.state, Number(row.n)])),
      unfinished: unfinished.rows.map((row) => ({
        paymentTxid: row.payment_txid,
        txid: row.txid,
        payer: row.payer,
        nonce: BigInt(row.nonce),
        state: row.state,
        sponsor: row.sponsor,
        sponsorNonce: row.sponsor_nonce === null ? null : BigInt(row.sponsor_nonce),
      })),
      failedFees: BigInt(failed.rows[0]?.fees ?? '0'),
      failedCount: Number(failed.rows[0]?.n ?? 0),
    };
  } finally {
    await client.end();
  }
}

/** Drops the run's schema; a database that cannot be reached leaves nothing to drop. */
export async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect().then(
    async () => {
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
    },
    () => undefined,
  );
}
