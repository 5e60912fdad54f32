/**
 * Which testnet sBTC the devnet preloads: the library's default (the sBTC signers' SN3VMHX…8F1.sbtc-token, an SN
 * multi-sig contract address) always, and another id beside it when `tokens.sbtcTestnetContract` names one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { KNOWN_TOKENS } from 'x402-stacks/stacks';
import { GENESIS_BALANCES } from '../src/genesis.js';
import { type Devnet, startDevnet } from '../src/server.js';
import { registeredTokens } from '../src/tokens.js';
import { tokenTransfer, WALLET_1 } from './helpers.js';

const DEFAULT_TESTNET_SBTC = 'SN3VMHXEN64ZZF71JQ5VESXDWTR301XTTXGF4J8F1.sbtc-token';
const HIRO_TESTNET_SBTC = 'ST1F7QA2MDF17S807EPA36TSS8AMEFY4KA9TVGWXT.sbtc-token';
const MAINNET_SBTC = 'SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token';

const sbtcIds = (tokens: ReturnType<typeof registeredTokens>) =>
  tokens.filter((token) => token.symbol === 'sBTC').map((token) => token.contractId);

describe('testnet sBTC on the devnet', () => {
  test("by default: the library's testnet sBTC and the mainnet id, not the Hiro stand-in", () => {
    assert.equal(KNOWN_TOKENS.sBTC.contracts.testnet, DEFAULT_TESTNET_SBTC);
    assert.deepEqual(sbtcIds(registeredTokens()), [DEFAULT_TESTNET_SBTC, MAINNET_SBTC]);
  });

  test('tokens.sbtcTestnetContract adds another id; the default stays', () => {
    const ids = sbtcIds(registeredTokens({ sbtcTestnetContract: HIRO_TESTNET_SBTC }));
    assert.deepEqual(ids, [HIRO_TESTNET_SBTC, DEFAULT_TESTNET_SBTC, MAINNET_SBTC]);
  });

  describe('over HTTP, configured with the Hiro stand-in', () => {
    let devnet: Devnet;
    before(async () => {
      devnet = await startDevnet({ port: 0, tokens: { sbtcTestnetContract: HIRO_TESTNET_SBTC } });
    });
    after(() => devnet.stop());

    test('a transfer of either contract is mined and moves only that token', async () => {
      for (const [nonce, contract] of [DEFAULT_TESTNET_SBTC, HIRO_TESTNET_SBTC].entries()) {
        const raw = await tokenTransfer({ contract, amount: 700n, nonce: BigInt(nonce) });
        const response = await fetch(`${devnet.url}/v2/transactions`, {
          method: 'POST',
          headers: { 'content-type': 'application/octet-stream' },
          body: raw,
        });
        assert.equal(response.status, 200, await response.clone().text());
        const txid = (await response.json()) as string;
        assert.equal(devnet.chain.transaction(txid)?.status, 'success', contract);
      }
      const balances = (await (
        await fetch(`${devnet.url}/extended/v1/address/${WALLET_1.address}/balances`)
      ).json()) as { fungible_tokens: Record<string, { balance: string }> };
      for (const contract of [DEFAULT_TESTNET_SBTC, HIRO_TESTNET_SBTC]) {
        assert.equal(
          balances.fungible_tokens[`${contract}::sbtc-token`]?.balance,
          (GENESIS_BALANCES.sBTC + 700n).toString(),
          contract,
        );
      }
      assert.equal(
        balances.fungible_tokens[`${MAINNET_SBTC}::sbtc-token`]?.balance,
        GENESIS_BALANCES.sBTC.toString(),
      );
    });
  });
});
