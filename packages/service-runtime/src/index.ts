/**
 * What every runnable x402-stacks service shares as a process, and the client address behind its proxies. Compiled into each service's bundle; never published.
 * @module
 */
export { callerKey } from './caller-key.js';
export {
  forwardedClientAddress,
  MAX_TRUSTED_PROXIES,
  TRUST_PROXY_EXPECTED,
  trustedProxiesOption,
  trustedProxyCount,
} from './forwarded-client.js';
export { ignoreClosedOutput } from './ignore-closed-output.js';
export { listenForStop, type StopListener, type StopSignal } from './listen-for-stop.js';
export { type LogOutput, logOutput } from './log-output.js';
export { type SignalStopOptions, stopOnSignals } from './stop-on-signals.js';
export { STOP_DEADLINE_MS, type StopLines, type StopOptions, stopWithin } from './stop-within.js';
export { waitAtMost } from './wait-at-most.js';
