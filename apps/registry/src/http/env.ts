/**
 * The per-request values of the registry's HTTP app, on their own so the routes and the app that mounts them do not
 * import each other.
 * @module
 */
import type { Logger } from 'pino';

/** Per-request values the routes read. */
export type AppEnv = { Variables: { logger: Logger; requestId: string } };
