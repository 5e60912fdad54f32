/**
 * The batch-escrow's hashes, computed off chain exactly as the contract computes them: the channel id (sha256 of the
 * config tuple's consensus serialization) and the SIP-018 messages for vouchers, claim batches and refunds, under the
 * domain `{ name: "x402-batch-escrow", version: "1", chain-id }`. Every message names the escrow, so a signature for
 * one deployment recovers another key over any other.
 * @module
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2';
import { Cl, type ClarityValue, serializeCVBytes } from '@stacks/transactions';
import { parseStacksAddress } from '../stacks/address.js';
import { builtin } from '../stacks/builtin.js';
import { bytesEqual, fromHex, toHex } from '../stacks/bytes.js';
import type { StacksNetwork } from '../stacks/networks.js';
import { recoverPublicKey, signHashRsv } from '../stacks/secp256k1.js';
import { hashOf160 } from '../stacks/signature.js';
import {
  recoverStructuredDataSigner,
  type StructuredDataDomain,
  structuredDataHash,
  structuredDataHashOfBytes,
} from '../stacks/structured-data.js';
import type { ChannelConfig } from './wire.js';

type NodeCrypto = {
  createHash(algorithm: 'sha256'): { update(data: Uint8Array): { digest(): Uint8Array } };
};
const nodeCrypto = builtin<NodeCrypto>('node:crypto');

/**
 * The escrow's SIP-018 domain on a network.
 * @example
 * ```ts
 * escrowDomain(STACKS_NETWORKS.testnet); // { name: 'x402-batch-escrow', version: '1', chainId: 2147483648 }
 * ```
 */
export function escrowDomain(network: StacksNetwork): StructuredDataDomain {
  return { name: 'x402-batch-escrow', version: '1', chainId: network.chainId };
}

/**
 * The config as the contract's tuple.
 * @example
 * ```ts
 * serializeCV(channelConfigCV(config)); // the bytes get-channel-id hashes
 * ```
 */
export function channelConfigCV(config: ChannelConfig): ClarityValue {
  return Cl.tuple({
    payer: Cl.principal(config.payer),
    'payer-authorizer': Cl.principal(config.payerAuthorizer),
    receiver: Cl.principal(config.receiver),
    'receiver-authorizer': Cl.principal(config.receiverAuthorizer),
    token: config.token === null ? Cl.none() : Cl.some(Cl.principal(config.token)),
    'withdraw-delay': Cl.uint(config.withdrawDelay),
    salt: Cl.buffer(fromHex(config.salt.slice(2))),
  });
}

/**
 * The channel id of a config, `0x`-prefixed hex: what `get-channel-id` answers.
 * @example
 * ```ts
 * const channelId = channelIdOf(config); // '0x5f0c…'
 * ```
 */
export function channelIdOf(config: ChannelConfig): string {
  // Every voucher of a channel carries its config: the id is computed once per config, not once per request.
  const key = `${config.payer}|${config.payerAuthorizer}|${config.receiver}|${config.receiverAuthorizer}|${config.token}|${config.withdrawDelay}|${config.salt}`;
  let id = channelIds.get(key);
  if (id === undefined) {
    id = `0x${toHex(sha256(serializeCVBytes(channelConfigCV(config))))}`;
    if (channelIds.size >= MAX_REMEMBERED) channelIds.clear();
    channelIds.set(key, id);
  }
  return id;
}

const MAX_REMEMBERED = 4096;
const channelIds = new Map<string, string>();

/**
 * The SIP-018 hash a payer-authorizer signs to let the receiver side claim up to `maxClaimable` in all.
 * @example
 * ```ts
 * const hash = voucherHash(network, escrow, channelId, 3000n);
 * ```
 */
export function voucherHash(
  network: StacksNetwork,
  escrow: string,
  channelId: string,
  maxClaimable: bigint,
): Uint8Array {
  return structuredDataHashOfBytes(
    escrowDomain(network),
    voucherMessageBytes(escrow, channelId, maxClaimable),
  );
}

/**
 * Signs a voucher with the payer-authorizer's private key: the `0x`-prefixed RSV signature the escrow recovers.
 * @example
 * ```ts
 * const signature = signVoucher(account.privateKey, network, escrow, channelId, 3000n);
 * ```
 */
export function signVoucher(
  privateKey: string,
  network: StacksNetwork,
  escrow: string,
  channelId: string,
  maxClaimable: bigint,
): string {
  if (!/^0x[0-9a-fA-F]{64}$/.test(channelId)) {
    throw new TypeError('channelId must be 0x and 64 hex characters');
  }
  // The same bytes `voucherHash` checks, built from a template: a buyer signs one voucher per request.
  return `0x${signHashRsv(voucherHash(network, escrow, channelId, maxClaimable), privateKey)}`;
}

/**
 * Who signed a voucher, as the escrow's `signer-of` finds it (the compressed key's single-sig address on `network`),
 * or undefined when the signature recovers no key.
 * @example
 * ```ts
 * if (voucherSigner(network, escrow, voucher) !== config.payerAuthorizer) refuse('invalid_batch_settlement_stacks_voucher_signature');
 * ```
 */
export function voucherSigner(
  network: StacksNetwork,
  escrow: string,
  voucher: { channelId: string; maxClaimableAmount: string; signature: string },
): string | undefined {
  const amount = BigInt(voucher.maxClaimableAmount);
  // No signature covers an amount no voucher can carry (it would be checked as a smaller one's).
  if (!isClarityUint(amount)) return undefined;
  const hash = voucherHash(network, escrow, voucher.channelId, amount);
  return recoverStructuredDataSigner(
    hash,
    fromHex(voucher.signature.slice(2)),
    network.addressVersion.singleSig,
  );
}

/**
 * Whether a voucher was signed by `signer` (a single-signature address of `network`), as the escrow's `signer-of`
 * would find it, compared on the key's hash without encoding an address: the facilitator's per-request check.
 * @example
 * ```ts
 * if (!isVoucherSignedBy(network, escrow, voucher, config.payerAuthorizer)) refuse('invalid_batch_settlement_stacks_voucher_signature');
 * ```
 */
export function isVoucherSignedBy(
  network: StacksNetwork,
  escrow: string,
  voucher: { channelId: string; maxClaimableAmount: string; signature: string },
  signer: string,
): boolean {
  const signature = fromHex(voucher.signature.slice(2));
  if (signature.length !== 65 || signature[64]! > 3) return false;
  const vrs = new Uint8Array(65);
  vrs[0] = signature[64]!;
  vrs.set(signature.subarray(0, 64), 1);
  const amount = BigInt(voucher.maxClaimableAmount);
  if (!isClarityUint(amount)) return false;
  const hash = voucherHash(network, escrow, voucher.channelId, amount);
  const key = recoverPublicKey(hash, vrs, true);
  if (key === undefined) return false;
  // A payer signs every voucher of its channel with one key: once a key is known to hash to the address, the same key
  // recovered again needs neither the address decoded nor the key hashed.
  const signerKey = `${network.addressVersion.singleSig}|${signer}`;
  const known = signerKeys.get(signerKey);
  if (known !== undefined && bytesEqual(known, key)) return true;
  let expected: ReturnType<typeof parseStacksAddress>;
  try {
    expected = parseStacksAddress(signer);
  } catch {
    return false;
  }
  if (expected.version !== network.addressVersion.singleSig) return false;
  if (toHex(hashOf160(key)) !== expected.hash160) return false;
  if (signerKeys.size >= MAX_REMEMBERED) signerKeys.clear();
  signerKeys.set(signerKey, key);
  return true;
}

/** Public keys known to be a signer's, by network version and address. */
const signerKeys = new Map<string, Uint8Array>();

/**
 * The SIP-018 hash a receiver-authorizer signs to authorize one claim batch, row for row in order.
 * @example
 * ```ts
 * claimBatchHash(network, escrow, [{ channelId, claimed: 3000n }]);
 * ```
 */
export function claimBatchHash(
  network: StacksNetwork,
  escrow: string,
  rows: readonly { channelId: string; claimed: bigint }[],
): Uint8Array {
  return structuredDataHash(
    escrowDomain(network),
    Cl.tuple({
      action: Cl.stringAscii('claim'),
      escrow: Cl.principal(escrow),
      claims: Cl.list(
        rows.map((row) =>
          Cl.tuple({
            'channel-id': Cl.buffer(fromHex(row.channelId.slice(2))),
            claimed: Cl.uint(row.claimed),
          }),
        ),
      ),
    }),
  );
}

/**
 * The SIP-018 hash a receiver-authorizer signs to authorize one cooperative refund.
 * @example
 * ```ts
 * refundHash(network, escrow, channelId, 500n, 0n);
 * ```
 */
export function refundHash(
  network: StacksNetwork,
  escrow: string,
  channelId: string,
  amount: bigint,
  nonce: bigint,
): Uint8Array {
  return structuredDataHash(
    escrowDomain(network),
    Cl.tuple({
      action: Cl.stringAscii('refund'),
      escrow: Cl.principal(escrow),
      'channel-id': Cl.buffer(fromHex(channelId.slice(2))),
      amount: Cl.uint(amount),
      nonce: Cl.uint(nonce),
    }),
  );
}

/**
 * The voucher message's consensus bytes, written from a template per escrow: the tuple's keys sort as `action`,
 * `channel-id`, `escrow`, `max-claimable`, so the channel id sits at a fixed offset and the 16-byte uint ends the
 * bytes. Equal to `serializeCVBytes(voucherMessage(…))` (tested), at a fraction of its cost.
 */
function voucherMessageBytes(escrow: string, channelId: string, maxClaimable: bigint): Uint8Array {
  let template = voucherTemplates.get(escrow);
  if (!template) {
    const bytes = serializeCVBytes(voucherMessage(escrow, `0x${'00'.repeat(32)}`, 0n));
    const key = new TextEncoder().encode('channel-id');
    // The key's length byte, the key, then the value's type byte (buffer) and its 4-byte length.
    const at = indexOf(bytes, key) + key.length + 5;
    template = { bytes, channelIdAt: at };
    if (voucherTemplates.size >= MAX_REMEMBERED) voucherTemplates.clear();
    voucherTemplates.set(escrow, template);
  }
  // Written as 16 bytes, a larger value would wrap: its hash would be a smaller amount's.
  if (!isClarityUint(maxClaimable)) {
    throw new RangeError(
      `a voucher's max-claimable must be a Clarity uint (below 2^128), not ${maxClaimable}`,
    );
  }
  const bytes = template.bytes.slice();
  bytes.set(fromHex(channelId.slice(2)), template.channelIdAt);
  // The u128 closes the message, big-endian: two 64-bit halves.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setBigUint64(bytes.length - 16, maxClaimable >> 64n);
  view.setBigUint64(bytes.length - 8, BigInt.asUintN(64, maxClaimable));
  return bytes;
}

const U128_LIMIT = 1n << 128n;

const isClarityUint = (value: bigint): boolean => value >= 0n && value < U128_LIMIT;

const voucherTemplates = new Map<string, { bytes: Uint8Array; channelIdAt: number }>();

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  throw new Error('the voucher template has no channel-id');
}

function voucherMessage(escrow: string, channelId: string, maxClaimable: bigint): ClarityValue {
  return Cl.tuple({
    action: Cl.stringAscii('voucher'),
    escrow: Cl.principal(escrow),
    'channel-id': Cl.buffer(fromHex(channelId.slice(2))),
    'max-claimable': Cl.uint(maxClaimable),
  });
}

function sha256(data: Uint8Array): Uint8Array {
  return nodeCrypto ? nodeCrypto.createHash('sha256').update(data).digest() : nobleSha256(data);
}
