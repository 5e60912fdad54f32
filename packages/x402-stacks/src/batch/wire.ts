/**
 * The batch-settlement scheme's wire format on Stacks, as zod schemas: the seller's `extra`, the three payloads a buyer
 * sends (`deposit`, `voucher`, `refund`) and the channel snapshot every answer carries. The field-by-field spec is
 * `docs/batch-settlement-stacks.md`; names follow upstream's EVM binding wherever the meaning is the same.
 * @module
 */
import { z } from 'zod';
import { AtomicAmountSchema } from '../protocol/v2.js';
import { wireObject } from '../protocol/wire-object.js';
import { parsePrincipal } from '../stacks/address.js';

/**
 * The scheme's name in `accepts[].scheme`.
 * @example
 * ```ts
 * const offer = paymentRequired.accepts.find((kind) => kind.scheme === BATCH_SETTLEMENT);
 * ```
 */
export const BATCH_SETTLEMENT = 'batch-settlement';

/**
 * The escrow's bounds on `withdrawDelay`, in burn blocks (about an hour to about 30 days of Bitcoin blocks).
 * @example
 * ```ts
 * const withdrawDelay = Math.min(Math.max(144, WITHDRAW_DELAY_BOUNDS.min), WITHDRAW_DELAY_BOUNDS.max);
 * ```
 */
export const WITHDRAW_DELAY_BOUNDS = { min: 6, max: 4320 } as const;

const HEX_32 = /^0x[0-9a-f]{64}$/;
const HEX_65 = /^0x[0-9a-f]{130}$/;
// A c32 address is 28 to 41 characters: a hash that begins with zero bits is written shorter (the boot address
// ST000000000000000000002AMW42H is 29), so one buyer in about 200 has an address under 40.
const PRINCIPAL = /^S[0-9A-Z]{27,40}(\.[a-zA-Z]([a-zA-Z0-9]|[-_]){0,39})?$/;
const CONTRACT = /^S[0-9A-Z]{27,40}\.[a-zA-Z]([a-zA-Z0-9]|[-_]){0,39}$/;

/**
 * An amount the escrow can hold: Clarity's uint is u128, and a larger one could not even be hashed into a voucher, so
 * it is a malformed payload rather than a failure further in.
 */
const U128_LIMIT = 1n << 128n;
const U128AmountSchema = AtomicAmountSchema.refine((value) => BigInt(value) < U128_LIMIT, {
  message: 'expected an amount below 2^128 (Clarity uint)',
});

/** The shape alone passes text that is not c32, or whose checksum fails, which no Clarity value can hold. */
const isPrincipal = (value: string): boolean => {
  try {
    parsePrincipal(value);
    return true;
  } catch {
    return false;
  }
};
const PrincipalSchema = z
  .string()
  .regex(PRINCIPAL, 'expected a Stacks principal')
  .refine(isPrincipal, 'expected a Stacks principal whose c32 checksum holds');
const ContractSchema = z
  .string()
  .regex(CONTRACT, 'expected a contract principal')
  .refine(isPrincipal, 'expected a contract principal whose c32 checksum holds');
const WithdrawDelaySchema = z
  .number()
  .int()
  .min(WITHDRAW_DELAY_BOUNDS.min)
  .max(WITHDRAW_DELAY_BOUNDS.max);

/**
 * A channel's immutable config; its id is the sha256 of the Clarity tuple's consensus serialization. `token` is the
 * SIP-010 contract (without `::asset`), or `null` for STX.
 * @example
 * ```ts
 * ChannelConfigSchema.parse({ payer, payerAuthorizer: payer, receiver, receiverAuthorizer, token: null,
 *   withdrawDelay: 144, salt: `0x${'00'.repeat(32)}` });
 * ```
 */
export const ChannelConfigSchema = z.strictObject({
  payer: PrincipalSchema,
  payerAuthorizer: PrincipalSchema,
  receiver: PrincipalSchema,
  receiverAuthorizer: PrincipalSchema,
  token: ContractSchema.nullable(),
  withdrawDelay: WithdrawDelaySchema,
  salt: z.string().regex(HEX_32, 'expected 0x and 64 lowercase hex characters'),
});
/**
 * A channel's immutable config. Its fields, hashed, give the channel id.
 * @example
 * ```ts
 * const config: ChannelConfig = ChannelConfigSchema.parse(payload.channelConfig);
 * const channelId = channelIdOf(config);
 * ```
 */
export type ChannelConfig = z.infer<typeof ChannelConfigSchema>;

/**
 * A cumulative voucher: the payer-authorizer lets the receiver side claim up to `maxClaimableAmount` in all.
 * `signature` is the 65-byte RSV SIP-018 signature, `0x`-prefixed.
 * @example
 * ```ts
 * const voucher: Voucher = VoucherSchema.parse({ channelId, maxClaimableAmount: '3000', signature });
 * ```
 */
export const VoucherSchema = z.strictObject({
  channelId: z.string().regex(HEX_32, 'expected 0x and 64 lowercase hex characters'),
  maxClaimableAmount: U128AmountSchema,
  signature: z.string().regex(HEX_65, 'expected 0x and 130 lowercase hex characters'),
});
/**
 * A cumulative voucher. Each one replaces the last: `maxClaimableAmount` is the total so far, not this request's price.
 * @example
 * ```ts
 * const voucher: Voucher = { channelId, maxClaimableAmount: '3000', signature: `0x${'ab'.repeat(65)}` };
 * ```
 */
export type Voucher = z.infer<typeof VoucherSchema>;

/**
 * The channel as an answer reports it: the escrow's `balance`, `totalClaimed`, `refundNonce` and the burn block a
 * withdrawal started at (0 when none), plus the receiver side's off-chain `chargedCumulativeAmount`.
 * @example
 * ```ts
 * const state = ChannelStateSchema.parse(settled.extra?.channelState);
 * const left = BigInt(state.balance) - BigInt(state.chargedCumulativeAmount ?? state.totalClaimed);
 * ```
 */
export const ChannelStateSchema = wireObject({
  channelId: z.string().regex(HEX_32),
  balance: U128AmountSchema,
  totalClaimed: U128AmountSchema,
  withdrawRequestedAt: z.number().int().nonnegative(),
  refundNonce: U128AmountSchema,
  chargedCumulativeAmount: U128AmountSchema.optional(),
});
/**
 * A channel snapshot. `ChannelStateSchema` reads it from an answer; its amounts are atomic-unit digit strings.
 * @example
 * ```ts
 * const state: ChannelState = BatchSettleExtraSchema.parse(settled.extra).channelState;
 * ```
 */
export type ChannelState = z.infer<typeof ChannelStateSchema>;

/**
 * The last voucher the receiver side holds, so a buyer can check its own signature before adopting the total.
 * @example
 * ```ts
 * const held = VoucherStateSchema.parse(extra.voucherState); // { signedMaxClaimable: '3000', signature: '0x…' }
 * ```
 */
export const VoucherStateSchema = wireObject({
  // A u128, as every amount a voucher signs: past it the voucher's hash would wrap, and a seller could show a
  // signature over a small ceiling as one over a huge total (2^128 + X hashes as X).
  signedMaxClaimable: U128AmountSchema,
  signature: z.string().regex(HEX_65),
});
/**
 * The last voucher the receiver side holds. A corrective 402 carries it in `extra.voucherState`.
 * @example
 * ```ts
 * const held: VoucherState | undefined = BatchExtraSchema.parse(offer.extra).voucherState;
 * ```
 */
export type VoucherState = z.infer<typeof VoucherStateSchema>;

/**
 * `accepts[].extra` of a batch-settlement offer. `escrow` is the batch-escrow deployment (Stacks has no canonical
 * address), `receiverAuthorizer` signs or sends claims and refunds, `minDeposit` is the deposit the seller suggests,
 * and `sponsor`/`feePayer` name who pays a deposit's fee. `channelState`/`voucherState` come only in a corrective 402.
 * @example
 * ```ts
 * const extra = BatchExtraSchema.safeParse(offer.extra);
 * if (extra.success && extra.data.escrow !== trustedEscrow) throw new Error('untrusted escrow');
 * ```
 */
export const BatchExtraSchema = wireObject({
  escrow: ContractSchema,
  receiverAuthorizer: PrincipalSchema,
  withdrawDelay: WithdrawDelaySchema,
  minDeposit: AtomicAmountSchema.optional(),
  sponsor: PrincipalSchema.optional(),
  feePayer: PrincipalSchema.optional(),
  channelState: ChannelStateSchema.optional(),
  voucherState: VoucherStateSchema.optional(),
});
/**
 * `accepts[].extra` of a batch-settlement offer. A buyer reads it before it deposits into a channel.
 * @example
 * ```ts
 * const extra: BatchExtra = BatchExtraSchema.parse(offer.extra);
 * ```
 */
export type BatchExtra = z.infer<typeof BatchExtraSchema>;

/**
 * The first payment into a channel, or a top-up: a signed escrow `deposit` call and the voucher for this request.
 * @example
 * ```ts
 * const deposit = { amount: '20000', transaction };
 * const payload: DepositPayload = { type: 'deposit', channelConfig, voucher, deposit };
 * ```
 */
export const DepositPayloadSchema = z.strictObject({
  type: z.literal('deposit'),
  channelConfig: ChannelConfigSchema,
  voucher: VoucherSchema,
  deposit: z.strictObject({
    amount: U128AmountSchema,
    /** The signed (and, when sponsored, not yet sponsor-signed) contract-call transaction, hex. */
    transaction: z.string().min(2),
  }),
});

/**
 * A request paid from a channel that already holds enough.
 * @example
 * ```ts
 * const payload: VoucherPayload = { type: 'voucher', channelConfig, voucher };
 * ```
 */
export const VoucherPayloadSchema = z.strictObject({
  type: z.literal('voucher'),
  channelConfig: ChannelConfigSchema,
  voucher: VoucherSchema,
});

/**
 * A cooperative refund: a zero-charge voucher (the charged total itself) proving the payer asks, and the amount to
 * return (all that is unclaimed when absent).
 * @example
 * ```ts
 * const payload: RefundPayload = { type: 'refund', channelConfig, voucher }; // all that is unclaimed
 * ```
 */
export const RefundPayloadSchema = z.strictObject({
  type: z.literal('refund'),
  channelConfig: ChannelConfigSchema,
  voucher: VoucherSchema,
  amount: U128AmountSchema.optional(),
});

/**
 * Any batch-settlement `payload`, told apart by `type`.
 * @example
 * ```ts
 * const payload = BatchPayloadSchema.safeParse(paymentPayload.payload);
 * if (payload.success && payload.data.type === 'voucher') ...
 * ```
 */
export const BatchPayloadSchema = z.discriminatedUnion('type', [
  DepositPayloadSchema,
  VoucherPayloadSchema,
  RefundPayloadSchema,
]);
/**
 * Any batch-settlement `payload`. Narrow it on `type` to reach the deposit or the refund amount.
 * @example
 * ```ts
 * const payload: BatchPayload = BatchPayloadSchema.parse(paymentPayload.payload);
 * ```
 */
export type BatchPayload = z.infer<typeof BatchPayloadSchema>;
/**
 * A deposit payload. It opens or tops up a channel, and pays this request with its voucher.
 * @example
 * ```ts
 * const payload: DepositPayload = DepositPayloadSchema.parse(paymentPayload.payload);
 * ```
 */
export type DepositPayload = z.infer<typeof DepositPayloadSchema>;
/**
 * A voucher payload. It pays from a channel that already holds enough, with nothing sent on chain.
 * @example
 * ```ts
 * const payload: VoucherPayload = { type: 'voucher', channelConfig, voucher };
 * ```
 */
export type VoucherPayload = z.infer<typeof VoucherPayloadSchema>;
/**
 * A refund payload. It asks the receiver side to return `amount` from the channel, or all that is unclaimed.
 * @example
 * ```ts
 * const payload: RefundPayload = { type: 'refund', channelConfig, voucher, amount: '1000' };
 * ```
 */
export type RefundPayload = z.infer<typeof RefundPayloadSchema>;

/**
 * `extra` of a successful batch-settlement settle answer: what this request was charged (absent for a refund) and the
 * channel afterwards. `transaction` is `''` when nothing went on chain for the request (a voucher).
 * @example
 * ```ts
 * const { chargedAmount, channelState } = BatchSettleExtraSchema.parse(settled.extra);
 * ```
 */
export const BatchSettleExtraSchema = wireObject({
  chargedAmount: AtomicAmountSchema.optional(),
  channelState: ChannelStateSchema,
});
/**
 * `extra` of a successful batch-settlement settle answer. A buyer adopts its `channelState` as the channel's new state.
 * @example
 * ```ts
 * const extra: BatchSettleExtra = BatchSettleExtraSchema.parse(settled.extra);
 * ```
 */
export type BatchSettleExtra = z.infer<typeof BatchSettleExtraSchema>;
