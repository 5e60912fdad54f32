import { ledgerConformance } from '@x402-stacks/test-kit/ledger-conformance';
import { InMemoryLedger } from './memory-ledger.js';

ledgerConformance('InMemoryLedger', async () => new InMemoryLedger(), { claimToSend: true });
