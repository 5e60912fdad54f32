/**
 * The document-level checks of validation: the name (step 7), the shared call description (step 10), the
 * resource URL (step 15) and the image (step 18). Each pushes its findings and returns the value it accepted.
 * @module
 */
import { isIP } from 'node:net';
import { type Finding, finding } from '../findings.js';
import { isRecord } from './challenge.js';
import { sameResource } from './url.js';

// input.type spellings seen in the wild: the docs say "request", a popular skill says "https", x402 v1 says "http".
const HTTP_INPUT_TYPES = new Set(['http', 'https', 'request']);
const MAX_NAME_LENGTH = 64;

/** Step 7: the listing's name, trimmed, 1–64 printable characters. */
export function checkName(value: unknown, findings: Finding[]): string | undefined {
  const refuse = (detail: string, message: string) =>
    findings.push(
      finding('invalid_name', {
        detail,
        path: 'name',
        message,
        fix: 'Set a top-level "name" (or resource.serviceName in v2) of 1–64 printable characters.',
      }),
    );
  if (typeof value !== 'string') {
    refuse('missing', 'name is missing');
    return undefined;
  }
  const name = value.trim();
  if (name === '') refuse('empty', 'name is empty');
  else if (name.length > MAX_NAME_LENGTH)
    refuse('too_long', `name is ${name.length} characters, over ${MAX_NAME_LENGTH}`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused.
  else if (/[\u0000-\u001f\u007f]/.test(name))
    refuse('not_printable', 'name contains control characters');
  else return name;
  return undefined;
}

/**
 * The challenge-wide call description: v2's `extensions.bazaar.info`, else a top-level `outputSchema` (what the
 * x402-stacks seller middleware emits beside its v2 challenge).
 */
export function sharedSchema(
  doc: Record<string, unknown>,
): { input?: Record<string, unknown>; output?: unknown; path: string } | undefined {
  const extensions = isRecord(doc.extensions) ? doc.extensions : undefined;
  const bazaar = extensions && isRecord(extensions.bazaar) ? extensions.bazaar : undefined;
  const info = bazaar && isRecord(bazaar.info) ? bazaar.info : undefined;
  const [source, path] = info
    ? [info, 'extensions.bazaar.info']
    : isRecord(doc.outputSchema)
      ? [doc.outputSchema, 'outputSchema']
      : [undefined, ''];
  if (!source) return undefined;
  return {
    path,
    ...(isRecord(source.input) ? { input: source.input } : {}),
    ...(source.output === undefined ? {} : { output: source.output }),
  };
}

/** The input description with its type normalized; an unknown type is a missing schema. */
export function checkInput(
  input: Record<string, unknown>,
  path: string,
  findings: Finding[],
): Record<string, unknown> | undefined {
  const type = typeof input.type === 'string' ? input.type.toLowerCase() : undefined;
  if (type && HTTP_INPUT_TYPES.has(type)) {
    const method = typeof input.method === 'string' ? input.method.toUpperCase() : undefined;
    return { ...input, type: 'http', ...(method ? { method } : {}) };
  }
  if (type === 'mcp' && typeof (input.toolName ?? input.tool) === 'string') return input;
  findings.push(
    finding('missing_output_schema', {
      detail: 'unknown_input_type',
      path: `${path}.type`,
      message: `input.type ${JSON.stringify(input.type)} is not one of http, https, request, mcp`,
      fix: 'Set "input": {"type": "http", "method": "GET", …}.',
    }),
  );
  return undefined;
}

/** Step 15: the challenge's resource is the submitted URL, with no route placeholders left in it. */
export function checkResource(
  value: unknown,
  path: string,
  submitted: string,
  findings: Finding[],
): void {
  if (typeof value !== 'string' || value === '') return;
  if (/\{[^}]*\}|\/:[A-Za-z_]/.test(value)) {
    findings.push(
      finding('resource_mismatch', {
        detail: 'placeholder',
        path,
        message: `${value} still contains a route placeholder`,
        fix: 'Put the concrete URL of the resource in "resource" (register each route you want listed).',
      }),
    );
    return;
  }
  let absolute: string;
  try {
    absolute = new URL(value, submitted).href;
  } catch {
    absolute = value;
  }
  if (!sameResource(absolute, submitted)) {
    findings.push(
      finding('resource_mismatch', {
        detail: 'different_url',
        path,
        message: `the challenge names ${absolute}, not the submitted ${submitted}`,
        fix: 'Make "resource" the URL buyers call, the one you registered.',
      }),
    );
  }
}

/** Step 18: an https image on a DNS name, or null (and a warning) when it is unsafe to show. */
export function checkImage(value: unknown, findings: Finding[]): string | null {
  if (value === undefined || value === null || value === '') return null;
  let url: URL | undefined;
  try {
    url = typeof value === 'string' && value.length <= 2048 ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  const host = url?.hostname.replace(/^\[|\]$/g, '');
  if (
    url &&
    url.protocol === 'https:' &&
    url.username === '' &&
    url.password === '' &&
    host &&
    isIP(host) === 0 &&
    host !== 'localhost'
  ) {
    return url.href;
  }
  findings.push(
    finding('invalid_image', {
      path: 'image',
      message: 'the image is not an absolute https URL on a public host; it is not shown',
      fix: 'Use an https:// URL of at most 2048 characters on a DNS name.',
    }),
  );
  return null;
}

/** The first non-blank string among the values, or null. */
export function pickString(...values: unknown[]): string | null {
  for (const value of values) if (typeof value === 'string' && value.trim() !== '') return value;
  return null;
}
