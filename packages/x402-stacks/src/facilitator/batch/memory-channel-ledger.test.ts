/** The in-memory channel ledger through the conformance suite the SQL ledgers also pass: the reference semantics. */
import { channelLedgerConformance } from '@x402-stacks/test-kit/channel-ledger-conformance';
import { createMemoryChannelLedger } from './memory-channel-ledger.js';

channelLedgerConformance('in-memory channel ledger', {
  create: async () => createMemoryChannelLedger(),
});
