/**
 * The directory's page routes: the list with search, a listing's page, and the registration form.
 * @module
 */
import type { Hono } from 'hono';
import type { Clock } from '../clock.js';
import { detailPage } from '../pages/detail.js';
import { directoryPage } from '../pages/directory.js';
import { registerPage } from '../pages/register.js';
import type { Registration, Registry } from '../registry.js';
import type { RegistryStore } from '../store/store.js';
import { RegistrationRequestSchema } from './api.js';
import type { AppEnv } from './env.js';
import { parseSearchQuery } from './query.js';

const PAGE_POLICY =
  "default-src 'none'; style-src 'unsafe-inline'; img-src https:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/** Adds the page routes to an app. */
export function addPageRoutes(
  app: Hono<AppEnv>,
  deps: { registry: Registry; store: RegistryStore; clock: Clock },
): void {
  // The pages run no script at all; the policy says so, so even a missed escape could not execute anything.
  for (const path of ['/', '/resources/*', '/register']) {
    app.use(path, async (c, next) => {
      await next();
      c.header('content-security-policy', PAGE_POLICY);
      c.header('x-content-type-options', 'nosniff');
      c.header('referrer-policy', 'no-referrer');
    });
  }

  app.get('/', async (c) => {
    const params = c.req.query();
    const parsed = parseSearchQuery(params);
    if ('problems' in parsed) {
      return c.html(
        directoryPage({ params, items: [], total: 0, nextCursor: null, problems: parsed.problems }),
        400,
      );
    }
    const page = await deps.store.search(parsed.query);
    return c.html(directoryPage({ params, ...page, problems: [] }));
  });

  app.get('/resources/:id', async (c) => {
    const id = c.req.param('id');
    const entry = await deps.store.get(id);
    if (!entry)
      return c.html(registerPage({ problem: 'No listing with this id. Register it?' }), 404);
    const now = deps.clock.now();
    const [versions, checks, uptime] = await Promise.all([
      deps.store.versions(id),
      deps.store.checks(id, 20),
      deps.store.uptime(id, now),
    ]);
    return c.html(detailPage({ entry, versions, checks, uptime, now }));
  });

  app.get('/register', (c) => c.html(registerPage({})));

  app.post('/register', async (c) => {
    const form = await c.req.parseBody();
    const url = typeof form.url === 'string' ? form.url.trim() : '';
    const method = typeof form.method === 'string' && form.method !== '' ? form.method : undefined;
    const action = form.action === 'validate' ? 'validate' : 'register';
    const parsed = RegistrationRequestSchema.safeParse({ url, ...(method ? { method } : {}) });
    if (!parsed.success) {
      return c.html(
        registerPage({ url, ...(method ? { method } : {}), problem: 'Enter the endpoint’s URL.' }),
        400,
      );
    }
    const result: Registration =
      action === 'validate'
        ? await deps.registry.validate(parsed.data)
        : await deps.registry.register(parsed.data);
    const stored = result.stored;
    return c.html(
      registerPage({
        url,
        ...(method ? { method } : {}),
        result: {
          action,
          valid: result.valid,
          ...(result.error ? { error: result.error } : {}),
          findings: result.findings,
          ...(stored ? { listingId: stored.id, created: result.created === true } : {}),
        },
      }),
      result.valid ? 200 : 400,
    );
  });
}
