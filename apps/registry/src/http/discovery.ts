/**
 * GET /discovery/resources in the x402 v2 Bazaar shape, so existing discovery clients (`withBazaar(…)
 * .listResources()`) read the directory unchanged: `{x402Version: 2, items, pagination: {limit, offset, total}}`,
 * each item with v2 `accepts` and the listing's input and output as `extensions.bazaar.info`.
 * @module
 */
import type { Hono } from 'hono';
import { networkToCAIP2 } from 'x402-stacks';
import { isStacksNetwork } from 'x402-stacks/stacks';
import { z } from 'zod';
import type { RegistryStore } from '../store/store.js';
import type { StoredListing } from '../store/types.js';
import type { AppEnv } from './env.js';
import { iso } from './present.js';

const DiscoveryQuerySchema = z.object({
  type: z.enum(['http', 'mcp']).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  network: z.string().refine(isStacksNetwork, 'expected a Stacks network').optional(),
  payTo: z.string().max(200).optional(),
  scheme: z.string().optional(),
});

/** Adds the discovery route to an app. */
export function addDiscoveryRoutes(app: Hono<AppEnv>, deps: { store: RegistryStore }): void {
  app.get('/discovery/resources', async (c) => {
    const parsed = DiscoveryQuerySchema.safeParse(c.req.query());
    if (!parsed.success) {
      return c.json(
        {
          error: 'invalid_query',
          message: 'the query string has invalid parameters',
          details: parsed.error.issues.map((issue) => ({
            path: issue.path.join('.'),
            message: issue.message,
          })),
        },
        400,
      );
    }
    const { limit, offset, type, network, payTo, scheme } = parsed.data;
    // Every listing is an HTTP resource paid with the exact scheme; other filters match nothing.
    if ((type && type !== 'http') || (scheme && scheme !== 'exact')) {
      return c.json({ x402Version: 2, items: [], pagination: { limit, offset, total: 0 } });
    }
    const page = await deps.store.page(
      {
        ...(network ? { network: networkToCAIP2(network) } : {}),
        ...(payTo ? { payTo } : {}),
        statuses: ['active', 'degraded', 'pending'],
      },
      limit,
      offset,
    );
    return c.json({
      x402Version: 2,
      items: page.items.map(discoveryItem),
      pagination: { limit, offset, total: page.total },
    });
  });
}

/**
 * One listing as a Bazaar discovery item.
 * @example
 * ```ts
 * discoveryItem(await store.get(id)).accepts[0].network; // 'stacks:1'
 * ```
 */
export function discoveryItem(entry: StoredListing) {
  const { listing } = entry;
  return {
    resource: listing.url,
    type: 'http',
    x402Version: 2,
    accepts: listing.accepts.map((accept) => ({
      scheme: accept.scheme,
      network: accept.network,
      amount: accept.amount,
      asset: accept.asset,
      payTo: accept.payTo,
      maxTimeoutSeconds: accept.maxTimeoutSeconds ?? 300,
      extra: {},
    })),
    lastUpdated: iso(entry.updatedAt),
    description: listing.description,
    ...(listing.mimeType ? { mimeType: listing.mimeType } : {}),
    ...(isBazaarServiceName(listing.name) ? { serviceName: listing.name } : {}),
    ...(listing.image ? { iconUrl: listing.image } : {}),
    extensions: {
      bazaar: {
        info: {
          input: listing.input,
          ...(listing.output === null ? {} : { output: listing.output }),
        },
        ...(listing.schema ? { schema: listing.schema } : {}),
      },
    },
    metadata: { registryId: entry.id, status: entry.status },
  };
}

// The Bazaar limits serviceName to 32 printable ASCII characters; a longer name is left out, not cut.
function isBazaarServiceName(name: string): boolean {
  return name.length <= 32 && /^[\x20-\x7e]+$/.test(name);
}
