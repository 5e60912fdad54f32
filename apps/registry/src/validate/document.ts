/**
 * Steps 3–18 of validation: from a probe response to findings and, when nothing refuses it, the normalized listing.
 * Every step runs even after an earlier one fails, so a seller sees everything wrong at once; a step only skips
 * what has nothing left to check (no accepts, no network for an asset).
 * @module
 */
import { checkBazaarDeclaration } from 'x402-stacks/extensions';
import { type Finding, finding } from '../findings.js';
import type { ListedAccept, NormalizedListing } from '../listing.js';
import type { ProbeResponse } from '../probe/fetcher.js';
import {
  checkAmount,
  checkAsset,
  checkNetwork,
  checkPayTo,
  checkScheme,
  decimalsHint,
  isStacksNetworkName,
} from './accepts.js';
import { isRecord, readChallenge } from './challenge.js';
import {
  checkImage,
  checkInput,
  checkName,
  checkResource,
  pickString,
  sharedSchema,
} from './fields.js';

/** The outcome of reading one response. */
export type DocumentVerdict = {
  readonly findings: readonly Finding[];
  /** Present exactly when no finding is an error. */
  readonly listing?: NormalizedListing;
};

/**
 * Validates a probe response for the submitted URL and method.
 * @example
 * ```ts
 * const { findings, listing } = validateResponse({ url, method: 'GET' }, await fetcher({ url, method: 'GET' }));
 * ```
 */
export function validateResponse(
  submitted: { url: string; method: string },
  response: ProbeResponse,
  /** The origin's page title, for a v2 challenge that names itself nowhere. */
  fallbackName?: string,
): DocumentVerdict {
  const findings: Finding[] = [];

  // Step 4: a live 402, or a 200 serving the schema as a document (the docs allow it; it proves no paywall).
  if (response.status !== 402 && response.status !== 200) {
    return {
      findings: [
        finding('invalid_status', {
          detail: String(response.status),
          message: `expected HTTP 402 (or 200), got ${response.status}`,
          fix:
            response.status === 400 || response.status === 422
              ? 'The endpoint validated the request before asking for payment; answer unpaid requests with 402 first.'
              : 'Answer an unpaid request with 402 Payment Required and the x402 challenge.',
        }),
      ],
    };
  }
  if (response.status === 200) {
    findings.push(
      finding('paywall_unverified', {
        message: 'the endpoint answered 200, so the paywall itself could not be seen',
        fix: 'Answer unpaid requests with 402 and the challenge; 200 schema documents are listed as unverified.',
      }),
    );
  }

  // Step 5: the challenge, from the payment-required header or the body.
  const read = readChallenge(response);
  if ('finding' in read) return { findings: [...findings, read.finding] };
  const doc = read.challenge;

  // Step 6: the protocol version.
  const version = doc.x402Version === 1 || doc.x402Version === 2 ? doc.x402Version : undefined;
  if (version === undefined) {
    findings.push(
      finding('invalid_version', {
        path: 'x402Version',
        message: `x402Version is ${JSON.stringify(doc.x402Version)}, expected 1 or 2`,
        fix: 'Set "x402Version": 2 (or 1 for the legacy document).',
      }),
    );
  }
  const resource = isRecord(doc.resource) ? doc.resource : {};

  // Step 7: the name; v2 challenges without the legacy top-level name may carry resource.serviceName, and
  // failing both, the origin's page title stands in.
  const name = checkName(
    doc.name ?? resource.serviceName ?? (version === 2 ? fallbackName : undefined),
    findings,
  );

  // Step 8: accepts, with other chains' options set aside.
  const rawAccepts = Array.isArray(doc.accepts) ? doc.accepts : undefined;
  if (!rawAccepts || rawAccepts.length === 0) {
    findings.push(
      finding('empty_accepts', {
        detail: rawAccepts ? 'empty' : 'missing',
        path: 'accepts',
        message: rawAccepts ? 'accepts is an empty array' : 'accepts is missing or not an array',
        fix: 'List at least one payment option in "accepts".',
      }),
    );
  }
  const options: { raw: Record<string, unknown>; path: string }[] = [];
  const foreign: { raw: unknown; path: string }[] = [];
  (rawAccepts ?? []).forEach((raw, index) => {
    const path = `accepts[${index}]`;
    if (isRecord(raw) && isStacksNetworkName(raw.network)) options.push({ raw, path });
    else foreign.push({ raw, path });
  });
  for (const { raw, path } of foreign) {
    const network = isRecord(raw) ? raw.network : undefined;
    findings.push(
      options.length === 0
        ? finding('invalid_network', {
            detail: 'not_stacks',
            path: `${path}.network`,
            message: `network ${JSON.stringify(network)} is not Stacks`,
            fix: 'x402scan lists Stacks endpoints: use "stacks", "stacks:1" or "stacks:2147483648".',
          })
        : finding('non_stacks_dropped', {
            path: `${path}.network`,
            message: `the option on ${JSON.stringify(network)} is not Stacks and is not listed`,
            fix: 'Nothing to do if you also accept other chains; only Stacks options are listed here.',
          }),
    );
  }

  // Step 9: each option's network.
  const networks = options.map(({ raw, path }) => {
    const checked = checkNetwork(raw, path);
    findings.push(...checked.findings);
    return checked.network;
  });

  // Step 10: an input schema, per v1 option (outputSchema.input) or once for the challenge (v2 extensions.bazaar).
  const bazaar = sharedSchema(doc);
  const inputs = options.map(({ raw, path }) => {
    const outputSchema = isRecord(raw.outputSchema) ? raw.outputSchema : undefined;
    if (outputSchema && isRecord(outputSchema.input))
      return checkInput(outputSchema.input, `${path}.outputSchema.input`, findings);
    if (bazaar?.input) return undefined;
    findings.push(
      finding('missing_output_schema', {
        detail: outputSchema ? 'missing_input' : 'missing',
        path: `${path}.outputSchema`,
        message: outputSchema ? `${path}.outputSchema has no input` : `${path} has no outputSchema`,
        fix: 'Describe the call: "outputSchema": {"input": {"type": "http", "method": "GET", …}, "output": {…}} (or extensions.bazaar in v2).',
      }),
    );
    return undefined;
  });
  const bazaarInput = bazaar?.input
    ? checkInput(bazaar.input, `${bazaar.path}.input`, findings)
    : undefined;

  // Steps 11–14: scheme, amount, payTo and asset of each option.
  const accepts: (ListedAccept | undefined)[] = options.map(({ raw, path }, index) => {
    findings.push(...checkScheme(raw, path));
    const amount = checkAmount(raw, path, version ?? 1, decimalsHint(raw));
    findings.push(...amount.findings);
    const network = networks[index];
    const payTo = checkPayTo(raw, path, network && raw.network !== 'stacks' ? network : undefined);
    findings.push(...payTo.findings);
    const asset = network ? checkAsset(raw, path, network) : undefined;
    if (asset) findings.push(...asset.findings);
    if (!network || !amount.amount || !payTo.payTo || !asset?.asset || raw.scheme !== 'exact')
      return undefined;
    return {
      scheme: 'exact',
      network: network.caip2,
      amount: amount.amount,
      asset: asset.asset.id,
      symbol: asset.asset.symbol,
      decimals: asset.asset.decimals,
      payTo: payTo.payTo,
      maxTimeoutSeconds: Number.isInteger(raw.maxTimeoutSeconds)
        ? (raw.maxTimeoutSeconds as number)
        : null,
    };
  });

  // Step 15: the resource the challenge names should be the one submitted, with no unfilled placeholders.
  const resources =
    version === 2 && typeof resource.url === 'string'
      ? [{ value: resource.url, path: 'resource.url' }]
      : options.map(({ raw, path }) => ({ value: raw.resource, path: `${path}.resource` }));
  for (const { value, path } of resources) checkResource(value, path, submitted.url, findings);

  // Step 16: fields buyers rely on.
  for (const { raw, path } of options) {
    const timeout = raw.maxTimeoutSeconds;
    if (!Number.isInteger(timeout) || (timeout as number) < 1 || (timeout as number) > 3600) {
      findings.push(
        finding('invalid_field', {
          detail: 'max_timeout_seconds',
          path: `${path}.maxTimeoutSeconds`,
          message: `maxTimeoutSeconds is ${JSON.stringify(timeout)}, expected a whole number from 1 to 3600`,
          fix: 'Set "maxTimeoutSeconds" to how long a signed payment stays valid, e.g. 300.',
        }),
      );
    }
  }
  const mimeType = pickString(resource.mimeType, options[0]?.raw.mimeType);
  if (options.length > 0 && mimeType === null) {
    findings.push(
      finding('invalid_field', {
        detail: 'mime_type',
        path: version === 2 ? 'resource.mimeType' : `${options[0]!.path}.mimeType`,
        message: 'mimeType is missing',
        fix: 'Say what a paid call returns, e.g. "mimeType": "application/json".',
      }),
    );
  }

  // Step 17: an output description.
  const firstSchema = options.map(({ raw }) => raw.outputSchema).find(isRecord);
  const output = firstSchema?.output ?? bazaar?.output;
  if (options.length > 0 && output === undefined) {
    findings.push(
      finding('missing_output', {
        path: firstSchema
          ? `${options[0]!.path}.outputSchema.output`
          : `${bazaar?.path ?? 'extensions.bazaar.info'}.output`,
        message: 'the response format is not described',
        fix: 'Add "output" describing the fields a paid call returns, so agents can use them.',
      }),
    );
  }

  // Step 17b: the bazaar declaration's JSON Schema, imported when it passes the checks a facilitator's catalog runs.
  const schema = bazaarSchema(doc, findings);

  // Step 18: the image, soft-dropped when unsafe.
  const image = checkImage(doc.image ?? resource.iconUrl, findings);

  const input = inputs.find((i) => i !== undefined) ?? bazaarInput;
  const refused = findings.some((f) => f.severity === 'error');
  if (
    refused ||
    !input ||
    !name ||
    !version ||
    accepts.some((a) => a === undefined) ||
    accepts.length === 0
  ) {
    return { findings };
  }
  return {
    findings,
    listing: {
      url: submitted.url,
      method: submitted.method,
      name,
      description: pickString(resource.description, options[0]?.raw.description) ?? '',
      image,
      mimeType,
      x402Version: version,
      paywallVerified: response.status === 402,
      accepts: accepts as ListedAccept[],
      input,
      output: output ?? null,
      ...(schema ? { schema } : {}),
    },
  };
}

/** The schema of a bazaar declaration; a declaration that fails the checks is a warning and imports nothing. */
function bazaarSchema(
  doc: Record<string, unknown>,
  findings: Finding[],
): Record<string, unknown> | undefined {
  const entry = isRecord(doc.extensions) ? doc.extensions.bazaar : undefined;
  if (entry === undefined) return undefined;
  const checked = checkBazaarDeclaration(entry);
  if (checked.ok) return checked.declaration.schema;
  findings.push(
    finding('invalid_bazaar', {
      detail: checked.reason,
      path: 'extensions.bazaar',
      message: checked.message,
      fix: 'Declare the route with declareBazaar (x402-stacks) or declareDiscoveryExtension (@x402/extensions): { info: { input, output }, schema }.',
    }),
  );
  return undefined;
}
