/**
 * The facilitator's HTTP routes over the engine: the x402 v2 JSON, with one status mapping. A business failure is 200
 * with `isValid: false` / `success: false`; a body that is not JSON or not the schema is 400 `{error, details}`; a
 * chain that cannot be reached is 503.
 * @module
 */

import { timingSafeEqual } from 'node:crypto';
import { trustedProxiesOption } from '@x402-stacks/service-runtime';
import { Hono } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import { type Logger, pino } from 'pino';
import { ChainRequestError } from 'x402-stacks/chain';
import { DiscoveryListQuerySchema } from 'x402-stacks/extensions';
import { type ChainHealth, type Facilitator, parseVerifyRequest } from 'x402-stacks/facilitator';
import { DEFAULT_MAX_BODY_BYTES, readBody, statusOf } from './body.js';
import { createChainHealthProbe } from './http/chain-health-probe.js';
import { clientAddressResolver } from './http/client-address.js';
import { hangUpSignal } from './http/hang-up.js';
import { rateLimit } from './http/rate-limit.js';
import { logSettle, type RequestLogVariables, requestLog } from './http/request-log.js';
import { stoppingGate } from './http/stopping-gate.js';
import { createMetrics, type FacilitatorMetrics, watchSponsors, withMetrics } from './metrics.js';
import { addV1Routes } from './v1.js';

/**
 * How the HTTP app serves an engine: body size, metrics, API keys, CORS, rate limit, proxies, logging, how often
 * `/health` reads the chain, and refusals while stopping. Only `facilitator` is required; the rest have defaults.
 * @example
 * ```ts
 * const options: FacilitatorAppOptions = { facilitator, apiKeys: ['a-long-random-key'], rateLimitPerMinute: 600 };
 * const app = createFacilitatorApp(options);
 * ```
 */
export type FacilitatorAppOptions = {
  facilitator: Facilitator;
  /** Largest request body, in bytes. Default 64 KiB: a payment is under 2 KiB. */
  maxBodyBytes?: number;
  /** Default: a fresh registry with Node's default metrics. */
  metrics?: FacilitatorMetrics;
  /**
   * When non-empty, `/verify`, `/settle` and the v1 routes require `Authorization: Bearer <key>` with one of these.
   * `/supported`, `/health`, `/settlements/:txid` and `/metrics` stay open.
   */
  apiKeys?: readonly string[];
  /** Origins allowed by CORS (`*` for any). Default: none, no CORS headers. */
  corsOrigins?: readonly string[];
  /**
   * Requests a minute per client address, on every route but `/health` and `/metrics`; past it, 429 with
   * `Retry-After`. Default 0: no limit.
   */
  rateLimitPerMinute?: number;
  /**
   * The reverse proxies you run in front, which every request passes: the client address is then the
   * `X-Forwarded-For` entry the farthest of them wrote (each appends one), never the leftmost, which the client
   * writes. `true` is one proxy, a whole number up to 10 that many (any other throws a RangeError). Default false: the
   * socket's peer.
   */
  trustProxy?: boolean | number;
  /** JSON logs, one line per request with its id. Default: silent. */
  logger?: Logger;
  /**
   * `/health` reads the chain at most once per this many milliseconds, whatever the number of calls, and answers from
   * a probe started at most twice this long ago. Default 5 000.
   */
  healthRefreshMs?: number;
  /**
   * Whether the service is stopping: while it is, a new request is refused 503 `service_stopping` with `Retry-After`,
   * and every answer closes its connection (`http/stopping-gate.ts`). Default: never.
   */
  isStopping?: () => boolean;
};

/**
 * The facilitator's Hono app; its handlers see `requestId`, and `log` (a line with that id), as context variables.
 * @example
 * ```ts
 * const app: FacilitatorApp = createFacilitatorApp({ facilitator });
 * serve({ fetch: app.fetch, port: 8085 });
 * ```
 */
export type FacilitatorApp = Hono<{ Variables: RequestLogVariables }>;

/**
 * Builds the HTTP app.
 * @example
 * ```ts
 * const app = createFacilitatorApp({ facilitator: createFacilitator({ networks: { testnet: {} } }) });
 * const response = await app.request('/supported');
 * ```
 */
export function createFacilitatorApp(options: FacilitatorAppOptions): FacilitatorApp {
  const { facilitator } = options;
  const metrics = options.metrics ?? createMetrics();
  const logger = options.logger ?? pino({ level: 'silent' });
  const clientAddress = clientAddressResolver({
    trustedProxies: trustedProxiesOption(options.trustProxy),
  });
  const app = new Hono<{ Variables: RequestLogVariables }>();
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  app.use('*', requestLog({ logger, clientAddress }));
  if (options.corsOrigins && options.corsOrigins.length > 0) {
    const origins = [...options.corsOrigins];
    app.use(
      '*',
      cors({
        origin: origins.includes('*') ? '*' : origins,
        allowHeaders: ['authorization', 'content-type'],
      }),
    );
  }
  // After CORS, so a browser can read the refusal; before the rate limit, so a stopping service sends every client
  // elsewhere, on a closed connection, whatever its count.
  if (options.isStopping) app.use('*', stoppingGate(options.isStopping));
  if (options.rateLimitPerMinute && options.rateLimitPerMinute > 0) {
    const limit = rateLimit({ requestsPerMinute: options.rateLimitPerMinute, clientAddress });
    app.use('*', (c, next) =>
      c.req.path === '/health' || c.req.path === '/metrics' ? next() : limit(c, next),
    );
  }

  const keys = options.apiKeys ?? [];
  if (keys.length > 0) {
    const guard = bearerAuth({
      verifyToken: (token) => keys.some((key) => safeEqual(key, token)),
      noAuthenticationHeaderMessage: { error: 'unauthorized', details: 'an API key is required' },
      invalidTokenMessage: { error: 'unauthorized', details: 'the API key is not valid' },
      invalidAuthenticationHeaderMessage: {
        error: 'unauthorized',
        details: 'use Authorization: Bearer <key>',
      },
    });
    for (const path of ['/verify', '/settle', '/api/v1/verify', '/api/v1/settle'])
      app.use(path, guard);
  }

  // Every verify and settle, v2 or v1, goes through the measured engine.
  const measured = withMetrics(options.facilitator, metrics);
  watchSponsors(metrics, facilitator);

  // The body is checked against the v2 schema here, once: the engine takes the values this parse registered as they
  // are (`parseVerifyRequest`), and checks anything else itself. /settle's body has the same shape.
  const paymentRequest = { safeParse: parseVerifyRequest };
  app.post('/verify', async (c) => {
    const body = await readBody(c, paymentRequest, maxBodyBytes);
    if ('error' in body) return c.json(body, statusOf(body));
    return c.json(await measured.verify(body.data.paymentPayload, body.data.paymentRequirements));
  });

  app.post('/settle', async (c) => {
    const body = await readBody(c, paymentRequest, maxBodyBytes);
    if ('error' in body) return c.json(body, statusOf(body));
    // The request's signal aborts when the seller hangs up (its settle timed out): a success it would never receive
    // stays claimable by its retry.
    const settled = await measured.settle(body.data.paymentPayload, body.data.paymentRequirements, {
      signal: hangUpSignal(c),
    });
    logSettle(c.get('log'), settled);
    return c.json(settled);
  });

  app.get('/settlements/:txid', async (c) => {
    const txid = c.req.param('txid');
    // Only a txid's shape reaches the ledger: anything else is a named refusal, never a database error.
    if (!/^(0x)?[0-9a-fA-F]{64}$/.test(txid)) {
      return c.json(
        { error: 'invalid_txid', details: 'a txid is 64 hex characters, with or without 0x' },
        400,
      );
    }
    const status = await facilitator.status(txid);
    if (!status)
      return c.json({ error: 'not_found', details: 'no settlement with this txid' }, 404);
    return c.json(status);
  });

  app.get('/supported', (c) => c.json(facilitator.supported()));

  // The bazaar discovery list: declarations recorded from settled payments, filtered and paged as upstream asks.
  app.get('/discovery/resources', async (c) => {
    const query = DiscoveryListQuerySchema.safeParse(c.req.query());
    if (!query.success) {
      const issue = query.error.issues[0];
      const details = `${issue?.path.join('.') || 'query'}: ${issue?.message ?? 'invalid'}`;
      return c.json({ error: 'invalid_discovery_query', details }, 400);
    }
    return c.json(await facilitator.discoveryResources(query.data));
  });

  app.get('/metrics', async (c) => {
    c.header('content-type', metrics.registry.contentType);
    return c.body(await metrics.registry.metrics());
  });

  addV1Routes(app, measured, maxBodyBytes);

  const chainHealth = createChainHealthProbe({
    probe: () => facilitator.chainHealth(),
    networks: probedNetworks(facilitator),
    ...(options.healthRefreshMs === undefined ? {} : { refreshMs: options.healthRefreshMs }),
  });
  app.get('/health', async (c) => {
    const networks = await chainHealth.read();
    const healthy = networks.every((network) => network.reachable);
    const sponsors = facilitator.sponsorHealth();
    // A low sponsor key stops sponsored payments only; unsponsored ones are still served, so this is not a 503.
    const status = !healthy ? 'unavailable' : sponsors.some((s) => s.low) ? 'degraded' : 'ok';
    return c.json(
      { status, networks, ...(sponsors.length > 0 ? { sponsors } : {}) },
      healthy ? 200 : 503,
    );
  });

  app.notFound((c) =>
    c.json({ error: 'not_found', details: `no route ${c.req.method} ${c.req.path}` }, 404),
  );

  app.onError((error, c) => {
    // Middleware answers (401 from the API key check) are responses, not failures.
    if (error instanceof HTTPException) return error.getResponse();
    if (error instanceof ChainRequestError) {
      c.get('log')?.('warn', { reason: error.reason }, error.shortMessage);
      return c.json({ error: error.reason, details: error.shortMessage }, 503);
    }
    c.get('log')?.('error', { err: error }, 'unexpected failure');
    // Whatever else went wrong, say so without leaking internals (or keys) into the response.
    return c.json({ error: 'internal_error', details: 'the facilitator failed unexpectedly' }, 500);
  });

  return app;
}

/** The networks `chainHealth()` reports on: those of the v2 kinds (v1 kinds name the same networks differently). */
function probedNetworks(facilitator: Facilitator): ChainHealth['network'][] {
  const kinds = facilitator.supported().kinds.filter((kind) => kind.x402Version === 2);
  return [...new Set(kinds.map((kind) => kind.network as ChainHealth['network']))];
}

/** Compares keys in constant time, so response timing does not reveal how much of a guess was right. */
function safeEqual(expected: string, actual: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(actual);
  return a.length === b.length && timingSafeEqual(a, b);
}
