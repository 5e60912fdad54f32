/**
 * Steps 9 and 11–14 of validation, the checks on one payment option: network, scheme, amount, payTo and asset.
 * Each check returns its findings and, when it passes, the normalized value the next check needs.
 * @module
 */
import { InvalidAddressError, type StacksNetwork } from 'x402-stacks';
import { parsePrincipal, resolveAsset, resolveNetwork, toAtomic } from 'x402-stacks/stacks';
import { type Finding, finding } from '../findings.js';

/** 2^128 - 1: a Clarity `uint`, the largest amount any Stacks token can move. */
export const MAX_AMOUNT = (1n << 128n) - 1n;

/** The networks a Stacks listing can name; anything else is another chain's option. */
export function isStacksNetworkName(network: unknown): boolean {
  return (
    typeof network === 'string' &&
    (network === 'stacks' ||
      network.startsWith('stacks:') ||
      network === 'mainnet' ||
      network === 'testnet')
  );
}

/** Step 9: the network, CAIP-2 or legacy; legacy `stacks` is told apart by the payTo prefix. */
export function checkNetwork(
  raw: Record<string, unknown>,
  path: string,
): { network?: StacksNetwork; findings: Finding[] } {
  const network = raw.network;
  const payTo = typeof raw.payTo === 'string' ? raw.payTo : undefined;
  try {
    return { network: resolveNetwork(network as string, payTo ? { payTo } : {}), findings: [] };
  } catch {
    // Legacy 'stacks' with a broken payTo: the payTo check reports it; two findings for one mistake would mislead.
    if (network === 'stacks') return { findings: [] };
    return {
      findings: [
        finding('invalid_network', {
          detail: 'unknown_stacks_network',
          path: `${path}.network`,
          message: `${JSON.stringify(network)} is not a Stacks network`,
          fix: 'Use "stacks" (legacy), "stacks:1" (mainnet) or "stacks:2147483648" (testnet).',
        }),
      ],
    };
  }
}

/** Step 11: the scheme. */
export function checkScheme(raw: Record<string, unknown>, path: string): Finding[] {
  if (raw.scheme === 'exact') return [];
  return [
    finding('invalid_scheme', {
      path: `${path}.scheme`,
      message: `scheme ${JSON.stringify(raw.scheme)} is not supported`,
      fix: 'Use "scheme": "exact".',
    }),
  ];
}

/** Step 12: the amount, an atomic integer string above zero and within a Clarity uint. */
export function checkAmount(
  raw: Record<string, unknown>,
  path: string,
  version: 1 | 2,
  decimals: number | null,
): { amount?: string; findings: Finding[] } {
  const field = version === 1 ? 'maxAmountRequired' : 'amount';
  const other = version === 1 ? 'amount' : 'maxAmountRequired';
  const value = raw[field] ?? raw[other];
  const at = `${path}.${raw[field] === undefined && raw[other] !== undefined ? other : field}`;
  const refuse = (detail: string, message: string, fix: string) => ({
    findings: [finding('invalid_amount', { detail, path: at, message, fix })],
  });
  if (value === undefined || value === null) {
    return refuse('missing', `${field} is missing`, `Set "${field}" to the price in atomic units.`);
  }
  if (typeof value === 'number') {
    return refuse(
      'not_a_string',
      `${field} is a JSON number`,
      `Send the amount as a string of digits, e.g. "${Number.isSafeInteger(value) ? value : 1000}", so no float can round it.`,
    );
  }
  if (typeof value !== 'string' || !/^(0|[1-9]\d*)$/.test(value)) {
    return refuse(
      'not_atomic',
      `${JSON.stringify(value)} is not an amount in atomic units`,
      atomicHint(value, decimals),
    );
  }
  const amount = BigInt(value);
  if (amount === 0n) {
    return refuse(
      'zero',
      `${field} is zero`,
      'A listed endpoint must charge something; set a positive price.',
    );
  }
  if (amount > MAX_AMOUNT) {
    return refuse(
      'too_large',
      `${field} is larger than 2^128 - 1`,
      'Prices are Clarity uints; use a smaller amount.',
    );
  }
  return { amount: value, findings: [] };
}

function atomicHint(value: unknown, decimals: number | null): string {
  const base = 'Amounts are whole numbers of the smallest unit (µSTX for STX, sats for sBTC).';
  if (typeof value !== 'string' || decimals === null) return base;
  try {
    const atomic = toAtomic(value.replace(/^\$/, '').trim(), decimals);
    return `${base} ${value} whole units would be "${atomic}".`;
  } catch {
    return base;
  }
}

/** Step 13: payTo is a valid principal of the option's network. */
export function checkPayTo(
  raw: Record<string, unknown>,
  path: string,
  network: StacksNetwork | undefined,
): { payTo?: string; findings: Finding[] } {
  const payTo = raw.payTo;
  const at = `${path}.payTo`;
  if (typeof payTo !== 'string' || payTo === '') {
    return {
      findings: [
        finding('invalid_pay_to', {
          detail: 'missing',
          path: at,
          message: 'payTo is missing',
          fix: 'Set "payTo" to the Stacks address that receives payments.',
        }),
      ],
    };
  }
  let owner: StacksNetwork;
  try {
    owner = parsePrincipal(payTo).network;
  } catch (error) {
    return {
      findings: [
        finding('invalid_pay_to', {
          detail: 'invalid_address',
          path: at,
          message: `${JSON.stringify(payTo)} is not a Stacks address${error instanceof InvalidAddressError && error.details ? ` (${error.details})` : ''}`,
          fix: 'Use a c32check address such as SP… (mainnet) or ST… (testnet).',
        }),
      ],
    };
  }
  if (network && owner.name !== network.name) {
    return {
      findings: [
        finding('invalid_pay_to', {
          detail: 'network_mismatch',
          path: at,
          message: `payTo is a ${owner.name} address but the network is ${network.caip2} (${network.name})`,
          fix: `Use a ${network.name} address (${network.name === 'mainnet' ? 'SP/SM' : 'ST/SN'}…), or set the network to ${owner.caip2}.`,
        }),
      ],
    };
  }
  return { payTo, findings: [] };
}

/** Step 14: the asset is STX, a known token or a SIP-010 contract id on the option's network. */
export function checkAsset(
  raw: Record<string, unknown>,
  path: string,
  network: StacksNetwork,
): { asset?: { id: string; symbol: string | null; decimals: number | null }; findings: Finding[] } {
  try {
    const asset = resolveAsset(raw.asset as string, network);
    if (asset.kind === 'stx')
      return { asset: { id: 'STX', symbol: 'STX', decimals: 6 }, findings: [] };
    return {
      asset: {
        id: asset.contractId,
        symbol: asset.symbol ?? null,
        decimals: asset.decimals ?? null,
      },
      findings: [],
    };
  } catch {
    return {
      findings: [
        finding('invalid_asset', {
          path: `${path}.asset`,
          message: `${JSON.stringify(raw.asset)} is not an asset on ${network.name}`,
          fix: `Use "STX", "sBTC" or a ${network.name} SIP-010 contract id (<address>.<contract-name>).`,
        }),
      ],
    };
  }
}

/** The decimals an asset spelling has, before the asset check runs (for the amount hint). */
export function decimalsHint(raw: Record<string, unknown>): number | null {
  const asset = typeof raw.asset === 'string' ? raw.asset.toLowerCase() : '';
  if (asset === 'stx' || asset === 'usdcx' || asset.endsWith('.usdcx')) return 6;
  if (asset === 'sbtc' || asset.endsWith('.sbtc-token')) return 8;
  return null;
}
