/**
 * The schema table: each case is a real HTTP answer from a local seller, validated through the SSRF-safe fetcher
 * (in local mode, so 127.0.0.1 is reachable), expecting the exact `error` and the exact findings, in order.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createSafeFetcher, type Fetcher, validateEndpoint } from '../src/index.js';
import {
  type Answer,
  docsDocument,
  jsonAnswer,
  startSeller,
  TESTNET_PAY_TO,
  v2Answer,
  v2Challenge,
} from './fixtures.js';

type Case = {
  name: string;
  answer: (url: string) => Answer;
  error?: string;
  /** `code` or `code:detail`, in order. */
  findings: string[];
  /** Extra checks on the normalized listing. */
  listing?: (listing: Record<string, unknown>) => void;
  method?: string;
};

const withInput = (type: string) => (url: string) =>
  jsonAnswer(
    docsDocument(url, {
      outputSchema: { input: { type, method: 'get' }, output: { ok: { type: 'boolean' } } },
    }),
  );
const first = (listing: Record<string, unknown>) =>
  (listing.accepts as Record<string, unknown>[])[0]!;

const CASES: Case[] = [
  { name: 'v1: the docs example', answer: (u) => jsonAnswer(docsDocument(u)), findings: [] },
  {
    name: 'v1: legacy stacks with an SP payTo is mainnet',
    answer: (u) => jsonAnswer(docsDocument(u)),
    findings: [],
    listing: (l) => assert.equal(first(l).network, 'stacks:1'),
  },
  {
    name: 'v1: legacy stacks with an ST payTo is testnet',
    answer: (u) => jsonAnswer(docsDocument(u, { payTo: TESTNET_PAY_TO })),
    findings: [],
    listing: (l) => assert.equal(first(l).network, 'stacks:2147483648'),
  },
  {
    name: 'v2: the bazaar declaration’s JSON Schema is imported onto the listing',
    answer: (u) => {
      const challenge = v2Challenge(u);
      const bazaar = (challenge.extensions as Record<string, Record<string, unknown>>).bazaar!;
      bazaar.schema = {
        type: 'object',
        properties: { input: { type: 'object', properties: { queryParams: { type: 'object' } } } },
      };
      return v2Answer(challenge);
    },
    findings: [],
    listing: (l) =>
      assert.deepEqual(l.schema, {
        type: 'object',
        properties: { input: { type: 'object', properties: { queryParams: { type: 'object' } } } },
      }),
  },
  {
    name: 'v2: a bazaar schema referring outside itself is a warning and is not imported',
    answer: (u) => {
      const challenge = v2Challenge(u);
      const bazaar = (challenge.extensions as Record<string, Record<string, unknown>>).bazaar!;
      bazaar.schema = { $ref: 'https://evil.example/schema.json' };
      return v2Answer(challenge);
    },
    findings: ['invalid_bazaar:bazaar_schema_external_ref'],
    listing: (l) => assert.equal(l.schema, undefined),
  },
  {
    name: 'v2: an oversized bazaar declaration is a warning and is not imported',
    answer: (u) => {
      const challenge = v2Challenge(u);
      const bazaar = (challenge.extensions as Record<string, Record<string, unknown>>).bazaar!;
      bazaar.schema = { type: 'object', description: 'x'.repeat(20_000) };
      return jsonAnswer(challenge);
    },
    findings: ['invalid_bazaar:bazaar_declaration_too_large'],
    listing: (l) => assert.equal(l.schema, undefined),
  },
  {
    name: 'v2: challenge in the payment-required header',
    answer: (u) => v2Answer(v2Challenge(u)),
    findings: [],
    listing: (l) => {
      assert.equal(l.name, 'Quotes');
      assert.equal(l.x402Version, 2);
      assert.deepEqual(l.output, { type: 'json', example: { price: '97000.12' } });
    },
  },
  {
    name: 'v2: challenge in the body only',
    answer: (u) => jsonAnswer(v2Challenge(u)),
    findings: [],
  },
  {
    name: 'v2: a top-level outputSchema (as the x402-stacks middleware sends it) describes the call',
    answer: (u) => {
      const { extensions: _, ...challenge } = v2Challenge(u);
      return v2Answer({
        ...challenge,
        outputSchema: {
          input: { type: 'http', method: 'GET' },
          output: { price: { type: 'string' } },
        },
      });
    },
    findings: [],
    listing: (l) => assert.deepEqual(l.output, { price: { type: 'string' } }),
  },
  {
    name: 'v2: no call description anywhere',
    answer: (u) => {
      const { extensions: _, ...challenge } = v2Challenge(u);
      return v2Answer(challenge);
    },
    error: 'missing_output_schema',
    findings: ['missing_output_schema:missing', 'missing_output'],
  },
  {
    name: 'v2 without any name: the origin page title stands in',
    answer: (u) => {
      const challenge = v2Challenge(u);
      const resource = {
        ...(challenge.resource as Record<string, unknown>),
        serviceName: undefined,
      };
      return v2Answer({ ...challenge, resource });
    },
    findings: [],
    listing: (l) => assert.equal(l.name, 'Local & Quotes'),
  },
  {
    name: 'v1: a 200 schema document is listed as paywall unverified',
    answer: (u) => jsonAnswer(docsDocument(u), 200),
    findings: ['paywall_unverified'],
    listing: (l) => assert.equal(l.paywallVerified, false),
  },
  {
    name: 'input.type "request" becomes http',
    answer: withInput('request'),
    findings: [],
    listing: (l) => assert.deepEqual(l.input, { type: 'http', method: 'GET' }),
  },
  {
    name: 'input.type "https" becomes http',
    answer: withInput('https'),
    findings: [],
    listing: (l) => assert.equal((l.input as { type: string }).type, 'http'),
  },
  {
    name: 'input.type "http" stays http',
    answer: withInput('http'),
    findings: [],
    listing: (l) => assert.equal((l.input as { type: string }).type, 'http'),
  },
  {
    name: 'input.type of another kind is a missing schema',
    answer: withInput('graphql'),
    error: 'missing_output_schema',
    findings: ['missing_output_schema:unknown_input_type'],
  },
  {
    name: 'documented: invalid_name (empty)',
    answer: (u) => jsonAnswer(docsDocument(u, {}, { name: '   ' })),
    error: 'invalid_name',
    findings: ['invalid_name:empty'],
  },
  {
    name: 'invalid_name: missing',
    answer: (u) => jsonAnswer(docsDocument(u, {}, { name: undefined })),
    error: 'invalid_name',
    findings: ['invalid_name:missing'],
  },
  {
    name: 'invalid_name: over 64 characters',
    answer: (u) => jsonAnswer(docsDocument(u, {}, { name: 'x'.repeat(65) })),
    error: 'invalid_name',
    findings: ['invalid_name:too_long'],
  },
  {
    name: 'documented: empty_accepts',
    answer: (u) => jsonAnswer({ ...docsDocument(u), accepts: [] }),
    error: 'empty_accepts',
    findings: ['empty_accepts:empty'],
  },
  {
    name: 'empty_accepts: missing',
    answer: (u) => jsonAnswer({ ...docsDocument(u), accepts: undefined }),
    error: 'empty_accepts',
    findings: ['empty_accepts:missing'],
  },
  {
    name: 'documented: invalid_network (another chain only)',
    answer: (u) => jsonAnswer(docsDocument(u, { network: 'base' })),
    error: 'invalid_network',
    findings: ['invalid_network:not_stacks'],
  },
  {
    name: 'invalid_network: an unknown Stacks chain id',
    answer: (u) => jsonAnswer(docsDocument(u, { network: 'stacks:999' })),
    error: 'invalid_network',
    findings: ['invalid_network:unknown_stacks_network'],
  },
  {
    name: 'multi-chain: the other chain is dropped, Stacks is listed',
    answer: (u) => {
      const doc = docsDocument(u);
      const accepts = doc.accepts as Record<string, unknown>[];
      return jsonAnswer({
        ...doc,
        accepts: [{ ...accepts[0], network: 'eip155:8453' }, accepts[0]],
      });
    },
    findings: ['non_stacks_dropped'],
    listing: (l) => assert.equal((l.accepts as unknown[]).length, 1),
  },
  {
    name: 'documented: missing_output_schema',
    answer: (u) => jsonAnswer(docsDocument(u, { outputSchema: undefined })),
    error: 'missing_output_schema',
    findings: ['missing_output_schema:missing', 'missing_output'],
  },
  {
    name: 'missing_output_schema: outputSchema without input',
    answer: (u) => jsonAnswer(docsDocument(u, { outputSchema: { output: {} } })),
    error: 'missing_output_schema',
    findings: ['missing_output_schema:missing_input'],
  },
  {
    name: 'bad amount: dollars',
    answer: (u) => jsonAnswer(docsDocument(u, { maxAmountRequired: '$0.01' })),
    error: 'invalid_amount',
    findings: ['invalid_amount:not_atomic'],
  },
  {
    name: 'bad amount: a decimal, with the atomic value in the hint',
    answer: (u) => jsonAnswer(docsDocument(u, { maxAmountRequired: '0.5' })),
    error: 'invalid_amount',
    findings: ['invalid_amount:not_atomic'],
  },
  {
    name: 'bad amount: a JSON number',
    answer: (u) => jsonAnswer(docsDocument(u, { maxAmountRequired: 1000 })),
    error: 'invalid_amount',
    findings: ['invalid_amount:not_a_string'],
  },
  {
    name: 'bad amount: zero',
    answer: (u) => jsonAnswer(v2Challenge(u, { amount: '0' })),
    error: 'invalid_amount',
    findings: ['invalid_amount:zero'],
  },
  {
    name: 'bad amount: above 2^128 - 1',
    answer: (u) => jsonAnswer(v2Challenge(u, { amount: (1n << 128n).toString() })),
    error: 'invalid_amount',
    findings: ['invalid_amount:too_large'],
  },
  {
    name: 'amount of exactly 2^128 - 1 is accepted',
    answer: (u) => jsonAnswer(v2Challenge(u, { amount: ((1n << 128n) - 1n).toString() })),
    findings: [],
    listing: (l) => assert.equal(first(l).amount, '340282366920938463463374607431768211455'),
  },
  {
    name: 'bad payTo',
    answer: (u) => jsonAnswer(docsDocument(u, { payTo: 'SP123' })),
    error: 'invalid_pay_to',
    findings: ['invalid_pay_to:invalid_address'],
  },
  {
    name: 'network/payTo mismatch',
    answer: (u) => jsonAnswer(v2Challenge(u, { network: 'stacks:1' })),
    error: 'invalid_pay_to',
    findings: ['invalid_pay_to:network_mismatch'],
  },
  {
    name: 'a scheme other than exact',
    answer: (u) => jsonAnswer(v2Challenge(u, { scheme: 'upto' })),
    error: 'invalid_scheme',
    findings: ['invalid_scheme'],
  },
  {
    name: 'an unknown asset',
    answer: (u) => jsonAnswer(v2Challenge(u, { asset: 'DOGE' })),
    error: 'invalid_asset',
    findings: ['invalid_asset'],
  },
  {
    name: 'sBTC by symbol resolves to the mainnet contract',
    answer: (u) => jsonAnswer(docsDocument(u, { asset: 'sBTC', maxAmountRequired: '100' })),
    findings: [],
    listing: (l) => {
      assert.equal(first(l).asset, 'SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token');
      assert.equal(first(l).decimals, 8);
    },
  },
  {
    name: "testnet sBTC by symbol is the signers' contract, labelled sBTC",
    answer: (u) => jsonAnswer(v2Challenge(u, { asset: 'sBTC', amount: '100' })),
    findings: [],
    listing: (l) => {
      assert.equal(first(l).asset, 'SN3VMHXEN64ZZF71JQ5VESXDWTR301XTTXGF4J8F1.sbtc-token');
      assert.equal(first(l).symbol, 'sBTC');
      assert.equal(first(l).decimals, 8);
    },
  },
  // Anyone can deploy a contract named sbtc-token: the older testnet ones are listed by id, never labelled sBTC.
  ...[
    'ST1F7QA2MDF17S807EPA36TSS8AMEFY4KA9TVGWXT.sbtc-token',
    'ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.sbtc-token',
  ].map(
    (legacy): Case => ({
      name: `an older testnet sbtc-token (${legacy.slice(0, 8)}…) is a plain SIP-010 token`,
      answer: (u) => jsonAnswer(v2Challenge(u, { asset: legacy, amount: '100' })),
      findings: [],
      listing: (l) => {
        assert.equal(first(l).asset, legacy);
        assert.equal(first(l).symbol, null);
        assert.equal(first(l).decimals, null);
      },
    }),
  ),
  {
    name: '{id} placeholder in resource',
    answer: (u) => jsonAnswer(docsDocument(u, { resource: `${u}/{id}` })),
    findings: ['resource_mismatch:placeholder'],
  },
  {
    name: 'resource names another URL',
    answer: (u) => jsonAnswer(docsDocument(u, { resource: 'https://elsewhere.example/x' })),
    findings: ['resource_mismatch:different_url'],
  },
  {
    name: 'HTML instead of JSON',
    answer: () => ({
      status: 402,
      headers: { 'content-type': 'text/html' },
      body: '<html><h1>Pay me</h1></html>',
    }),
    error: 'invalid_json',
    findings: ['invalid_json:html'],
  },
  {
    name: 'text that is not JSON',
    answer: () => ({ status: 402, headers: { 'content-type': 'text/plain' }, body: 'pay up' }),
    error: 'invalid_json',
    findings: ['invalid_json:not_json'],
  },
  {
    name: 'a payment-required header that is not base64 JSON',
    answer: () => ({ status: 402, headers: { 'payment-required': '%%%' }, body: '' }),
    error: 'invalid_json',
    findings: ['invalid_json:bad_header'],
  },
  {
    name: 'an unknown x402Version',
    answer: (u) => jsonAnswer(docsDocument(u, {}, { x402Version: 3 })),
    error: 'invalid_version',
    findings: ['invalid_version'],
  },
  {
    name: 'a huge body',
    answer: () => ({ status: 402, body: Buffer.alloc(300 * 1024, 0x20) }),
    error: 'fetch_failed',
    findings: ['fetch_failed:body_too_large'],
  },
  {
    name: 'a slow server',
    answer: (u) => ({ ...jsonAnswer(docsDocument(u)), delayMs: 1500 }),
    error: 'fetch_failed',
    findings: ['fetch_failed:timeout'],
  },
  {
    name: 'a 404',
    answer: () => ({ status: 404, body: 'no' }),
    error: 'invalid_status',
    findings: ['invalid_status:404'],
  },
  {
    name: 'warnings: a bad timeout, no mimeType and an unsafe image are reported, not refused',
    answer: (u) =>
      jsonAnswer(
        docsDocument(
          u,
          { maxTimeoutSeconds: 0, mimeType: undefined },
          { image: 'http://10.0.0.1/logo.png' },
        ),
      ),
    findings: ['invalid_field:max_timeout_seconds', 'invalid_field:mime_type', 'invalid_image'],
    listing: (l) => assert.equal(l.image, null),
  },
  {
    name: 'several documented errors: the first in check order is the error, all are findings',
    answer: (u) => jsonAnswer(docsDocument(u, { network: 'base' }, { name: '' })),
    error: 'invalid_name',
    findings: ['invalid_name:empty', 'invalid_network:not_stacks'],
  },
  {
    name: 'a documented error outranks an earlier finer one',
    answer: (u) =>
      jsonAnswer(docsDocument(u, { network: 'stacks:999', maxAmountRequired: '1.5' }, {})),
    error: 'invalid_network',
    findings: ['invalid_network:unknown_stacks_network', 'invalid_amount:not_atomic'],
  },
  {
    name: 'GET answered 405 is retried with POST',
    answer: (u) => jsonAnswer(docsDocument(u)),
    findings: [],
    method: 'POST',
  },
];

describe('validation table', () => {
  let seller: Awaited<ReturnType<typeof startSeller>>;
  let fetcher: Fetcher;
  before(async () => {
    seller = await startSeller((path, request) => {
      if (path === '/') {
        return {
          status: 200,
          headers: { 'content-type': 'text/html' },
          body: '<html><title> Local &amp; Quotes </title></html>',
        };
      }
      const index = Number(path.split('/')[2]);
      const entry = CASES[index];
      if (!entry) return undefined;
      if (entry.method === 'POST' && request.method !== 'POST') return { status: 405 };
      return entry.answer(`${seller.url}/case/${index}`);
    });
    fetcher = createSafeFetcher({ allowInsecureLocal: true, timeoutMs: 1000 });
  });
  after(() => seller.stop());

  test('has at least 30 cases', () => assert.ok(CASES.length >= 30, `${CASES.length} cases`));

  CASES.forEach((entry, index) => {
    test(entry.name, async () => {
      const result = await validateEndpoint(
        { url: `${seller.url}/case/${index}` },
        { fetcher, allowInsecureLocal: true },
      );
      assert.equal(result.error, entry.error);
      assert.deepEqual(
        result.findings.map((f) => (f.detail ? `${f.code}:${f.detail}` : f.code)),
        entry.findings,
      );
      for (const f of result.findings) assert.ok(f.fix.length > 10, `${f.code} has a fix hint`);
      assert.equal(result.valid, entry.error === undefined);
      if (entry.error === undefined) {
        assert.ok(result.listing);
        assert.equal(result.listing.method, entry.method ?? 'GET');
        entry.listing?.(result.listing as unknown as Record<string, unknown>);
      } else {
        assert.equal(result.listing, undefined);
      }
    });
  });

  test('the decimal hint names the atomic amount', async () => {
    const index = CASES.findIndex((c) => c.name.startsWith('bad amount: a decimal'));
    const result = await validateEndpoint(
      { url: `${seller.url}/case/${index}` },
      { fetcher, allowInsecureLocal: true },
    );
    assert.match(result.findings[0]!.fix, /"500000"/);
  });

  test('documented: invalid_url for http without local mode, before any fetch', async () => {
    const before = seller.hits.size;
    const result = await validateEndpoint({ url: `${seller.url}/case/0` }, { fetcher });
    assert.equal(result.error, 'invalid_url');
    assert.deepEqual(
      result.findings.map((f) => f.detail),
      ['not_https'],
    );
    assert.equal(seller.hits.size, before);
  });

  test('invalid_url: credentials, tunnels, IP literals, garbage', async () => {
    const details = [];
    for (const url of [
      'https://user:secret@api.example.com/x',
      'https://abc.ngrok-free.app/x',
      'https://93.184.216.34/x',
      'not a url',
    ]) {
      const result = await validateEndpoint({ url }, { fetcher });
      assert.equal(result.error, 'invalid_url');
      details.push(result.findings[0]!.detail);
      assert.doesNotMatch(JSON.stringify(result), /secret/);
    }
    assert.deepEqual(details, ['credentials', 'tunnel_host', 'ip_literal', 'unparseable']);
  });
});
