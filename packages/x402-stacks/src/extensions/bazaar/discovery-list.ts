/**
 * The facilitator's discovery list, `GET /discovery/resources`: its query (filters and offset pagination) and its
 * answer (`{ x402Version, items, pagination }`), as upstream's bazaar client calls and reads it. The registry reads a
 * facilitator's list with the same schemas.
 * @module
 */
import { z } from 'zod';

/**
 * Most items one page may hold. A query asking for more is refused, so a client that pages through everything asks for
 * this many.
 * @example
 * ```ts
 * const { items } = await (await fetch(`${facilitatorUrl}/discovery/resources?limit=${DISCOVERY_MAX_LIMIT}`)).json();
 * ```
 */
export const DISCOVERY_MAX_LIMIT = 100;

const filter = (max: number) => z.string().min(1).max(max).optional();
const count = (fallback: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,7}$/, 'expected a non-negative integer')
    .transform(Number)
    .pipe(z.int().min(0).max(max))
    .optional()
    .transform((value) => value ?? fallback);

/**
 * The query of `GET /discovery/resources`, from its query-string values. `limit` is 1 to 100 (default 20).
 * @example
 * ```ts
 * DiscoveryListQuerySchema.parse({ type: 'http', limit: '10', offset: '20' });
 * ```
 */
export const DiscoveryListQuerySchema = z.strictObject({
  type: z.enum(['http', 'mcp']).optional(),
  payTo: filter(200),
  network: filter(64),
  scheme: filter(32),
  extensions: filter(64),
  limit: count(20, DISCOVERY_MAX_LIMIT).pipe(z.int().min(1)),
  offset: count(0, 1_000_000),
});

/**
 * A discovery list query, parsed.
 * @example
 * ```ts
 * const query: DiscoveryListQuery = { limit: 20, offset: 0, type: 'http' };
 * ```
 */
export type DiscoveryListQuery = z.output<typeof DiscoveryListQuerySchema>;

/**
 * One listed resource.
 * @example
 * ```ts
 * DiscoveryResourceSchema.parse({ resource: 'https://api.example/w', type: 'http', x402Version: 2, accepts: [], lastUpdated: '2026-01-01T00:00:00.000Z' });
 * ```
 */
export const DiscoveryResourceSchema = z.looseObject({
  resource: z.string().min(1),
  type: z.string().min(1),
  x402Version: z.number(),
  accepts: z.array(z.record(z.string(), z.unknown())),
  lastUpdated: z.string(),
  description: z.string().optional(),
  mimeType: z.string().optional(),
  serviceName: z.string().optional(),
  tags: z.array(z.string()).optional(),
  extensions: z.record(z.string(), z.unknown()).optional(),
});

/**
 * One listed resource, parsed.
 * @example
 * ```ts
 * const item: DiscoveryResource = { resource, type: 'http', x402Version: 2, accepts, lastUpdated };
 * ```
 */
export type DiscoveryResource = z.infer<typeof DiscoveryResourceSchema>;

/**
 * The answer of `GET /discovery/resources`.
 * @example
 * ```ts
 * const page = DiscoveryListResponseSchema.parse(await (await fetch(`${url}/discovery/resources`)).json());
 * ```
 */
export const DiscoveryListResponseSchema = z.looseObject({
  x402Version: z.number(),
  items: z.array(DiscoveryResourceSchema),
  pagination: z.looseObject({
    limit: z.int().nonnegative(),
    offset: z.int().nonnegative(),
    total: z.int().nonnegative(),
  }),
});

/**
 * The discovery list's answer, parsed.
 * @example
 * ```ts
 * const page: DiscoveryListResponse = { x402Version: 2, items: [], pagination: { limit: 20, offset: 0, total: 0 } };
 * ```
 */
export type DiscoveryListResponse = z.infer<typeof DiscoveryListResponseSchema>;
