/** What buyers, attackers and faults of one run share. */
import type { Devnet } from '@x402-stacks/devnet';
import type { FacilitatorCluster } from './facilitators.js';
import type { ChaosHttp } from './http.js';
import type { Random } from './random.js';
import type { StopSignal } from './stop-signal.js';

export type RunContext = {
  readonly devnet: Devnet;
  readonly cluster: FacilitatorCluster;
  readonly http: ChaosHttp;
  readonly random: Random;
  /** Fires when the load phase ends. */
  readonly stop: StopSignal;
  readonly seller: string;
  /** The sponsor key the requirements name; the pool may sponsor with any of its keys. */
  readonly namedSponsor: string;
};
