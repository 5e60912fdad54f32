/**
 * The batch-settlement {@link ChannelLedger} over SQL, in the ledger's database (table `x402_channels`). Each method is
 * one statement: the mirror an upsert that never lowers the charged total, the charge a compare-and-set `update …
 * where charged = expected and balance >= signed_max`, so two processes charging one channel from the same total
 * cannot both win. Amounts are u128 and written zero-padded to 39 digits: on SQLite the column is text and padded
 * text orders as numbers do; on PostgreSQL it is numeric and compares as numbers.
 * @module
 */
import type { ExpressionBuilder, Kysely, Selectable } from 'kysely';
import { sql } from 'kysely';
import type { StacksNetworkId } from 'x402-stacks';
import type {
  ChannelCharge,
  ChannelConfig,
  ChannelLedger,
  ChannelRecord,
  EscrowChannelState,
} from 'x402-stacks/batch';
import { argument, prepare, type QueryRunner, queryRunner } from './prepared.js';
import { AMOUNT_DIGITS, type ChannelsTable, type LedgerDatabase } from './schema.js';

type Row = Selectable<ChannelsTable>;

/** Clarity's uint is u128: nothing the escrow holds can reach this. */
const U128_LIMIT = 1n << 128n;

/** No refund holds the channel at `now`: no hold, or one that lapsed. */
const notHeld = (eb: ExpressionBuilder<LedgerDatabase, 'x402_channels'>) =>
  eb.or([eb('frozen_until', 'is', null), eb('frozen_until', '<=', argument('now'))]);

/** The statements, compiled once (`prepared.ts`): each runs with bound values only. */
function statements(db: Kysely<LedgerDatabase>) {
  return {
    get: prepare(
      db.selectFrom('x402_channels').selectAll().where('channel_id', '=', argument('channelId')),
    ),
    mirror: prepare(
      db
        .insertInto('x402_channels')
        .values({
          channel_id: argument('channelId'),
          network: argument('network'),
          escrow: argument('escrow'),
          config: argument('config'),
          balance: argument('balance'),
          claimed: argument('claimed'),
          refund_nonce: argument('refundNonce'),
          withdraw_requested_at: argument('withdrawRequestedAt'),
          // A new channel starts charged with what the chain says was claimed, and no voucher.
          charged: argument('claimed'),
          signed_max: amountText(0n),
          signature: '',
          updated_at: argument('now'),
        })
        .onConflict((conflict) =>
          conflict.column('channel_id').doUpdateSet((eb) => ({
            network: eb.ref('excluded.network'),
            escrow: eb.ref('excluded.escrow'),
            config: eb.ref('excluded.config'),
            balance: eb.ref('excluded.balance'),
            claimed: eb.ref('excluded.claimed'),
            refund_nonce: eb.ref('excluded.refund_nonce'),
            withdraw_requested_at: eb.ref('excluded.withdraw_requested_at'),
            // Raised to what the chain claimed if that is ahead, never lowered; the voucher stays.
            charged: sql<string>`case when x402_channels.charged > excluded.claimed
              then x402_channels.charged else excluded.claimed end`,
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .returningAll(),
    ),
    // The compare-and-set: one statement, so the check and the write cannot be split by another writer.
    charge: prepare(
      db
        .updateTable('x402_channels')
        .set({
          charged: argument('charged'),
          signed_max: argument('signedMax'),
          signature: argument('signature'),
          // A channel that owes already keeps its age: the claim policy ages the oldest unclaimed charge.
          updated_at: sql<string>`case when charged > claimed then updated_at else ${argument('now')} end`,
        })
        .where('channel_id', '=', argument('channelId'))
        .where('charged', '=', argument('expectedCharged'))
        .where('balance', '>=', argument('signedMax'))
        .where(notHeld)
        .returningAll(),
    ),
    // Taken only where no refund holds the channel now: two refunds never both proceed.
    freeze: prepare(
      db
        .updateTable('x402_channels')
        .set({ frozen_until: argument('until'), frozen_refund_nonce: argument('refundNonce') })
        .where('channel_id', '=', argument('channelId'))
        .where(notHeld)
        .returningAll(),
    ),
    // Only the hold this refund set: one set since by another refund (after this one lapsed) stays.
    thaw: prepare(
      db
        .updateTable('x402_channels')
        .set({ frozen_until: null, frozen_refund_nonce: null })
        .where('channel_id', '=', argument('channelId'))
        .where('frozen_until', '=', argument('until')),
    ),
    unclaimed: prepare(
      db
        .selectFrom('x402_channels')
        .selectAll()
        .where('network', '=', argument('network'))
        .where('escrow', '=', argument('escrow'))
        .where((eb) => eb('charged', '>', eb.ref('claimed')))
        .orderBy('updated_at')
        .orderBy('channel_id')
        .limit(argument('limit') as unknown as number),
    ),
  };
}

/**
 * Channels in the facilitator's SQLite or PostgreSQL ledger; the opener returns it as `channels`, sharing the
 * ledger's connection and migration.
 * @example
 * ```ts
 * const { channels } = await openSqliteLedger({ path: './facilitator.db' });
 * await channels.getChannel('0x5f0c…'); // undefined until mirrored
 * ```
 */
export class SqlChannelLedger implements ChannelLedger {
  readonly #run: QueryRunner;
  /** Runs the channel read a voucher's verify makes: may answer from memory when nothing changed (SQLite). */
  readonly #read: QueryRunner;
  readonly #statements: ReturnType<typeof statements>;

  /**
   * `db` must have been migrated (`migrateLedger`).
   * @param options.run runs every statement (default: through `db`); `options.read` runs `getChannel`'s (default:
   *   `run`), for a runner that may answer a read from memory while the database provably did not change.
   */
  constructor(db: Kysely<LedgerDatabase>, options: { run?: QueryRunner; read?: QueryRunner } = {}) {
    this.#run = queryRunner(db, options.run);
    this.#read = options.read ?? this.#run;
    this.#statements = statements(db);
  }

  async getChannel(channelId: string): Promise<ChannelRecord | undefined> {
    const { rows } = await this.#read<Row>(this.#statements.get({ channelId }));
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  async mirrorChannel(
    channel: Pick<ChannelRecord, 'channelId' | 'network' | 'escrow' | 'config'>,
    state: EscrowChannelState,
    now: number,
  ): Promise<ChannelRecord> {
    for (const value of [state.balance, state.claimed, state.refundNonce]) {
      if (!isU128(value)) throw new RangeError('an escrow amount must be a u128');
    }
    const { rows } = await this.#run<Row>(
      this.#statements.mirror({
        channelId: channel.channelId,
        network: channel.network,
        escrow: channel.escrow,
        config: JSON.stringify(channel.config),
        balance: amountText(state.balance),
        claimed: amountText(state.claimed),
        refundNonce: amountText(state.refundNonce),
        withdrawRequestedAt: String(state.withdrawRequestedAt),
        now: String(now),
      }),
    );
    // An upsert with returning answers the row it wrote, inserted or updated.
    return toRecord(rows[0] as Row);
  }

  async chargeChannel(
    channelId: string,
    charge: ChannelCharge,
    now: number,
  ): Promise<ChannelRecord | undefined> {
    // The conditions on the arguments alone are checked here; those on the row are the update's (it matched the row
    // only if its charged total is `expectedCharged`, so "never lowered" is `charged >= expectedCharged`). A value
    // outside u128 can match no stored total or balance, so it is refused like any failed condition.
    if (
      !isU128(charge.expectedCharged) ||
      !isU128(charge.signedMax) ||
      charge.charged < charge.expectedCharged ||
      charge.charged > charge.signedMax
    ) {
      return undefined;
    }
    const { rows } = await this.#run<Row>(
      this.#statements.charge({
        channelId,
        charged: amountText(charge.charged),
        signedMax: amountText(charge.signedMax),
        signature: charge.signature,
        now: String(now),
        expectedCharged: amountText(charge.expectedCharged),
      }),
    );
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  async freezeChannel(
    channelId: string,
    hold: { readonly until: number; readonly refundNonce: bigint },
    now: number,
  ): Promise<ChannelRecord | undefined> {
    if (!isU128(hold.refundNonce)) throw new RangeError('a refund nonce must be a u128');
    const { rows } = await this.#run<Row>(
      this.#statements.freeze({
        channelId,
        until: String(hold.until),
        refundNonce: amountText(hold.refundNonce),
        now: String(now),
      }),
    );
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  async thawChannel(channelId: string, until: number): Promise<void> {
    await this.#run(this.#statements.thaw({ channelId, until: String(until) }));
  }

  async unclaimedChannels(
    network: StacksNetworkId,
    escrow: string,
    limit: number,
  ): Promise<ChannelRecord[]> {
    if (!Number.isSafeInteger(limit) || limit <= 0) return [];
    const { rows } = await this.#run<Row>(this.#statements.unclaimed({ network, escrow, limit }));
    return rows.map(toRecord);
  }
}

function isU128(value: bigint): boolean {
  return value >= 0n && value < U128_LIMIT;
}

/** A u128 as fixed-width decimal text: both SQLite's text order and PostgreSQL's numeric order are number order. */
function amountText(value: bigint): string {
  return value.toString().padStart(AMOUNT_DIGITS, '0');
}

/**
 * A channel's config is immutable and read with its row on every payment: parsed once per text, frozen so no caller
 * can change the shared value. Bounded, like the statement cache, by starting over.
 */
const configs = new Map<string, ChannelConfig>();
const MAX_CONFIGS = 10_000;

function configOf(text: string): ChannelConfig {
  let config = configs.get(text);
  if (config === undefined) {
    config = Object.freeze(JSON.parse(text) as ChannelConfig);
    if (configs.size >= MAX_CONFIGS) configs.clear();
    configs.set(text, config);
  }
  return config;
}

function toRecord(row: Row): ChannelRecord {
  return {
    channelId: row.channel_id,
    network: row.network as StacksNetworkId,
    escrow: row.escrow,
    config: configOf(row.config),
    balance: BigInt(row.balance),
    claimed: BigInt(row.claimed),
    refundNonce: BigInt(row.refund_nonce),
    withdrawRequestedAt: Number(row.withdraw_requested_at),
    charged: BigInt(row.charged),
    signedMax: BigInt(row.signed_max),
    signature: row.signature,
    updatedAt: Number(row.updated_at),
    ...(row.frozen_until === null
      ? {}
      : {
          frozenUntil: Number(row.frozen_until),
          frozenRefundNonce: BigInt(row.frozen_refund_nonce ?? 0),
        }),
  };
}
