import { X402StacksError, type X402StacksErrorOptions } from '../errors/base.js';

/**
 * A network name or CAIP-2 id that is not Stacks mainnet or testnet.
 * @example
 * ```ts
 * resolveNetwork('base-sepolia'); // throws UnknownNetworkError, reason 'unknown_network'
 * ```
 */
export class UnknownNetworkError extends X402StacksError<'unknown_network'> {
  override name = 'UnknownNetworkError';
  constructor(network: unknown, options?: X402StacksErrorOptions) {
    super('unknown_network', `Unknown Stacks network: ${JSON.stringify(network)}.`, {
      metaMessages: ["Use 'mainnet', 'testnet', 'stacks:1' or 'stacks:2147483648'."],
      ...options,
    });
  }
}

/**
 * An asset that is neither a known symbol (STX, sBTC, USDCx) nor a `<address>.<contract>` id valid on the network.
 * @example
 * ```ts
 * resolveAsset('DOGE', 'testnet'); // throws UnknownAssetError, reason 'unknown_asset'
 * ```
 */
export class UnknownAssetError extends X402StacksError<'unknown_asset'> {
  override name = 'UnknownAssetError';
  constructor(asset: unknown, why: string, options?: X402StacksErrorOptions) {
    super('unknown_asset', `Unknown asset ${JSON.stringify(asset)}: ${why}`, {
      metaMessages: [
        "Use 'STX', 'sBTC', 'USDCx', or a SIP-010 contract id such as 'SP….token' or 'SP….token::asset'.",
      ],
      ...options,
    });
  }
}

/**
 * An amount that is negative, not a number, not a decimal, or has more decimals than the asset allows.
 * @example
 * ```ts
 * STXtoMicroSTX('0.0000001'); // throws InvalidAmountError: 7 decimals, STX has 6
 * ```
 */
export class InvalidAmountError extends X402StacksError<'invalid_amount'> {
  override name = 'InvalidAmountError';
  constructor(amount: unknown, why: string) {
    super('invalid_amount', `Invalid amount ${describeValue(amount)}: ${why}`);
  }
}

/**
 * A string that is not a valid Stacks address (c32check), or one for another network.
 * @example
 * ```ts
 * parseStacksAddress('SP123'); // throws InvalidAddressError, reason 'invalid_address'
 * ```
 */
export class InvalidAddressError extends X402StacksError<'invalid_address'> {
  override name = 'InvalidAddressError';
  constructor(address: unknown, why: string, options?: X402StacksErrorOptions) {
    super('invalid_address', `Invalid Stacks address ${describeValue(address)}: ${why}`, options);
  }
}

/**
 * A private key that is not 64 or 66 hex characters of a valid secp256k1 scalar. The key itself is never part of the
 * message, only its length and shape.
 * @example
 * ```ts
 * privateKeyToAccount('abc', 'testnet'); // throws InvalidPrivateKeyError, reason 'invalid_private_key'
 * ```
 */
export class InvalidPrivateKeyError extends X402StacksError<'invalid_private_key'> {
  override name = 'InvalidPrivateKeyError';
  constructor(why: string) {
    super('invalid_private_key', `Invalid private key: ${why}`, {
      metaMessages: [
        'Expected 64 hex characters, or 66 ending in 01 (a compressed key, as Stacks wallets export).',
      ],
    });
  }
}

/**
 * A mnemonic that is not a valid English BIP39 phrase, or an invalid derivation index.
 * @example
 * ```ts
 * mnemonicToAccount('not a phrase', 'testnet'); // throws InvalidMnemonicError, reason 'invalid_mnemonic'
 * ```
 */
export class InvalidMnemonicError extends X402StacksError<'invalid_mnemonic'> {
  override name = 'InvalidMnemonicError';
  constructor(why: string) {
    super('invalid_mnemonic', `Invalid mnemonic: ${why}`);
  }
}

/**
 * Options to `createPaymentTransaction` that cannot produce a valid payment (for example a network mismatch between
 * the account and the requirements, or a memo over 34 bytes).
 * @example
 * ```ts
 * await createPaymentTransaction({ account, requirements, nonce: 0n, fee: -1n }); // throws PaymentOptionsError
 * ```
 */
export class PaymentOptionsError extends X402StacksError<'invalid_payment_options'> {
  override name = 'PaymentOptionsError';
  constructor(why: string, options?: X402StacksErrorOptions) {
    super('invalid_payment_options', `Cannot build the payment: ${why}`, options);
  }
}

/**
 * A transaction id that is not 64 hex characters (with or without `0x`).
 * @example
 * ```ts
 * getExplorerURL('xyz', 'testnet'); // throws InvalidTransactionIdError, reason 'invalid_transaction_id'
 * ```
 */
export class InvalidTransactionIdError extends X402StacksError<'invalid_transaction_id'> {
  override name = 'InvalidTransactionIdError';
  constructor(txid: unknown) {
    super(
      'invalid_transaction_id',
      `Invalid transaction id ${describeValue(txid)}: expected 64 hex characters.`,
    );
  }
}

/** Describes a user-supplied value for an error message without dumping long input. */
function describeValue(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

/**
 * The signer did not sign: its policy refused the decoded transaction (`signer_refused`), it could not be reached
 * (`signer_unavailable`), or its signature does not verify (`signer_signature_invalid`). Nothing was sent.
 * @example
 * ```ts
 * if (error instanceof SignerError && error.reason === 'signer_refused') console.log(error.signerReason);
 * ```
 */
export class SignerError extends X402StacksError<
  'signer_refused' | 'signer_unavailable' | 'signer_signature_invalid'
> {
  override name = 'SignerError';
  /** The signer's own reason, when it refused (for example `pay_to_not_allowed`). */
  readonly signerReason: string | undefined;
  constructor(
    reason: 'signer_refused' | 'signer_unavailable' | 'signer_signature_invalid',
    message: string,
    options: X402StacksErrorOptions & { signerReason?: string } = {},
  ) {
    const { signerReason, ...rest } = options;
    super(reason, message, rest);
    this.signerReason = signerReason;
  }
}
