/**
 * The `bazaar` extension: a seller declares how to call a paid route and what it answers, and facilitators and
 * directories catalog it for discovery.
 * @module
 */
export {
  type DiscoveryEntry,
  type DiscoveryEntryResult,
  discoveryEntryOf,
} from './catalog-entry.js';
export {
  BAZAAR_MAX_DECLARATION_BYTES,
  type BazaarCheck,
  checkBazaarDeclaration,
  isValidRouteTemplate,
} from './check.js';
export { type BazaarRouteConfig, declareBazaar } from './declare.js';
export {
  DISCOVERY_MAX_LIMIT,
  type DiscoveryListQuery,
  DiscoveryListQuerySchema,
  type DiscoveryListResponse,
  DiscoveryListResponseSchema,
  type DiscoveryResource,
  DiscoveryResourceSchema,
} from './discovery-list.js';
export {
  BAZAAR,
  BAZAAR_BODY_METHODS,
  BAZAAR_BODY_TYPES,
  BAZAAR_QUERY_METHODS,
  type BazaarDeclaration,
  BazaarDeclarationSchema,
  type BazaarInfo,
  BazaarInfoSchema,
  methodOf,
  toolOf,
} from './info.js';
export { BAZAAR_REASON_CODES, type BazaarReasonCode } from './reasons.js';
