import { ledgerConformance } from '../../test/ledger-conformance.js';
import { InMemoryLedger } from './memory-ledger.js';

ledgerConformance('InMemoryLedger', async () => new InMemoryLedger());
