import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bytesToHex } from '@stacks/common';
import {
  Cl,
  cvToValue,
  fetchCallReadOnlyFunction,
  makeContractDeploy,
  makeSTXTokenTransfer,
  Pc,
} from '@stacks/transactions';
import { createChainClient } from 'x402-stacks/chain';
import { GENESIS_BALANCES } from '../src/genesis.js';
import { type Devnet, startDevnet } from '../src/server.js';
import { DEPLOYER, SBTC, stxTransfer, tokenTransfer, WALLET_1, WALLET_2 } from './helpers.js';

const json = async (response: Response) => (await response.json()) as Record<string, unknown>;
const post = (url: string, body: unknown, type = 'application/json') =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': type },
    body: type === 'application/json' ? JSON.stringify(body) : (body as Uint8Array),
  });

describe('HTTP facade (mine on broadcast)', () => {
  let devnet: Devnet;
  before(async () => {
    devnet = await startDevnet({ port: 0 });
  });
  after(() => devnet.stop());

  test('serves on 127.0.0.1 with the genesis accounts', () => {
    assert.match(devnet.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(devnet.accounts[0]?.address, DEPLOYER.address);
  });

  test('POST /v2/transactions as octet-stream: a JSON string txid, then the Hiro status', async () => {
    const raw = await stxTransfer({ amount: 2500n });
    const response = await post(`${devnet.url}/v2/transactions`, raw, 'application/octet-stream');
    assert.equal(response.status, 200);
    const txid = (await response.json()) as string;
    assert.match(txid, /^[0-9a-f]{64}$/);
    const tx = await json(await fetch(`${devnet.url}/extended/v1/tx/0x${txid}`));
    assert.equal(tx.tx_id, `0x${txid}`);
    assert.equal(tx.tx_status, 'success');
    assert.equal(tx.tx_type, 'token_transfer');
    assert.equal(tx.sender_address, DEPLOYER.address);
    assert.equal(typeof tx.block_height, 'number');
    assert.equal(typeof tx.burn_block_time, 'number');
    assert.deepEqual((tx.tx_result as { repr: string }).repr, '(ok true)');
    assert.equal((tx.token_transfer as { amount: string }).amount, '2500');
    const sameWithoutPrefix = await json(await fetch(`${devnet.url}/extended/v1/tx/${txid}`));
    assert.equal(sameWithoutPrefix.tx_id, `0x${txid}`);
  });

  test('POST /v2/transactions as JSON; a rejection is 400 with reason, reason_data and txid', async () => {
    const raw = await stxTransfer({ amount: 1n });
    const response = await post(`${devnet.url}/v2/transactions`, { tx: bytesToHex(raw) });
    assert.equal(response.status, 400);
    const body = await json(response);
    assert.equal(body.error, 'transaction rejected');
    assert.equal(body.reason, 'BadNonce');
    assert.match(String(body.txid), /^[0-9a-f]{64}$/);
    assert.equal((body.reason_data as { principal: string }).principal, DEPLOYER.address);
  });

  test('POST /v2/transactions with another content type or bad JSON is a plain 400', async () => {
    assert.equal((await post(`${devnet.url}/v2/transactions`, 'x', 'text/plain')).status, 400);
    assert.equal((await post(`${devnet.url}/v2/transactions`, { tx: 'zz' })).status, 400);
  });

  test('GET /v2/accounts: u128 hex balance and the confirmed nonce', async () => {
    const account = await json(
      await fetch(`${devnet.url}/v2/accounts/${WALLET_1.address}?proof=0`),
    );
    assert.match(String(account.balance), /^0x[0-9a-f]{32}$/);
    assert.equal(BigInt(String(account.balance)), GENESIS_BALANCES.stx + 2500n);
    assert.equal(account.nonce, 0);
    assert.equal((await fetch(`${devnet.url}/v2/accounts/not-a-principal`)).status, 400);
  });

  test('nonces and balances in Hiro’s shapes', async () => {
    const nonces = await json(
      await fetch(`${devnet.url}/extended/v1/address/${DEPLOYER.address}/nonces`),
    );
    assert.equal(nonces.possible_next_nonce, 1);
    assert.equal(nonces.last_executed_tx_nonce, 0);
    assert.equal(nonces.last_mempool_tx_nonce, null);
    const balances = await json(
      await fetch(`${devnet.url}/extended/v1/address/${WALLET_1.address}/balances`),
    );
    const stx = balances.stx as Record<string, string>;
    assert.equal(stx.balance, (GENESIS_BALANCES.stx + 2500n).toString());
    assert.equal(stx.total_received, '2500');
    const tokens = balances.fungible_tokens as Record<string, { balance: string }>;
    assert.equal(tokens[`${SBTC}::sbtc-token`]?.balance, GENESIS_BALANCES.sBTC.toString());
  });

  test('GET /v2/info: testnet network id and the tip', async () => {
    const info = await json(await fetch(`${devnet.url}/v2/info`));
    assert.equal(info.network_id, 2147483648);
    assert.equal(info.stacks_tip_height, devnet.chain.height);
    assert.equal(typeof info.burn_block_height, 'number');
  });

  test('a builder with no fee reads /v2/fees/transaction from the devnet', async () => {
    const tx = await makeSTXTokenTransfer({
      recipient: WALLET_1.address,
      amount: 10n,
      senderKey: DEPLOYER.privateKey,
      network: 'testnet',
      nonce: 1n,
      client: { baseUrl: devnet.url },
    });
    const fee = tx.auth.spendingCondition.fee;
    assert.ok(fee >= BigInt(tx.serializeBytes().length), `fee ${fee} meets the admission floor`);
    assert.equal(await (await fetch(`${devnet.url}/v2/fees/transfer`)).json(), 1);
  });

  test('call-read get-balance answers (ok uint) for a registered token', async () => {
    const result = await fetchCallReadOnlyFunction({
      contractAddress: SBTC.split('.')[0]!,
      contractName: 'sbtc-token',
      functionName: 'get-balance',
      functionArgs: [Cl.principal(DEPLOYER.address)],
      senderAddress: DEPLOYER.address,
      network: 'testnet',
      client: { baseUrl: devnet.url },
    });
    assert.equal(cvToValue(result).value, GENESIS_BALANCES.sBTC.toString());
  });

  test('GET /extended/v1/tx of an unknown txid is 404 with an error', async () => {
    const response = await fetch(`${devnet.url}/extended/v1/tx/0x${'ab'.repeat(32)}`);
    assert.equal(response.status, 404);
    assert.match(String((await json(response)).error), /could not find transaction/);
  });

  test('admin: faucet funds any address; bad input is 400', async () => {
    const address = 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG';
    const response = await post(`${devnet.url}/devnet/faucet`, { address, stx: '777', sBTC: '5' });
    assert.equal(response.status, 200);
    assert.equal(devnet.chain.state.stx(address), 777n);
    assert.equal((await post(`${devnet.url}/devnet/faucet`, { address, stx: 1.5 })).status, 400);
    assert.equal((await post(`${devnet.url}/devnet/faucet`, { address: 'nope' })).status, 400);
  });

  test('admin: accounts list names, addresses and keys', async () => {
    const accounts = (await (await fetch(`${devnet.url}/devnet/accounts`)).json()) as {
      name: string;
    }[];
    assert.equal(accounts[0]?.name, 'deployer');
    assert.equal(accounts.length, 10);
  });
});

describe('HTTP facade: nonces as Hiro lists them', () => {
  test('the missing and pending lists hold only nonces between the last executed one and the last pending one', async () => {
    const devnet = await startDevnet({ port: 0, mining: { mode: 'manual' } });
    try {
      const nonces = async () =>
        json(await fetch(`${devnet.url}/extended/v1/address/${WALLET_2.address}/nonces`));
      const send = async (nonce: bigint) => {
        const raw = await stxTransfer({ key: WALLET_2.privateKey, nonce });
        assert.equal(devnet.chain.broadcast(raw).accepted, true);
      };
      await send(1n);
      await send(3n);
      // Nothing of the account mined yet: Hiro lists nothing, whatever the gaps (0 and 2 here).
      assert.deepEqual(await nonces(), {
        last_mempool_tx_nonce: 3,
        last_executed_tx_nonce: null,
        possible_next_nonce: 4,
        detected_missing_nonces: [],
        detected_mempool_nonces: [],
      });
      assert.deepEqual(devnet.chain.nonces(WALLET_2.address).missing, [0n, 2n], 'the truth');
      await send(0n);
      devnet.mine();
      await send(5n);
      assert.deepEqual(await nonces(), {
        last_mempool_tx_nonce: 5,
        last_executed_tx_nonce: 1,
        possible_next_nonce: 6,
        detected_missing_nonces: [2, 4],
        detected_mempool_nonces: [3],
      });
    } finally {
      await devnet.stop();
    }
  });
});

describe('HTTP facade (manual mining, faults, state file)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'x402-devnet-'));
  const statePath = join(dir, 'state.json');
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('manual mining, stall and fault routes; the state file survives a restart', async () => {
    const devnet = await startDevnet({ port: 0, mining: { mode: 'manual' }, statePath });
    const raw = await tokenTransfer({ amount: 700n });
    const txid = (await (
      await post(`${devnet.url}/v2/transactions`, raw, 'application/octet-stream')
    ).json()) as string;
    assert.equal(
      (await json(await fetch(`${devnet.url}/extended/v1/tx/${txid}`))).tx_status,
      'pending',
    );

    assert.equal((await post(`${devnet.url}/devnet/stall`, { stalled: true })).status, 200);
    const stalled = await json(await post(`${devnet.url}/devnet/mine`, { blocks: 1 }));
    assert.deepEqual(stalled.blocks, []);
    await post(`${devnet.url}/devnet/stall`, { stalled: false });

    assert.equal(
      (await post(`${devnet.url}/devnet/faults`, { txid, kind: 'delay', blocks: 1 })).status,
      200,
    );
    await post(`${devnet.url}/devnet/mine`, { blocks: 1 });
    assert.equal(
      (await json(await fetch(`${devnet.url}/extended/v1/tx/${txid}`))).tx_status,
      'pending',
    );
    await post(`${devnet.url}/devnet/mine`, {});
    const mined = await json(await fetch(`${devnet.url}/extended/v1/tx/${txid}`));
    assert.equal(mined.tx_status, 'success');
    assert.equal((mined.events as unknown[]).length, 1);

    assert.equal((await post(`${devnet.url}/devnet/faults`, { kind: 'explode' })).status, 400);
    assert.equal((await post(`${devnet.url}/devnet/faults`, { txid, kind: 'drop' })).status, 404);
    assert.equal((await post(`${devnet.url}/devnet/mine`, { blocks: 0 })).status, 400);
    await devnet.stop();

    const saved = JSON.parse(readFileSync(statePath, 'utf8')) as { version: number };
    assert.equal(saved.version, 1);
    const restarted = await startDevnet({ port: 0, mining: { mode: 'manual' }, statePath });
    const again = await json(await fetch(`${restarted.url}/extended/v1/tx/${txid}`));
    assert.equal(again.tx_status, 'success');
    const balances = await json(
      await fetch(`${restarted.url}/extended/v1/address/${WALLET_1.address}/balances`),
    );
    const tokens = balances.fungible_tokens as Record<string, { balance: string }>;
    assert.equal(tokens[`${SBTC}::sbtc-token`]?.balance, (GENESIS_BALANCES.sBTC + 700n).toString());
    await restarted.stop();
  });

  test('interval mining produces blocks on its own', async () => {
    const devnet = await startDevnet({ port: 0, mining: { mode: 'interval', intervalMs: 20 } });
    const raw = await stxTransfer();
    await post(`${devnet.url}/v2/transactions`, raw, 'application/octet-stream');
    const deadline = Date.now() + 2000;
    while (devnet.chain.height < 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    await devnet.stop();
    assert.ok(devnet.chain.height >= 2, `height ${devnet.chain.height}`);
    assert.equal(devnet.chain.mempool.length, 0);
  });

  test('setMining changes how blocks come from then on, the chain kept', async () => {
    const devnet = await startDevnet({ port: 0 });
    try {
      await post(
        `${devnet.url}/v2/transactions`,
        await stxTransfer({ nonce: 0n }),
        'application/octet-stream',
      );
      assert.equal(devnet.chain.height, 1, 'on broadcast: mined at once');
      devnet.setMining({ mode: 'manual' });
      assert.deepEqual(devnet.mining, { mode: 'manual' });
      await post(
        `${devnet.url}/v2/transactions`,
        await stxTransfer({ nonce: 1n }),
        'application/octet-stream',
      );
      assert.equal(devnet.chain.height, 1);
      assert.equal(devnet.chain.mempool.length, 1, 'manual: the transaction waits');
      devnet.setMining({ mode: 'interval', intervalMs: 20 });
      const deadline = Date.now() + 2000;
      while (devnet.chain.mempool.length > 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
      assert.equal(devnet.chain.mempool.length, 0, 'interval: a block came on its own');
      devnet.setMining({ mode: 'on-broadcast' });
      const height = devnet.chain.height;
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(devnet.chain.height, height, 'the interval stopped with its mode');
      assert.throws(() => devnet.setMining({ mode: 'interval', intervalMs: 0 }), /intervalMs/);
      assert.deepEqual(devnet.mining, { mode: 'on-broadcast' }, 'a refused mode changes nothing');
    } finally {
      await devnet.stop();
    }
  });

  test('error: interval mining without a sane interval', async () => {
    await assert.rejects(
      startDevnet({ mining: { mode: 'interval', intervalMs: 0 } }),
      /intervalMs/,
    );
  });
});

describe('HTTP facade: bad input and odd transactions', () => {
  let devnet: Devnet;
  before(async () => {
    devnet = await startDevnet({ port: 0 });
  });
  after(() => devnet.stop());

  test('admin routes refuse bodies that are not JSON objects with 400, never 500', async () => {
    for (const route of ['/devnet/mine', '/devnet/stall', '/devnet/faucet', '/devnet/faults']) {
      for (const body of ['null', '[]', '"x"', '{']) {
        const response = await fetch(`${devnet.url}${route}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        assert.equal(response.status, 400, `${route} ${body}`);
      }
    }
  });

  test('the faucet refuses invalid, mainnet and oversized requests', async () => {
    const bad = [
      { address: 'SOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOO', stx: '5' },
      { address: 'SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7', stx: '5' },
      { address: WALLET_1.address, stx: '9'.repeat(45) },
      { address: WALLET_1.address, stx: (2n ** 64n).toString() },
    ];
    for (const body of bad) {
      assert.equal(
        (await post(`${devnet.url}/devnet/faucet`, body)).status,
        400,
        JSON.stringify(body),
      );
    }
    assert.equal(devnet.chain.state.stx(WALLET_1.address), GENESIS_BALANCES.stx);
  });

  test('a drop fault takes only Hiro’s dropped statuses', async () => {
    const response = await post(`${devnet.url}/devnet/faults`, {
      kind: 'drop',
      status: 'dropped_lol',
    });
    assert.equal(response.status, 400);
  });

  test('a transaction with an NFT post-condition can be looked up', async () => {
    const raw = await tokenTransfer({
      mode: 'allow',
      postConditions: [
        Pc.principal(DEPLOYER.address).willNotSendAsset().nft(`${SBTC}::nft`, Cl.uint(1)),
      ],
    });
    const txid = (await (
      await post(`${devnet.url}/v2/transactions`, raw, 'application/octet-stream')
    ).json()) as string;
    const response = await fetch(`${devnet.url}/extended/v1/tx/${txid}`);
    assert.equal(response.status, 200);
    const tx = await json(response);
    assert.equal(tx.tx_status, 'success');
    assert.equal((tx.post_conditions as { asset_id?: string }[]).length, 1);
  });

  test('ServerFailureOther for a payload the devnet does not execute', async () => {
    const deploy = await makeContractDeploy({
      contractName: 'hello',
      codeBody: '(define-read-only (hi) u1)',
      senderKey: DEPLOYER.privateKey,
      network: 'testnet',
      nonce: 0n,
      fee: 10_000n,
    });
    const response = await post(`${devnet.url}/v2/transactions`, { tx: deploy.serialize() });
    assert.equal(response.status, 400);
    assert.equal((await json(response)).reason, 'ServerFailureOther');
  });

  test('ChainClient gets undecodable bytes back as a typed Deserialization rejection', async () => {
    const client = createChainClient({ network: 'testnet', url: devnet.url });
    for (const bytes of ['00', 'deadbeef']) {
      const result = await client.broadcast(bytes);
      assert.equal(result.accepted, false);
      assert.equal(!result.accepted && result.reason, 'Deserialization');
    }
  });
});
