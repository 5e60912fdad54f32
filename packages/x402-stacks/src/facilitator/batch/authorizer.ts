/**
 * The receiver-authorizer's own transactions: claims, settles and refunds sent by the key the sellers delegate to this
 * facilitator (tx-sender is the receiver-authorizer, so the escrow needs no extra signature). One transaction at a
 * time per key and network: each waits for its predecessor's nonce, so a crash leaves no gap, and whoever sends next
 * reads the nonce from the chain again. Callers hold the ledger lease `batch-authorizer:<network>` around a send,
 * so two processes never sign the same nonce.
 * @module
 */
import { type ClarityValue, makeContractCall } from '@stacks/transactions';
import type { ChainClient } from '../../chain/client.js';
import type { StacksNetwork } from '../../stacks/networks.js';

/** A confirmed, failed or still-pending transaction, after waiting. */
export type SentOutcome =
  | { readonly status: 'success'; readonly txid: string }
  | { readonly status: 'failed'; readonly txid: string; readonly reason: string }
  | { readonly status: 'pending'; readonly txid: string };

/** Timing the authorizer borrows from the engine. */
export type AuthorizerTiming = {
  readonly settleTimeoutMs: number;
  readonly pollIntervalMs: number;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
};

/** The receiver-authorizer key of one network. */
export type Authorizer = {
  readonly address: string;
  /** Sends `escrow.<functionName>(args)` and waits, at most `settleTimeoutMs`, for it to confirm. */
  call(escrow: string, functionName: string, args: ClarityValue[]): Promise<SentOutcome>;
};

// Nonce and fee are given, so the builder has no reason to reach the network; this makes sure it cannot.
const refuseNetwork = (() => {
  throw new Error('the authorizer never lets the transaction builder fetch');
}) as unknown as typeof fetch;

/**
 * Creates the authorizer of one network.
 * @example
 * ```ts
 * const authorizer = createAuthorizer(privateKey, address, network, chain, timing);
 * const outcome = await authorizer.call(escrow, 'settle', [Cl.principal(receiver), Cl.none()]);
 * ```
 */
export function createAuthorizer(
  privateKey: string,
  address: string,
  network: StacksNetwork,
  chain: ChainClient,
  timing: AuthorizerTiming,
): Authorizer {
  let queue: Promise<unknown> = Promise.resolve();
  return {
    address,
    call(escrow, functionName, args) {
      const sent = queue.then(() => send(escrow, functionName, args));
      queue = sent.catch(() => undefined);
      return sent;
    },
  };

  async function send(
    escrow: string,
    functionName: string,
    args: ClarityValue[],
  ): Promise<SentOutcome> {
    const [contractAddress, contractName] = escrow.split('.') as [string, string];
    const nonce = await chain.getNextNonce(address);
    const build = (fee: bigint) =>
      makeContractCall({
        contractAddress,
        contractName,
        functionName,
        functionArgs: args,
        senderKey: privateKey,
        network: network.name,
        nonce,
        fee,
        // The escrow moves only its own funds (to the receiver or back to the payer); this key's are never touched.
        postConditionMode: 'allow',
        validateWithAbi: false,
        client: { fetch: refuseNetwork },
      });
    const length = BigInt((await build(0n)).serialize().length / 2);
    const rate = await chain.getFeeRate().catch(() => 1n);
    const transaction = await build((rate > 1n ? rate : 1n) * length);
    const result = await chain.broadcast(transaction.serialize());
    if (!result.accepted) {
      return {
        status: 'failed',
        txid: transaction.txid(),
        reason: `the node refused it: ${result.reason}`,
      };
    }
    return waitFor(result.txid);
  }

  async function waitFor(txid: string): Promise<SentOutcome> {
    const until = timing.now() + timing.settleTimeoutMs;
    for (;;) {
      const found = await chain.getTransaction(txid).catch(() => null);
      if (found?.indexed && found.status === 'success') return { status: 'success', txid };
      if (found?.indexed && found.status !== 'pending') {
        return { status: 'failed', txid, reason: `the transaction ended ${found.status}` };
      }
      if (timing.now() >= until) return { status: 'pending', txid };
      await timing.sleep(timing.pollIntervalMs);
    }
  }
}
