/**
 * `x402-stacks/extensions`: the x402 extensions on Stacks. Each extension has its own folder with its envelope
 * schema and the pure logic its server, client and facilitator sides share; the roles wire them in.
 * @module
 */

export * from './bazaar/index.js';
export {
  type ExtensionEnvelope,
  ExtensionEnvelopeSchema,
  type ExtensionRead,
  readExtensionInfo,
  withExtension,
} from './envelope.js';
