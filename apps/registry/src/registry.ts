/**
 * Registration as a use case: validate an endpoint and, when it passes, store it. The HTTP routes, the form page
 * and in-process callers (the demo) all go through here.
 * @module
 */
import type { Clock } from './clock.js';
import { MONITOR_POLICY } from './monitor/policy.js';
import type { Fetcher } from './probe/fetcher.js';
import type { RegistryStore } from './store/store.js';
import type { Change, StoredListing } from './store/types.js';
import { type Validation, validateEndpoint } from './validate/endpoint.js';

/**
 * A registration attempt's outcome: the validation, plus the stored listing when nothing refused it.
 * @example
 * ```ts
 * const registration: Registration = await registry.register({ url: 'https://api.example.com/weather' });
 * if (registration.stored) console.log(registration.created ? 'listed' : 'updated', registration.stored.id);
 * ```
 */
export type Registration = Validation & {
  readonly stored?: StoredListing;
  /** True for a new listing, false for an update of an existing one. */
  readonly created?: boolean;
  readonly change?: Change;
};

/**
 * What registration needs: where listings are stored, how endpoints are probed, and the clock.
 * @example
 * ```ts
 * const options: RegistryOptions = { store, fetcher: createSafeFetcher(), clock: systemClock };
 * ```
 */
export type RegistryOptions = {
  readonly store: RegistryStore;
  readonly fetcher: Fetcher;
  readonly clock: Clock;
  readonly allowInsecureLocal?: boolean;
};

/**
 * Validate and register endpoints.
 * @example
 * ```ts
 * const { valid, findings } = await registry.validate({ url: 'https://api.example.com/weather', method: 'GET' });
 * ```
 */
export type Registry = {
  /** A dry run: every finding, nothing stored. */
  validate(request: { url: string; method?: string | undefined }): Promise<Validation>;
  /** Validates, then stores the listing when nothing refuses it. */
  register(request: { url: string; method?: string | undefined }): Promise<Registration>;
};

/**
 * Creates the registration use case.
 * @example
 * ```ts
 * const registry = createRegistry({ store, fetcher: createSafeFetcher(), clock: systemClock });
 * const result = await registry.register({ url: 'https://api.example.com/weather' });
 * result.stored?.id;
 * ```
 */
export function createRegistry(options: RegistryOptions): Registry {
  const validate: Registry['validate'] = (request) =>
    validateEndpoint(request, {
      fetcher: options.fetcher,
      allowInsecureLocal: options.allowInsecureLocal ?? false,
    });
  return {
    validate,
    async register(request) {
      const validation = await validate(request);
      if (!validation.listing || !validation.probe) return validation;
      const now = options.clock.now();
      const saved = await options.store.register(
        validation.listing,
        validation.findings,
        validation.probe,
        now,
        now + MONITOR_POLICY.freshIntervalMs,
      );
      return { ...validation, ...saved };
    },
  };
}
