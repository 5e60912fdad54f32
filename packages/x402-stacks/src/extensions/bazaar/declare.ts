/**
 * Building a bazaar declaration from what a seller knows of its route: the method, an example of the query or body
 * and its JSON Schema, and an example of the answer and its schema. The result is the `{ info, schema }` entry the
 * 402 carries under `extensions.bazaar`, with `schema` describing `info` as the spec asks.
 * @module
 */
import type { BAZAAR_BODY_METHODS, BAZAAR_QUERY_METHODS } from './info.js';

/**
 * A route's declaration, in the seller's words.
 * @example
 * ```ts
 * const config: BazaarRouteConfig = {
 *   method: 'GET',
 *   input: { example: { city: 'Paris' }, schema: { properties: { city: { type: 'string' } }, required: ['city'] } },
 *   output: { example: { temperature: 21 } },
 * };
 * ```
 */
export type BazaarRouteConfig = {
  /** Default: `POST` when `bodyType` is given, else `GET`. */
  method?: (typeof BAZAAR_QUERY_METHODS)[number] | (typeof BAZAAR_BODY_METHODS)[number];
  /** For POST, PUT and PATCH: how the body is encoded. */
  bodyType?: 'json' | 'form-data' | 'text';
  /** An example of the query parameters (query methods) or of the body (body methods), and its JSON Schema. */
  input?: { example?: Record<string, unknown>; schema?: Record<string, unknown> };
  /** Example header values the call needs. */
  headers?: Record<string, string>;
  /** What the route answers: `type` (default `'json'`), an example, and its JSON Schema. */
  output?: { type?: string; example?: unknown; schema?: Record<string, unknown> };
};

const DRAFT_2020_12 = 'https://json-schema.org/draft/2020-12/schema';

/**
 * Builds the `extensions.bazaar` entry for a route.
 * @example
 * ```ts
 * const bazaar = declareBazaar({ method: 'GET', input: { example: { city: 'Paris' } }, output: { example: { t: 21 } } });
 * // { info: { input: { type: 'http', method: 'GET', queryParams: { city: 'Paris' } }, output: … }, schema: … }
 * ```
 */
export function declareBazaar(config: BazaarRouteConfig): {
  info: Record<string, unknown>;
  schema: Record<string, unknown>;
} {
  const isBody = config.bodyType !== undefined;
  const method = config.method ?? (isBody ? 'POST' : 'GET');
  const example = config.input?.example ?? {};
  const inputSchema = { type: 'object', ...config.input?.schema };
  const input = {
    type: 'http',
    method,
    ...(isBody ? { bodyType: config.bodyType, body: example } : { queryParams: example }),
    ...(config.headers ? { headers: config.headers } : {}),
  };
  const output = config.output
    ? {
        type: config.output.type ?? 'json',
        ...(config.output.example === undefined ? {} : { example: config.output.example }),
      }
    : undefined;
  const inputProperties = {
    type: { type: 'string', const: 'http' },
    method: { type: 'string', enum: [method] },
    ...(isBody
      ? {
          bodyType: { type: 'string', enum: [config.bodyType] },
          body: inputSchema,
        }
      : { queryParams: inputSchema }),
    ...(config.headers
      ? { headers: { type: 'object', additionalProperties: { type: 'string' } } }
      : {}),
  };
  return {
    info: { input, ...(output ? { output } : {}) },
    schema: {
      $schema: DRAFT_2020_12,
      type: 'object',
      properties: {
        input: {
          type: 'object',
          properties: inputProperties,
          required: isBody ? ['type', 'method', 'bodyType', 'body'] : ['type', 'method'],
          additionalProperties: false,
        },
        ...(output
          ? {
              output: {
                type: 'object',
                properties: {
                  type: { type: 'string' },
                  ...(config.output?.schema ? { example: config.output.schema } : {}),
                },
                required: ['type'],
              },
            }
          : {}),
      },
      required: ['input'],
    },
  };
}
