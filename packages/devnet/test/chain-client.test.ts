/**
 * The library's ChainClient against the devnet over real HTTP: the one code path clients and the facilitator use
 * against testnet and mainnet, exercised end to end offline.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createChainClient } from 'x402-stacks/chain';
import { GENESIS_BALANCES } from '../src/genesis.js';
import { type Devnet, startDevnet } from '../src/server.js';
import { DEPLOYER, SBTC_ASSET, stxTransfer, tokenTransfer, WALLET_1 } from './helpers.js';

describe('ChainClient against the devnet', () => {
  let devnet: Devnet;
  let client: ReturnType<typeof createChainClient>;
  before(async () => {
    devnet = await startDevnet({ port: 0, mining: { mode: 'manual' } });
    client = createChainClient({ network: 'testnet', url: devnet.url, apiKey: 'devnet-key' });
  });
  after(() => devnet.stop());

  test('info, fee rate, balances and nonces', async () => {
    const info = await client.getInfo();
    assert.equal(info.networkId, 2147483648);
    assert.equal(await client.getFeeRate(), 1n);
    assert.equal(await client.getStxBalance(DEPLOYER.address), GENESIS_BALANCES.stx);
    assert.equal(await client.getFtBalance(DEPLOYER.address, SBTC_ASSET), GENESIS_BALANCES.sBTC);
    assert.equal(
      await client.getFtBalance(
        DEPLOYER.address,
        'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG.none::none',
      ),
      0n,
    );
    assert.equal(await client.getNextNonce(DEPLOYER.address), 0n);
  });

  test('broadcast, pending, mempool-aware nonce, then success with events', async () => {
    const result = await client.broadcast(await tokenTransfer({ amount: 900n }));
    assert.equal(result.accepted, true);
    const txid = result.txid!;
    const pending = await client.getTransaction(`0x${txid}`);
    assert.equal(pending?.status, 'pending');
    assert.equal(await client.getNextNonce(DEPLOYER.address), 1n, 'counts the mempool');
    devnet.mine();
    const mined = await client.getTransaction(txid);
    assert.equal(mined?.indexed && mined.status, 'success');
    assert.equal(mined?.indexed && mined.sender, DEPLOYER.address);
    assert.equal(mined?.indexed && mined.fee, 3000n);
    assert.equal(mined?.indexed && mined.result?.repr, '(ok true)');
    assert.equal(mined?.indexed && mined.events.length, 1);
    assert.equal(
      await client.getFtBalance(WALLET_1.address, SBTC_ASSET),
      GENESIS_BALANCES.sBTC + 900n,
    );
  });

  test('node rejections come back as data with the node’s reason', async () => {
    const stale = await client.broadcast(await stxTransfer({ nonce: 0n }));
    assert.equal(stale.accepted, false);
    assert.equal(!stale.accepted && stale.reason, 'BadNonce');
    const first = await client.broadcast(await stxTransfer({ nonce: 1n, fee: 300n }));
    assert.equal(first.accepted, true);
    const conflict = await client.broadcast(
      await stxTransfer({ nonce: 1n, fee: 300n, amount: 9n }),
    );
    assert.equal(!conflict.accepted && conflict.reason, 'ConflictingNonceInMempool');
    const replacement = await client.broadcast(
      await stxTransfer({ nonce: 1n, fee: 400n, amount: 9n }),
    );
    assert.equal(replacement.accepted, true);
    const replaced = await client.getTransaction(first.txid!);
    assert.equal(replaced?.status, 'dropped_replace_by_fee');
    assert.equal(replaced?.indexed && replaced.replacedBy, replacement.txid);
  });

  test('an unknown txid is null', async () => {
    assert.equal(await client.getTransaction('ab'.repeat(32)), null);
  });
});
