/**
 * Checking one bazaar declaration: its shape, its size in bytes, and that its schema stays self-contained. The seller
 * runs it once at startup; a facilitator runs it on every declaration it would catalog, where the bytes are the
 * operator's storage. The declared JSON Schema is not compiled: it comes from whoever paid, and a schema's `pattern`
 * is a regular expression an attacker chooses. `info` is checked against the spec's own shape instead.
 * @module
 */
import { type BazaarDeclaration, BazaarDeclarationSchema } from './info.js';
import type { BazaarReasonCode } from './reasons.js';

/**
 * Default largest declaration, in bytes of its JSON: the spec's examples take under 2 KiB.
 * @example
 * ```ts
 * checkBazaarDeclaration(entry, { maxBytes: BAZAAR_MAX_DECLARATION_BYTES });
 * ```
 */
export const BAZAAR_MAX_DECLARATION_BYTES = 16_384;

/**
 * What {@link checkBazaarDeclaration} answers: the declaration and its size, or why it is refused.
 * @example
 * ```ts
 * const checked: BazaarCheck = checkBazaarDeclaration(entry);
 * ```
 */
export type BazaarCheck =
  | { readonly ok: true; readonly declaration: BazaarDeclaration; readonly bytes: number }
  | { readonly ok: false; readonly reason: BazaarReasonCode; readonly message: string };

const encoder = new TextEncoder();

/**
 * Checks an `extensions.bazaar` entry. An invalid `routeTemplate` is dropped rather than refused, as the spec says:
 * the concrete path is listed instead.
 * @example
 * ```ts
 * const checked = checkBazaarDeclaration(challenge.extensions?.bazaar);
 * if (!checked.ok) console.log(checked.reason); // e.g. 'bazaar_declaration_too_large'
 * ```
 */
export function checkBazaarDeclaration(
  entry: unknown,
  { maxBytes = BAZAAR_MAX_DECLARATION_BYTES }: { maxBytes?: number } = {},
): BazaarCheck {
  let text: string | undefined;
  try {
    text = JSON.stringify(entry);
  } catch {
    text = undefined;
  }
  if (text === undefined)
    return refuse('bazaar_declaration_malformed', 'the declaration is not JSON');
  const bytes = encoder.encode(text).length;
  // Measured before parsing, so an oversized entry costs no parse.
  if (bytes > maxBytes)
    return refuse(
      'bazaar_declaration_too_large',
      `the declaration takes ${bytes} bytes; at most ${maxBytes} are accepted`,
    );
  const parsed = BazaarDeclarationSchema.safeParse(entry);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `.${issue.path.join('.')}` : '';
    return refuse(
      'bazaar_declaration_malformed',
      `extensions.bazaar${where}: ${issue?.message ?? 'invalid'}`,
    );
  }
  if (refersOutside(parsed.data.schema))
    return refuse(
      'bazaar_schema_external_ref',
      'extensions.bazaar.schema: $ref and $id must start with #',
    );
  const { routeTemplate, ...rest } = parsed.data;
  const declaration =
    routeTemplate === undefined || isValidRouteTemplate(routeTemplate)
      ? parsed.data
      : (rest as BazaarDeclaration);
  return { ok: true, declaration, bytes };
}

/**
 * Whether a `routeTemplate` is safe to use as a catalog key: a path of URL-safe characters and `:param` names, with no
 * `..` and no `://` even once percent-decoded.
 * @example
 * ```ts
 * isValidRouteTemplate('/users/:id'); // true
 * isValidRouteTemplate('/users/%2e%2e/admin'); // false
 * ```
 */
export function isValidRouteTemplate(template: string): boolean {
  if (!/^\/[a-zA-Z0-9_/:.\-~%]+$/.test(template)) return false;
  let decoded: string;
  try {
    decoded = decodeURIComponent(template);
  } catch {
    return false;
  }
  return !decoded.includes('..') && !decoded.includes('://');
}

function refersOutside(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(refersOutside);
  if (node === null || typeof node !== 'object') return false;
  for (const [key, value] of Object.entries(node)) {
    if ((key === '$ref' || key === '$id') && !(typeof value === 'string' && value.startsWith('#')))
      return true;
    if (refersOutside(value)) return true;
  }
  return false;
}

function refuse(reason: BazaarReasonCode, message: string): BazaarCheck {
  return { ok: false, reason, message };
}
