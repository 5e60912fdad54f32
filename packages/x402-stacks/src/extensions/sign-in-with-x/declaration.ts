/**
 * The 402's `sign-in-with-x` entry: building it on the seller's side, reading it and choosing the Stacks chain on the
 * buyer's.
 * @module
 */
import { readExtensionInfo } from '../envelope.js';
import {
  SIGN_IN_WITH_X,
  SIWX_STACKS_SIGNATURE_TYPE,
  type SiwxDeclaration,
  SiwxDeclarationSchema,
  type SiwxInfo,
  SiwxInfoSchema,
  type SiwxSupportedChain,
  siwxProofJsonSchema,
} from './schema.js';

/**
 * The entry a seller puts under `extensions['sign-in-with-x']`: the challenge, one `sip018` chain per network, and the
 * proof's JSON Schema.
 * @example
 * ```ts
 * const extensions = { [SIGN_IN_WITH_X]: declareSiwxStacks(info, ['stacks:2147483648']) };
 * ```
 */
export function declareSiwxStacks(info: SiwxInfo, chainIds: readonly string[]): SiwxDeclaration {
  return {
    info,
    supportedChains: chainIds.map((chainId) => ({ chainId, type: SIWX_STACKS_SIGNATURE_TYPE })),
    schema: siwxProofJsonSchema(),
  };
}

/**
 * Reads the `sign-in-with-x` entry of a 402's `extensions`: `undefined` when absent or malformed (a buyer then just
 * pays). `supportedChains` is optional here, as upstream's declare helper may leave it empty until it enriches it.
 * @example
 * ```ts
 * const declared = readSiwxDeclaration(paymentRequired.extensions);
 * ```
 */
export function readSiwxDeclaration(
  extensions: Readonly<Record<string, unknown>> | undefined,
): SiwxDeclaration | undefined {
  const read = readExtensionInfo(extensions, SIGN_IN_WITH_X, SiwxInfoSchema);
  if (read.status !== 'present') return undefined;
  const entry = SiwxDeclarationSchema.safeParse(extensions?.[SIGN_IN_WITH_X]);
  return entry.success ? entry.data : undefined;
}

/**
 * The first `supportedChains` entry a Stacks account on `chainId` can sign: that chain, type `sip018`.
 * @example
 * ```ts
 * siwxStacksChain(declared, 'stacks:2147483648'); // { chainId: 'stacks:2147483648', type: 'sip018' } or undefined
 * ```
 */
export function siwxStacksChain(
  declaration: SiwxDeclaration,
  chainId: string,
): SiwxSupportedChain | undefined {
  return declaration.supportedChains.find(
    (chain) => chain.chainId === chainId && chain.type === SIWX_STACKS_SIGNATURE_TYPE,
  );
}
