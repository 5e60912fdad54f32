/**
 * The JSON API: registration, the dry run, search and a listing's detail, under /api/v1.
 * @module
 */
import type { Hono } from 'hono';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { Registry } from '../registry.js';
import type { RegistryStore } from '../store/store.js';
import type { AppEnv } from './env.js';
import { iso, presentListing } from './present.js';
import { parseSearchQuery } from './query.js';

/** The body of a registration or a dry run. */
export const RegistrationRequestSchema = z.object({
  url: z.string().min(1).max(2048),
  method: z
    .string()
    .regex(/^[A-Za-z]{3,7}$/, 'expected an HTTP method such as GET or POST')
    .transform((m) => m.toUpperCase())
    .optional(),
});

/** Adds the /api/v1 routes to an app. */
export function addApiRoutes(
  app: Hono<AppEnv>,
  deps: { registry: Registry; store: RegistryStore; clock: Clock },
): void {
  app.post('/api/v1/resources', async (c) => {
    const body = await readRegistrationRequest(c.req.raw);
    if ('problems' in body) return c.json(invalidRequest(body.problems), 400);
    const result = await deps.registry.register(body.request);
    c.get('logger').info(
      { url: result.listing?.url, valid: result.valid, error: result.error },
      'registration',
    );
    if (!result.stored) {
      const first = result.findings.find((f) => f.severity === 'error');
      return c.json(
        {
          error: result.error,
          message: first?.message ?? 'the endpoint did not validate',
          findings: result.findings,
        },
        400,
      );
    }
    return c.json(
      {
        id: result.stored.id,
        status: result.stored.status,
        created: result.created,
        listing: presentListing(result.stored),
        findings: result.findings,
      },
      result.created ? 201 : 200,
    );
  });

  app.post('/api/v1/validate', async (c) => {
    const body = await readRegistrationRequest(c.req.raw);
    if ('problems' in body) return c.json(invalidRequest(body.problems), 400);
    const result = await deps.registry.validate(body.request);
    return c.json({
      valid: result.valid,
      ...(result.error ? { error: result.error } : {}),
      findings: result.findings,
      ...(result.listing ? { listing: result.listing } : {}),
    });
  });

  app.get('/api/v1/resources', async (c) => {
    const parsed = parseSearchQuery(c.req.query());
    if ('problems' in parsed)
      return c.json(
        {
          error: 'invalid_query',
          message: 'the query string has invalid parameters',
          details: parsed.problems,
        },
        400,
      );
    const page = await deps.store.search(parsed.query);
    return c.json({
      items: page.items.map(presentListing),
      nextCursor: page.nextCursor,
      total: page.total,
    });
  });

  app.get('/api/v1/resources/:id', async (c) => {
    const id = c.req.param('id');
    const entry = await deps.store.get(id);
    if (!entry) return c.json({ error: 'not_found', message: 'no listing with this id' }, 404);
    const now = deps.clock.now();
    const [versions, checks, uptime] = await Promise.all([
      deps.store.versions(id),
      deps.store.checks(id),
      deps.store.uptime(id, now),
    ]);
    return c.json({
      ...presentListing(entry),
      input: entry.listing.input,
      output: entry.listing.output,
      schema: entry.listing.schema ?? null,
      mimeType: entry.listing.mimeType,
      findings: entry.findings,
      uptime: { '24h': ratio(uptime.day), '7d': ratio(uptime.week) },
      versions: versions.map((v) => ({ ...v, recordedAt: iso(v.recordedAt) })),
      checks: checks.map((check) => ({ ...check, checkedAt: iso(check.checkedAt) })),
    });
  });
}

function ratio(uptime: { ok: number; total: number }) {
  return { ...uptime, ratio: uptime.total === 0 ? null : uptime.ok / uptime.total };
}

async function readRegistrationRequest(
  request: Request,
): Promise<
  | { request: z.output<typeof RegistrationRequestSchema> }
  | { problems: { path: string; message: string }[] }
> {
  let json: unknown;
  try {
    json = await request.json();
  } catch {
    return { problems: [{ path: '', message: 'the body is not JSON' }] };
  }
  const parsed = RegistrationRequestSchema.safeParse(json);
  if (!parsed.success) {
    return {
      problems: parsed.error.issues.map((issue) => ({
        path: issue.path.join('.'),
        message: issue.message,
      })),
    };
  }
  return { request: parsed.data };
}

/** The 400 for a body that is not `{url, method?}`; registration and the dry run take the same body. */
function invalidRequest(problems: unknown) {
  return {
    error: 'invalid_request',
    message: 'the body must be {"url": "https://…", "method"?: "GET"}',
    details: problems,
  };
}
