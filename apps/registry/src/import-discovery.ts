/**
 * Importing listings from a facilitator's bazaar discovery list (`GET /discovery/resources`). The list is only a
 * lead: each resource it names is registered like any submission, so it is fetched through the safe probe, validated,
 * and listed only when its own live 402 passes. The list is read through the same probe (SSRF checks, size caps),
 * validated with the discovery list's schema, and bounded in pages and resources.
 * @module
 */
import {
  checkBazaarDeclaration,
  DiscoveryListResponseSchema,
  methodOf,
} from 'x402-stacks/extensions';
import type { Fetcher } from './probe/fetcher.js';
import type { Registry } from './registry.js';

/**
 * What an import did, per resource.
 * @example
 * ```ts
 * const report: DiscoveryImport = { read: 2, listed: ['https://api.example/w'], refused: [] };
 * ```
 */
export type DiscoveryImport = {
  /** Resources the list named (after the bound). */
  readonly read: number;
  readonly listed: readonly string[];
  readonly refused: readonly { readonly resource: string; readonly reason: string }[];
};

/**
 * The import could not read the list at all; `reason` is stable, so a caller can branch on it.
 * @example
 * ```ts
 * try { await importDiscoveryList(registry, fetcher, facilitatorUrl); } catch (error) {
 *   if (error instanceof DiscoveryImportError) console.error(error.reason); // e.g. 'discovery_unreachable'
 * }
 * ```
 */
export class DiscoveryImportError extends Error {
  override name = 'DiscoveryImportError';
  constructor(
    readonly reason: 'invalid_facilitator_url' | 'discovery_unreachable' | 'invalid_discovery_list',
    message: string,
  ) {
    super(message);
  }
}

const PAGE_SIZE = 50;

/**
 * Reads up to `maxResources` HTTP resources from a facilitator's discovery list and registers each. Once `signal`
 * aborts (the registry is stopping) it reads and registers nothing more, and reports what it did so far.
 * @throws {DiscoveryImportError} when the list cannot be read or is not a discovery list.
 * @example
 * ```ts
 * const report = await importDiscoveryList(registry, fetcher, 'https://facilitator.example', { maxResources: 50 });
 * ```
 */
export async function importDiscoveryList(
  registry: Pick<Registry, 'register'>,
  fetcher: Fetcher,
  facilitatorUrl: string,
  { maxResources = 100, signal }: { maxResources?: number; signal?: AbortSignal } = {},
): Promise<DiscoveryImport> {
  let base: URL;
  try {
    base = new URL(facilitatorUrl);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new DiscoveryImportError(
      'invalid_facilitator_url',
      'the facilitator URL must be an absolute http(s) URL',
    );
  }
  const leads: { resource: string; method: string }[] = [];
  const seen = new Set<string>();
  for (let offset = 0; leads.length < maxResources && !signal?.aborted; offset += PAGE_SIZE) {
    const page = await readPage(fetcher, base, offset);
    for (const item of page.items) {
      if (leads.length >= maxResources) break;
      if (item.type !== 'http') continue;
      const declaration = checkBazaarDeclaration(item.extensions?.bazaar);
      const method = (declaration.ok && methodOf(declaration.declaration.info)) || 'GET';
      const key = `${method} ${item.resource}`;
      if (seen.has(key)) continue;
      seen.add(key);
      leads.push({ resource: item.resource, method });
    }
    if (page.items.length === 0 || offset + PAGE_SIZE >= page.pagination.total) break;
  }
  const listed: string[] = [];
  const refused: { resource: string; reason: string }[] = [];
  for (const { resource, method } of leads) {
    if (signal?.aborted) break;
    // A route template (`/users/:id`) names no callable URL: there is nothing to probe.
    if (/\/:[A-Za-z_]/.test(new URL(resource, base).pathname)) {
      refused.push({ resource, reason: 'route_template' });
      continue;
    }
    const registration = await registry.register({ url: resource, method });
    if (registration.stored) listed.push(resource);
    else
      refused.push({
        resource,
        reason: registration.findings.find((f) => f.severity === 'error')?.code ?? 'not_listed',
      });
  }
  return { read: leads.length, listed, refused };
}

async function readPage(fetcher: Fetcher, base: URL, offset: number) {
  const url = new URL('discovery/resources', base.href.endsWith('/') ? base : `${base.href}/`);
  url.searchParams.set('type', 'http');
  url.searchParams.set('limit', String(PAGE_SIZE));
  url.searchParams.set('offset', String(offset));
  let body: Buffer;
  try {
    const response = await fetcher({ url: url.href, method: 'GET' });
    if (response.status !== 200) throw new Error(`status ${response.status}`);
    body = response.body;
  } catch (error) {
    throw new DiscoveryImportError(
      'discovery_unreachable',
      `the discovery list could not be read: ${error instanceof Error ? error.message.split('\n')[0] : error}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    json = undefined;
  }
  const parsed = DiscoveryListResponseSchema.safeParse(json);
  if (!parsed.success)
    throw new DiscoveryImportError(
      'invalid_discovery_list',
      'the answer is not a discovery list ({ x402Version, items, pagination })',
    );
  return parsed.data;
}
