/**
 * Request ids and one JSON log line per request. The id comes from the caller's `x-request-id` when it is a sane
 * token (so a seller's logs and ours join up), otherwise a fresh UUID; it is echoed back in the response. Only the
 * method, path, status, duration, address and id are logged: never headers (API keys) and never bodies (payments).
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import { requestHeader } from './incoming.js';

const SANE_REQUEST_ID = /^[\w.:-]{1,64}$/;

/** One log line about the request under way, with its id; nothing when the logger is off at that level. */
export type LogLine = (
  level: 'info' | 'warn' | 'error',
  fields: Record<string, unknown>,
  message: string,
) => void;

/**
 * The variables the logging middleware sets on the context: the request's id, and `log`, which writes a line with
 * that id. No child logger is made per request: a line names its request itself, as a child's binding would, at none
 * of a child's cost on the many requests that log only their own line.
 */
export type RequestLogVariables = { requestId: string; log: LogLine };

/**
 * @example
 * ```ts
 * app.use('*', requestLog({ logger: pino(), clientAddress: () => '127.0.0.1' }));
 * ```
 */
export function requestLog(options: {
  logger: Logger;
  clientAddress: (c: Context) => string;
}): MiddlewareHandler<{ Variables: RequestLogVariables }> {
  const { logger } = options;
  return async (c, next) => {
    const offered = requestHeader(c, 'x-request-id');
    const requestId = offered && SANE_REQUEST_ID.test(offered) ? offered : randomUUID();
    c.set('requestId', requestId);
    c.set('log', (level, fields, message) => {
      if (logger.isLevelEnabled(level)) logger[level]({ requestId, ...fields }, message);
    });
    const started = performance.now();
    // Set before the handler builds its response: setting it after would copy the finished response.
    c.header('x-request-id', requestId);
    await next();
    if (!logger.isLevelEnabled('info')) return;
    logger.info(
      {
        requestId,
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round((performance.now() - started) * 10) / 10,
        ip: options.clientAddress(c),
      },
      'request',
    );
  };
}

/** One line per settle outcome: what an operator greps for when a seller asks where a payment went. */
export function logSettle(
  log: LogLine,
  settled: { success: boolean; transaction: string; payer?: string; errorReason?: string },
): void {
  log(
    'info',
    {
      txid: settled.transaction || undefined,
      payer: settled.payer,
      success: settled.success,
      ...(settled.errorReason ? { reason: settled.errorReason } : {}),
    },
    'settle',
  );
}
