/**
 * Local accounts: a private key and what follows from it on one network. Nothing here touches the network.
 * @module
 */
import { HDKey } from '@scure/bip32';
import { mnemonicToSeedSync, validateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english';
import { bytesToHex } from '@stacks/common';
import { privateKeyToAddress, privateKeyToPublic, randomPrivateKey } from '@stacks/transactions';
import { InvalidMnemonicError, InvalidPrivateKeyError } from './errors.js';
import {
  resolveNetwork,
  type StacksNetworkId,
  type StacksNetworkInput,
  type StacksNetworkName,
} from './networks.js';

/**
 * A Stacks account that can sign payments. `privateKey` is readable but not enumerable, so `console.log(account)` and
 * `JSON.stringify(account)` never print it.
 * @example
 * ```ts
 * const account: StacksAccount = privateKeyToAccount(process.env.STACKS_PRIVATE_KEY!, 'testnet');
 * console.log(account.address); // ST…
 * ```
 */
export type StacksAccount = {
  readonly address: string;
  /** Hex public key: 33 bytes compressed, or 65 bytes for a 64-hex (uncompressed) private key. */
  readonly publicKey: string;
  readonly network: StacksNetworkName;
  /** CAIP-2 id of `network`. */
  readonly caip2: StacksNetworkId;
  /** Hex private key as given (without `0x`). Not enumerable. */
  readonly privateKey: string;
};

// secp256k1 group order: a private key is a scalar in [1, n - 1].
const CURVE_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const STACKS_DERIVATION_PATH = "m/44'/5757'/0'/0";

/**
 * Creates an account from a hex private key.
 *
 * Accepts 66 hex characters ending in `01` (a compressed key, which Stacks wallets export) or 64 (an uncompressed
 * key, following @stacks/transactions, whose address differs from the same key with `01`). A `0x` prefix is allowed.
 *
 * @param network `'mainnet' | 'testnet'` or a CAIP-2 id. Default `'testnet'`, so a forgotten argument never spends
 *   mainnet funds.
 * @throws {InvalidPrivateKeyError} for a malformed or out-of-range key; the message never contains the key.
 * @example
 * ```ts
 * import { privateKeyToAccount } from 'x402-stacks';
 * const account = privateKeyToAccount(process.env.CLIENT_PRIVATE_KEY!, 'testnet');
 * account.address; // 'ST…'
 * ```
 */
export function privateKeyToAccount(
  privateKey: string,
  network: StacksNetworkInput = 'testnet',
): StacksAccount {
  const key = normalizePrivateKey(privateKey);
  const resolved = resolveNetwork(network);
  const account = {
    address: privateKeyToAddress(key, resolved.name),
    publicKey: privateKeyToPublic(key) as string,
    network: resolved.name,
    caip2: resolved.caip2,
  };
  Object.defineProperty(account, 'privateKey', { value: key, enumerable: false });
  return Object.freeze(account) as StacksAccount;
}

/**
 * Generates a new random compressed key and its account.
 *
 * @example
 * ```ts
 * import { generateKeypair } from 'x402-stacks';
 * const keypair = generateKeypair('testnet');
 * console.log(keypair.address, keypair.privateKey); // store the key safely; never commit it
 * ```
 */
export function generateKeypair(network: StacksNetworkInput = 'testnet'): StacksAccount {
  return privateKeyToAccount(randomPrivateKey(), network);
}

/**
 * Derives an account from a BIP39 mnemonic on the Stacks path `m/44'/5757'/0'/0/<index>`, as Stacks wallets do.
 *
 * @param index Account index, default 0.
 * @throws {InvalidMnemonicError}
 * @example
 * ```ts
 * import { mnemonicToAccount } from 'x402-stacks';
 * const account = mnemonicToAccount('twice kind fence tip hidden …', 'testnet', 0);
 * ```
 */
export function mnemonicToAccount(
  mnemonic: string,
  network: StacksNetworkInput = 'testnet',
  index = 0,
): StacksAccount {
  return mnemonicToAccounts(mnemonic, network, { from: index, count: 1 })[0]!;
}

/**
 * Derives several consecutive accounts from one mnemonic. The seed (2,048 rounds of PBKDF2) is computed once, so this
 * is much cheaper than calling `mnemonicToAccount` per index.
 *
 * @param range `from` (default 0) and `count` (default 1).
 * @throws {InvalidMnemonicError}
 * @example
 * ```ts
 * import { mnemonicToAccounts } from 'x402-stacks';
 * const [deployer, wallet1] = mnemonicToAccounts(process.env.MNEMONIC!, 'testnet', { count: 2 });
 * ```
 */
export function mnemonicToAccounts(
  mnemonic: string,
  network: StacksNetworkInput = 'testnet',
  { from = 0, count = 1 }: { from?: number; count?: number } = {},
): StacksAccount[] {
  const last = from + count - 1;
  if (
    !Number.isSafeInteger(from) ||
    from < 0 ||
    !Number.isSafeInteger(count) ||
    count < 1 ||
    last >= 0x80000000
  ) {
    throw new InvalidMnemonicError(
      `account indexes must be integers from 0 to 2^31 - 1, got ${from}..${last}`,
    );
  }
  const words = typeof mnemonic === 'string' ? mnemonic.trim().split(/\s+/).join(' ') : '';
  if (!validateMnemonic(words, wordlist)) {
    throw new InvalidMnemonicError(
      'not a valid English BIP39 phrase (check the words and the checksum)',
    );
  }
  const parent = HDKey.fromMasterSeed(mnemonicToSeedSync(words)).derive(STACKS_DERIVATION_PATH);
  return Array.from({ length: count }, (_, offset) => {
    const child = parent.deriveChild(from + offset);
    if (!child.privateKey) throw new InvalidMnemonicError('derivation produced no private key');
    return privateKeyToAccount(`${bytesToHex(child.privateKey)}01`, network);
  });
}

function normalizePrivateKey(privateKey: unknown): string {
  if (typeof privateKey !== 'string') throw new InvalidPrivateKeyError('expected a hex string');
  const key = (privateKey.startsWith('0x') ? privateKey.slice(2) : privateKey).toLowerCase();
  if (!/^[0-9a-f]*$/.test(key)) throw new InvalidPrivateKeyError('contains non-hex characters');
  if (key.length !== 64 && key.length !== 66) {
    throw new InvalidPrivateKeyError(`expected 64 or 66 hex characters, got ${key.length}`);
  }
  if (key.length === 66 && !key.endsWith('01')) {
    throw new InvalidPrivateKeyError('a 66-character key must end in 01 (the compression flag)');
  }
  const scalar = BigInt(`0x${key.slice(0, 64)}`);
  if (scalar === 0n || scalar >= CURVE_ORDER) {
    throw new InvalidPrivateKeyError('outside the secp256k1 range');
  }
  return key;
}
