/**
 * The per-request values of the registry's HTTP app, on their own so the routes and the app that mounts them do not
 * import each other.
 * @module
 */
import type { Logger } from 'pino';

/**
 * Per-request values the routes read: the request's logger and its id, set by the app before any route runs.
 * @example
 * ```ts
 * const whoAmI = (c: Context<AppEnv>) => c.json({ requestId: c.get('requestId') });
 * ```
 */
export type AppEnv = { Variables: { logger: Logger; requestId: string } };
