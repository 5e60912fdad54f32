/**
 * What validation can say about a seller's endpoint: stable snake_case codes as values, each finding with a fix hint.
 * The five documented registration errors are a subset; the finer codes add detail without replacing them.
 * @module
 */

/**
 * The five errors the x402scan documentation promises. When any of them applies, the response's `error` is one of
 * these and nothing else.
 * @example
 * ```ts
 * DOCUMENTED_ERRORS.includes('invalid_url'); // true
 * ```
 */
export const DOCUMENTED_ERRORS = [
  'invalid_url',
  'invalid_network',
  'missing_output_schema',
  'empty_accepts',
  'invalid_name',
] as const;

/**
 * One of the five documented registration errors.
 * @example
 * ```ts
 * const error: DocumentedError = 'missing_output_schema';
 * ```
 */
export type DocumentedError = (typeof DOCUMENTED_ERRORS)[number];

/**
 * Every finding code, with its severity. Errors refuse the registration; warnings are shown and stored.
 * @example
 * ```ts
 * FINDING_CODES.paywall_unverified; // 'warning'
 * ```
 */
export const FINDING_CODES = {
  invalid_url: 'error',
  fetch_failed: 'error',
  invalid_status: 'error',
  invalid_json: 'error',
  invalid_version: 'error',
  invalid_name: 'error',
  empty_accepts: 'error',
  invalid_network: 'error',
  missing_output_schema: 'error',
  invalid_scheme: 'error',
  invalid_amount: 'error',
  invalid_pay_to: 'error',
  invalid_asset: 'error',
  paywall_unverified: 'warning',
  non_stacks_dropped: 'warning',
  resource_mismatch: 'warning',
  invalid_field: 'warning',
  missing_output: 'warning',
  invalid_image: 'warning',
  invalid_bazaar: 'warning',
} as const satisfies Record<string, 'error' | 'warning'>;

/**
 * A finding code: a key of {@link FINDING_CODES}, which gives its severity.
 * @example
 * ```ts
 * const code: FindingCode = 'paywall_unverified';
 * FINDING_CODES[code]; // 'warning'
 * ```
 */
export type FindingCode = keyof typeof FINDING_CODES;

/**
 * One thing validation noticed, with where it is and how the seller fixes it.
 * @example
 * ```ts
 * const fixes = validation.findings.filter((f: Finding) => f.severity === 'error').map((f) => f.fix);
 * ```
 */
export type Finding = {
  readonly code: FindingCode;
  readonly severity: 'error' | 'warning';
  /** A finer reason inside the code, e.g. `ssrf_blocked` under `invalid_url`. */
  readonly detail?: string;
  /** Where in the seller's document, e.g. `accepts[0].payTo`. */
  readonly path?: string;
  readonly message: string;
  /** What the seller should change. */
  readonly fix: string;
};

/**
 * Builds a finding; the severity comes from the code, so it can never disagree with {@link FINDING_CODES}.
 * @example
 * ```ts
 * finding('invalid_name', { path: 'name', message: 'name is empty', fix: 'Set a non-empty "name".' });
 * ```
 */
export function finding(
  code: FindingCode,
  fields: { message: string; fix: string; path?: string; detail?: string },
): Finding {
  return {
    code,
    severity: FINDING_CODES[code],
    ...(fields.detail === undefined ? {} : { detail: fields.detail }),
    ...(fields.path === undefined ? {} : { path: fields.path }),
    message: fields.message,
    fix: fields.fix,
  };
}

/**
 * The response's `error`: the first documented error among the findings (they arrive in check order), else the
 * first other error, else undefined when nothing refuses the registration.
 * @example
 * ```ts
 * primaryError([finding('invalid_amount', …), finding('invalid_network', …)]); // 'invalid_network'
 * ```
 */
export function primaryError(findings: readonly Finding[]): FindingCode | undefined {
  const errors = findings.filter((f) => f.severity === 'error');
  const documented = errors.find((f) => (DOCUMENTED_ERRORS as readonly string[]).includes(f.code));
  return (documented ?? errors[0])?.code;
}
