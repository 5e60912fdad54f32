/**
 * The registry's HTTP app: the JSON API, the Bazaar-shaped discovery route, and the server-rendered directory.
 * Every request gets an id (echoed in `x-request-id`) and one JSON log line; registration and validation are rate
 * limited per client address.
 * @module
 */
import { getConnInfo } from '@hono/node-server/conninfo';
import {
  callerKey,
  forwardedClientAddress,
  trustedProxiesOption,
} from '@x402-stacks/service-runtime';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { requestId } from 'hono/request-id';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { registerPage } from '../pages/register.js';
import type { Registry } from '../registry.js';
import type { RegistryStore } from '../store/store.js';
import { addApiRoutes } from './api.js';
import { addDiscoveryRoutes } from './discovery.js';
import type { AppEnv } from './env.js';
import { addPageRoutes } from './pages.js';
import { createRateLimiter } from './rate-limit.js';

// The type lives in env.ts, which the routes import without this module; it stays importable from here.
export type { AppEnv };

/**
 * What the app needs: the registration use case, the store it reads, a clock for rate limits, and a logger.
 * @example
 * ```ts
 * const options: RegistryAppOptions = { registry, store, clock: systemClock, logger: pino(), trustProxy: 1 };
 * const app = createRegistryApp(options);
 * ```
 */
export type RegistryAppOptions = {
  readonly registry: Registry;
  readonly store: RegistryStore;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Registrations plus validations per client address per hour. Default 30. */
  readonly rateLimitPerHour?: number;
  /**
   * The reverse proxies you run in front, which every request passes: the client address is then the
   * `X-Forwarded-For` entry the farthest of them wrote (each appends one), never the leftmost, which the client
   * writes. `true` is one proxy, a whole number up to 10 that many (any other throws a RangeError). Default false: the
   * socket's peer.
   */
  readonly trustProxy?: boolean | number;
};

/**
 * Builds the app.
 * @example
 * ```ts
 * const app = createRegistryApp({ registry, store, clock: systemClock, logger: pino() });
 * const response = await app.request('/api/v1/resources?q=weather');
 * ```
 */
export function createRegistryApp(options: RegistryAppOptions): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const trustedProxies = trustedProxiesOption(options.trustProxy);
  const limiter = createRateLimiter({
    perHour: options.rateLimitPerHour ?? 30,
    clock: options.clock,
  });

  app.use('*', requestId());
  app.use('*', async (c, next) => {
    const started = performance.now();
    const logger = options.logger.child({ requestId: c.get('requestId') });
    c.set('logger', logger);
    await next();
    logger.info(
      {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(performance.now() - started),
      },
      'request',
    );
  });
  app.use(
    '*',
    bodyLimit({
      maxSize: 16 * 1024,
      onError: (c) =>
        c.json({ error: 'body_too_large', message: 'the request body is over 16 KiB' }, 413),
    }),
  );

  const limited = async (c: Context<AppEnv>, next: () => Promise<void>) => {
    // An IPv6 client counts by its /64, the block its provider gives it.
    const verdict = limiter.take(callerKey(clientAddress(c, trustedProxies)));
    if (!verdict.allowed) {
      c.header('retry-after', String(verdict.retryAfterSeconds));
      if (c.req.path === '/register') {
        const problem = `Too many submissions from your address; try again in ${verdict.retryAfterSeconds} s.`;
        return c.html(registerPage({ problem }), 429);
      }
      return c.json(
        {
          error: 'rate_limited',
          message: `too many registrations from this address; retry in ${verdict.retryAfterSeconds} s`,
        },
        429,
      );
    }
    await next();
  };
  app.post('/api/v1/resources', limited);
  app.post('/api/v1/validate', limited);
  app.post('/register', limited);

  addApiRoutes(app, options);
  addDiscoveryRoutes(app, options);
  addPageRoutes(app, options);

  app.get('/health', async (c) => c.json({ status: 'ok', listings: await options.store.count() }));

  app.notFound((c) =>
    c.json({ error: 'not_found', message: `no route ${c.req.method} ${c.req.path}` }, 404),
  );
  app.onError((error, c) => {
    if (error instanceof HTTPException) return error.getResponse();
    c.get('logger')?.error({ err: error }, 'request failed');
    return c.json({ error: 'internal_error', message: 'the registry failed unexpectedly' }, 500);
  });
  return app;
}

/**
 * The socket's peer, or behind `trustedProxies` reverse proxies the entry of `X-Forwarded-For` the farthest of them
 * wrote (never the leftmost, which the client writes).
 */
function clientAddress(c: Context<AppEnv>, trustedProxies: number): string {
  let peer: string | undefined;
  try {
    peer = getConnInfo(c).remote.address;
  } catch {
    // In-process requests (app.request in tests) have no socket.
  }
  return forwardedClientAddress(c.req.header('x-forwarded-for'), peer, trustedProxies) ?? 'unknown';
}
