/**
 * The 402 body x402-stacks 1.x clients read (`withPaymentInterceptor` of x402-stacks 2.0), for sellers who opt in
 * with `challengeBody: 'x402-stacks-v1'`. Those clients read only the body, and only this flat shape; every other
 * client reads the `payment-required` header, which stays the v2 challenge. So one route serves both.
 * @module
 */
import type { PaymentRequirements } from '../protocol/v2.js';
import { type ResolveAssetOptions, resolveAsset } from '../stacks/assets.js';
import { toHex } from '../stacks/bytes.js';
import { resolveNetwork } from '../stacks/networks.js';
import type { ChallengeFailure } from './replies.js';

/**
 * The flat body for the first entry such a client can pay (STX, sBTC or USDCx), or `undefined` when there is none.
 * A fresh `nonce` (which the client signs as its memo) and `expiresAt` each time: the client refuses an expired one.
 */
export function legacyChallengeBody(
  resourceUrl: string,
  accepts: readonly PaymentRequirements[],
  failure: ChallengeFailure | undefined,
  tokens?: ResolveAssetOptions,
): string | undefined {
  for (const entry of accepts) {
    const token = legacyTokenOf(entry, tokens);
    if (!token) continue;
    return JSON.stringify({
      ...(failure ? { error: failure.error } : {}),
      ...(failure?.message ? { message: failure.message } : {}),
      maxAmountRequired: entry.amount,
      resource: resourceUrl,
      payTo: entry.payTo,
      network: token.network,
      // Web Crypto, not node:crypto: the middleware runs on edge runtimes too.
      nonce: toHex(globalThis.crypto.getRandomValues(new Uint8Array(16))),
      expiresAt: new Date(Date.now() + entry.maxTimeoutSeconds * 1000).toISOString(),
      ...token.fields,
    });
  }
  return undefined;
}

function legacyTokenOf(entry: PaymentRequirements, tokens: ResolveAssetOptions | undefined) {
  if (entry.scheme !== 'exact') return undefined;
  try {
    const network = resolveNetwork(entry.network, { payTo: entry.payTo });
    const asset = resolveAsset(entry.asset, network, tokens);
    if (asset.kind === 'stx') return { network: network.name, fields: {} };
    // Its client pays only the two tokens it knows; for any other it would sign an STX transfer.
    if (asset.symbol === undefined) return undefined;
    return {
      network: network.name,
      fields: {
        tokenType: asset.symbol,
        tokenContract: { address: asset.contractAddress, name: asset.contractName },
      },
    };
  } catch {
    return undefined;
  }
}
