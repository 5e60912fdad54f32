/**
 * batch-escrow over the devnet's HTTP routes on 127.0.0.1, through the clients real code uses: a sponsored deposit
 * broadcast with the library's chain client, Hiro's transaction JSON for it, `fetchCallReadOnlyFunction` against the
 * node's `call-read` route, and the route's answers to bad requests. The escrow's semantics are compared with the real
 * contract in `batch-escrow.fidelity.test.ts`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  Cl,
  type ClarityValue,
  cvToHex,
  cvToString,
  fetchCallReadOnlyFunction,
  makeContractCall,
  Pc,
  sponsorTransaction,
} from '@stacks/transactions';
import { createChainClient } from 'x402-stacks/chain';
import { ESCROW_DEPLOYMENTS } from '../src/genesis.js';
import { type Devnet, startDevnet } from '../src/server.js';
import { channelIdOf, configCV, saltOf } from './batch-escrow-kit.js';
import { DEPLOYER, WALLET_1, WALLET_2 } from './helpers.js';

const [TESTNET_ESCROW, MAINNET_ESCROW] = ESCROW_DEPLOYMENTS.map((d) => d.contractId) as [
  string,
  string,
];
const [ESCROW_ADDRESS, ESCROW_NAME] = TESTNET_ESCROW.split('.') as [string, string];

// wallet_1 pays, wallet_2 sponsors, the deployer receives; the authorizers are the payer and receiver themselves.
const config = {
  payer: WALLET_1.address,
  payerAuthorizer: WALLET_1.address,
  receiver: DEPLOYER.address,
  receiverAuthorizer: DEPLOYER.address,
  token: null,
  withdrawDelay: 6n,
  salt: saltOf('escrow over http'),
};

const callRead = (devnet: Devnet, contract: string, fn: string, body: unknown) =>
  fetch(`${devnet.url}/v2/contracts/call-read/${contract.replace('.', '/')}/${fn}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('batch-escrow over HTTP', () => {
  let devnet: Devnet;
  before(async () => {
    devnet = await startDevnet({ port: 0 });
  });
  after(() => devnet.stop());

  test('a sponsored deposit in deny mode: the payer’s STX move, the sponsor pays the fee, Hiro shows the prints', async () => {
    const amount = 70_000n;
    const unsigned = await makeContractCall({
      contractAddress: ESCROW_ADDRESS,
      contractName: ESCROW_NAME,
      functionName: 'deposit',
      functionArgs: [configCV(config), Cl.uint(amount), Cl.none()],
      senderKey: WALLET_1.privateKey,
      network: 'testnet',
      nonce: 0n,
      fee: 0n,
      sponsored: true,
      postConditionMode: 'deny',
      postConditions: [Pc.principal(WALLET_1.address).willSendEq(amount).ustx()],
      validateWithAbi: false,
    });
    const sponsored = await sponsorTransaction({
      transaction: unsigned,
      sponsorPrivateKey: WALLET_2.privateKey,
      fee: 20_000n,
      sponsorNonce: 0n,
      network: 'testnet',
    });
    const before = {
      payer: devnet.chain.state.stx(WALLET_1.address),
      sponsor: devnet.chain.state.stx(WALLET_2.address),
    };
    const client = createChainClient({ network: 'testnet', url: devnet.url });
    const broadcast = await client.broadcast(sponsored.serialize());
    assert.ok(broadcast.accepted, JSON.stringify(broadcast));
    const tx = (await (await fetch(`${devnet.url}/extended/v1/tx/${broadcast.txid}`)).json()) as {
      tx_status: string;
      sponsored: boolean;
      tx_result: { repr: string };
      contract_call: {
        contract_id: string;
        function_name: string;
        function_args: { name: string }[];
      };
      events: {
        event_type: string;
        contract_log?: { contract_id: string; value: { repr: string } };
      }[];
    };
    assert.equal(tx.tx_status, 'success');
    assert.equal(tx.sponsored, true);
    assert.equal(tx.tx_result.repr, `(ok 0x${channelIdOf(config)})`);
    assert.equal(tx.contract_call.contract_id, TESTNET_ESCROW);
    assert.equal(tx.contract_call.function_name, 'deposit');
    assert.deepEqual(
      tx.contract_call.function_args.map((arg) => arg.name),
      ['config', 'amount', 'token'],
    );
    assert.deepEqual(
      tx.events.map((e) => e.event_type),
      ['stx_asset', 'smart_contract_log', 'smart_contract_log'],
    );
    assert.equal(tx.events[1]?.contract_log?.contract_id, TESTNET_ESCROW);
    assert.match(tx.events[2]?.contract_log?.value.repr ?? '', /event "deposit"/);
    assert.equal(devnet.chain.state.stx(WALLET_1.address), before.payer - amount);
    assert.equal(devnet.chain.state.stx(WALLET_2.address), before.sponsor - 20_000n);
    assert.equal(devnet.chain.state.stx(TESTNET_ESCROW), amount);
  });

  test('read-only functions answer through fetchCallReadOnlyFunction; each deployment has its own storage', async () => {
    const read = (
      contract: string,
      functionName: string,
      functionArgs: ClarityValue[] = [Cl.bufferFromHex(channelIdOf(config))],
    ) =>
      fetchCallReadOnlyFunction({
        contractAddress: contract.split('.')[0]!,
        contractName: ESCROW_NAME,
        functionName,
        functionArgs,
        senderAddress: DEPLOYER.address,
        network: 'testnet',
        client: { baseUrl: devnet.url },
      });
    assert.match(cvToString(await read(TESTNET_ESCROW, 'get-channel')), /balance u70000/);
    assert.equal(cvToString(await read(MAINNET_ESCROW, 'get-channel')), 'none');
    assert.equal(cvToString(await read(TESTNET_ESCROW, 'get-admin', [])), DEPLOYER.address);
    assert.equal(cvToString(await read(MAINNET_ESCROW, 'get-admin', [])), DEPLOYER.address);
    assert.equal(
      cvToString(await read(TESTNET_ESCROW, 'get-channel-id', [configCV(config)])),
      `0x${channelIdOf(config)}`,
    );
  });

  test('call-read refusals: an unknown function, ill-typed or undecodable arguments, an unknown contract', async () => {
    const unknownFunction = await callRead(devnet, TESTNET_ESCROW, 'drain', { arguments: [] });
    assert.equal(unknownFunction.status, 200);
    assert.equal(((await unknownFunction.json()) as { okay: boolean }).okay, false);
    for (const args of [[cvToHex(Cl.uint(1n))], ['zz'], [42], []]) {
      const response = await callRead(devnet, TESTNET_ESCROW, 'get-channel', { arguments: args });
      const body = (await response.json()) as { okay: boolean; cause?: string };
      assert.equal(body.okay, false, JSON.stringify(args));
      assert.equal(typeof body.cause, 'string');
    }
    const unknownContract = await callRead(devnet, `${DEPLOYER.address}.nothing`, 'get-admin', {
      arguments: [],
    });
    assert.equal(unknownContract.status, 404);
  });
});
