/**
 * sign-in-with-x between ours and the stock `@x402/extensions` 2.27. Upstream has no Stacks signature type, so what
 * interoperates is the envelope's shared fields: a challenge stock code declares reads with ours, ours reads with its
 * readers (origin binding, field validation), and each side declines the other's chain without failing. Stock's
 * `parseSIWxHeader` knows only `eip191` and `ed25519`, so it refuses a `sip018` proof: that is asserted, as the known
 * limit, not hidden.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodePaymentRequiredHeader as stockDecodePaymentRequired } from '@x402/core/http';
import {
  assertSIWxChallengeBoundToOrigin,
  createSIWxClientHook,
  createSIWxPayload,
  createSIWxResourceServerExtension,
  declareSIWxExtension,
  encodeSIWxHeader,
  InMemorySIWxStorage,
  parseSIWxHeader,
  type SIWxExtensionInfo,
  type SIWxPayload as StockPayload,
  validateSIWxMessage,
} from '@x402/extensions/sign-in-with-x';
import {
  createSiwxStacksProof,
  readSiwxDeclaration,
  readSiwxHeader,
  SiwxInfoSchema,
  siwxStacksChain,
  verifySiwxStacksProof,
} from 'x402-stacks/extensions';
import { createResourceServer } from 'x402-stacks/server';
import { privateKeyToAccount, signStructuredData } from 'x402-stacks/stacks';

const ORIGIN = 'https://api.example.com';
const URL_ = `${ORIGIN}/premium`;
const TESTNET = 'stacks:2147483648';
const account = privateKeyToAccount(
  '7287ba251d44a4d3fd9276c88ce34c5c52a038955511cccaf77e61068649c17801',
  'testnet',
);
const requirements = {
  scheme: 'exact',
  network: TESTNET,
  amount: '1000',
  asset: 'STX',
  payTo: 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5',
  maxTimeoutSeconds: 300,
};

/** A 402 from our seller, as the stock SDK decodes it. */
async function our402() {
  const server = createResourceServer<null>({
    amount: '1000',
    payTo: requirements.payTo,
    network: 'testnet',
    sponsored: false,
    facilitator: {
      verify: async () => ({ isValid: false }),
      settle: async () => ({ success: false, transaction: '', network: TESTNET }),
      status: async () => undefined,
      supported: () => ({ kinds: [], extensions: [], signers: {} }),
    },
    signInWithX: { origin: ORIGIN, accessMs: 60_000, statement: 'Sign in to read' },
  });
  const admission = await server.admit({ url: URL_, header: () => undefined, request: null });
  assert.equal(admission.action, 'reply');
  if (admission.action !== 'reply') throw new Error('unreachable');
  return stockDecodePaymentRequired(admission.reply.headers['payment-required']!);
}

/** Stock's complete 402 entry: its declare helper, enriched by its resource-server extension for one request. */
async function stockDeclaration(network: string) {
  const declared = declareSIWxExtension({ network, statement: 'Sign in', expirationSeconds: 300 });
  const extension = createSIWxResourceServerExtension({
    storage: new InMemorySIWxStorage(),
    origin: ORIGIN,
  });
  const enrich = extension.enrichPaymentRequiredResponse as unknown as (
    declaration: unknown,
    context: unknown,
  ) => Promise<Record<string, unknown>>;
  const entry = await enrich(declared['sign-in-with-x'], {
    resourceInfo: { url: URL_ },
    requirements: [requirements],
  });
  return { declared, entry };
}

describe('sign-in-with-x: stock @x402/extensions 2.27 → ours', () => {
  test('the declare helper’s info reads with our schema (the fields it fills in itself)', () => {
    const declared = declareSIWxExtension({ network: TESTNET, statement: 'Sign in' });
    const info = declared['sign-in-with-x']?.info;
    const partial = SiwxInfoSchema.partial().safeParse(info);
    assert.ok(partial.success);
    assert.deepEqual(partial.data, { version: '1', statement: 'Sign in' });
  });

  test('its complete entry reads with ours; its Stacks chain entry is not sip018, so our buyer declines it', async () => {
    const { entry } = await stockDeclaration(TESTNET);
    const ours = readSiwxDeclaration({ 'sign-in-with-x': entry });
    assert.ok(ours, 'the envelope parses');
    assert.equal(ours.info.domain, 'api.example.com');
    assert.equal(ours.info.uri, URL_);
    assert.match(ours.info.nonce, /^[0-9a-f]{32}$/);
    assert.ok(ours.info.expirationTime);
    assert.deepEqual(ours.supportedChains, [{ chainId: TESTNET, type: 'eip191' }]);
    assert.equal(siwxStacksChain(ours, TESTNET), undefined);
  });

  test('a stock EVM proof reads with our header reader and is refused by chain, by name', async () => {
    const { entry } = await stockDeclaration('eip155:8453');
    const { info } = entry as { info: SIWxExtensionInfo };
    const signer = {
      address: '0x857b06519E91e3A54538791bDbb0E22373e36b66',
      signMessage: async () => `0x${'11'.repeat(65)}`,
    };
    const proof = await createSIWxPayload(
      { ...info, chainId: 'eip155:8453', type: 'eip191' },
      signer,
      URL_,
    );
    const read = readSiwxHeader(encodeSIWxHeader(proof));
    assert.ok(read.ok, 'the shared fields parse');
    const verdict = verifySiwxStacksProof(read.payload, {
      domain: 'api.example.com',
      uri: URL_,
      chainIds: [TESTNET],
      now: Date.now(),
    });
    assert.equal(verdict.ok ? 'ok' : verdict.reason, 'invalid_siwx_unsupported_chain');
  });
});

describe('sign-in-with-x: ours → stock @x402/extensions 2.27', () => {
  test('our 402 decodes with stock code, and its challenge is bound to our origin by stock’s own check', async () => {
    const paymentRequired = await our402();
    const entry = paymentRequired.extensions?.['sign-in-with-x'] as {
      info: { domain: string; uri: string };
      supportedChains: unknown[];
    };
    assert.doesNotThrow(() => assertSIWxChallengeBoundToOrigin(entry.info as never, URL_));
    assert.deepEqual(entry.supportedChains, [{ chainId: TESTNET, type: 'sip018' }]);
  });

  test('a stock EVM client reads our 402 and declines it without failing (no chain of its type)', async () => {
    const paymentRequired = await our402();
    const hook = createSIWxClientHook({
      address: '0x857b06519E91e3A54538791bDbb0E22373e36b66',
      signMessage: async () => `0x${'11'.repeat(65)}`,
    });
    const answer = await hook({ paymentRequired, requestUrl: URL_ } as never);
    assert.equal(answer, undefined);
  });

  test('our proof passes stock field validation; stock’s header parser refuses type sip018 (upstream has no Stacks)', async () => {
    const paymentRequired = await our402();
    const declared = readSiwxDeclaration(paymentRequired.extensions);
    assert.ok(declared);
    const proof = await createSiwxStacksProof(
      declared.info,
      TESTNET,
      account.address,
      (domain, message) => signStructuredData(account.privateKey, domain, message),
    );
    const validation = await validateSIWxMessage(proof as unknown as StockPayload, new URL(ORIGIN));
    assert.deepEqual(validation, { isValid: true });
    const header = Buffer.from(JSON.stringify(proof)).toString('base64');
    assert.throws(() => parseSIWxHeader(header), /type/);
  });
});
