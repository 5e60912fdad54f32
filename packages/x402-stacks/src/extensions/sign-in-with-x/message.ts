/**
 * What a Stacks (`sip018`) sign-in proof signs: a SIP-018 structured-data message whose domain names the seller's host
 * and the network's chain id, and whose message is a Clarity tuple of the CAIP-122 fields. The exact shape is
 * documented in the package README ("sign-in-with-x on Stacks"); change neither without changing both.
 * @module
 */
import {
  type ClarityValue,
  listCV,
  noneCV,
  principalCV,
  someCV,
  stringAsciiCV,
  stringUtf8CV,
  tupleCV,
} from '@stacks/transactions';
import { STACKS_NETWORKS, type StacksNetwork } from '../../stacks/networks.js';
import type { StructuredDataDomain } from '../../stacks/structured-data.js';
import type { SiwxInfo } from './schema.js';

/**
 * The fields a Stacks proof signs: the challenge, plus the signer's address and the chain it signs for.
 * @example
 * ```ts
 * const fields: SiwxStacksFields = { ...declared.info, address: account.address, chainId: 'stacks:2147483648' };
 * const message = siwxStacksMessage(fields);
 * ```
 */
export type SiwxStacksFields = SiwxInfo & { readonly address: string; readonly chainId: string };

/**
 * The Stacks network a CAIP-2 id names, or `undefined` for any other chain.
 * @example
 * ```ts
 * siwxStacksNetwork('stacks:1')?.name; // 'mainnet'
 * ```
 */
export function siwxStacksNetwork(chainId: string): StacksNetwork | undefined {
  if (chainId === STACKS_NETWORKS.mainnet.caip2) return STACKS_NETWORKS.mainnet;
  if (chainId === STACKS_NETWORKS.testnet.caip2) return STACKS_NETWORKS.testnet;
  return undefined;
}

/**
 * The SIP-018 domain of a proof: `name` is the seller's domain (host), `version` the CAIP-122 version, `chain-id` the
 * network's chain id. A signature made for one host or one network does not verify for another.
 * @example
 * ```ts
 * siwxStacksDomain({ domain: 'api.example.com', version: '1' }, STACKS_NETWORKS.testnet);
 * // { name: 'api.example.com', version: '1', chainId: 2147483648 }
 * ```
 */
export function siwxStacksDomain(
  fields: Pick<SiwxInfo, 'domain' | 'version'>,
  network: StacksNetwork,
): StructuredDataDomain {
  return { name: fields.domain, version: fields.version, chainId: network.chainId };
}

/**
 * The SIP-018 message of a proof: a Clarity tuple of every CAIP-122 field, absent optional fields as `none` and absent
 * `resources` as an empty list, so that the shape never varies.
 * @example
 * ```ts
 * const message = siwxStacksMessage({ ...challenge, address: account.address, chainId: 'stacks:2147483648' });
 * ```
 */
export function siwxStacksMessage(fields: SiwxStacksFields): ClarityValue {
  const optionalAscii = (value: string | undefined) =>
    value === undefined ? noneCV() : someCV(stringAsciiCV(value));
  return tupleCV({
    domain: stringAsciiCV(fields.domain),
    address: principalCV(fields.address),
    statement: fields.statement === undefined ? noneCV() : someCV(stringUtf8CV(fields.statement)),
    uri: stringAsciiCV(fields.uri),
    version: stringAsciiCV(fields.version),
    'chain-id': stringAsciiCV(fields.chainId),
    nonce: stringAsciiCV(fields.nonce),
    'issued-at': stringAsciiCV(fields.issuedAt),
    'expiration-time': optionalAscii(fields.expirationTime),
    'not-before': optionalAscii(fields.notBefore),
    'request-id': optionalAscii(fields.requestId),
    resources: listCV((fields.resources ?? []).map((resource) => stringAsciiCV(resource))),
  });
}
