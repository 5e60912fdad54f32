/**
 * The bazaar extension's pure parts through the public subpath: the declaration builder, the checks with their named
 * refusals, the catalog entry a settled payload yields, and the discovery list query.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PaymentRequirements } from 'x402-stacks';
import {
  BAZAAR_MAX_DECLARATION_BYTES,
  BazaarDeclarationSchema,
  checkBazaarDeclaration,
  DiscoveryListQuerySchema,
  declareBazaar,
  discoveryEntryOf,
  isValidRouteTemplate,
} from 'x402-stacks/extensions';

const SELLER = 'ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5';
const requirements: PaymentRequirements = {
  scheme: 'exact',
  network: 'stacks:2147483648',
  amount: '1000',
  asset: 'STX',
  payTo: SELLER,
  maxTimeoutSeconds: 300,
};
const weather = declareBazaar({
  method: 'GET',
  input: {
    example: { city: 'Paris' },
    schema: { properties: { city: { type: 'string' } }, required: ['city'] },
  },
  output: {
    example: { temperature: 21 },
    schema: { properties: { temperature: { type: 'number' } } },
  },
});

describe('declareBazaar', () => {
  test('a query route: info.input carries the method and the query example, schema describes info', () => {
    assert.deepEqual(weather.info, {
      input: { type: 'http', method: 'GET', queryParams: { city: 'Paris' } },
      output: { type: 'json', example: { temperature: 21 } },
    });
    const input = (weather.schema.properties as Record<string, Record<string, unknown>>).input!;
    assert.deepEqual(input.required, ['type', 'method']);
    assert.ok(BazaarDeclarationSchema.safeParse(weather).success);
  });

  test('a body route defaults to POST and carries bodyType and body', () => {
    const search = declareBazaar({ bodyType: 'json', input: { example: { q: 'x' } } });
    assert.deepEqual(search.info.input, {
      type: 'http',
      method: 'POST',
      bodyType: 'json',
      body: { q: 'x' },
    });
    assert.equal(checkBazaarDeclaration(search).ok, true);
  });
});

describe('checkBazaarDeclaration refusals', () => {
  test('not { info, schema }: bazaar_declaration_malformed', () => {
    for (const entry of [
      undefined,
      'bazaar',
      { info: { input: { type: 'http' } } },
      { info: { input: { type: 'ftp' } }, schema: {} },
      { info: { input: { type: 'http', method: 'POST' } }, schema: {} },
      { info: { input: { type: 'http', method: 'GET', bodyType: 'json', body: {} } }, schema: {} },
      { info: { input: { type: 'mcp', inputSchema: {} } }, schema: {} },
    ]) {
      const checked = checkBazaarDeclaration(entry);
      assert.equal(checked.ok, false, JSON.stringify(entry));
      if (!checked.ok) assert.equal(checked.reason, 'bazaar_declaration_malformed');
    }
  });

  test('larger than the cap: bazaar_declaration_too_large, measured in bytes', () => {
    const big = declareBazaar({
      input: { example: { blob: 'é'.repeat(BAZAAR_MAX_DECLARATION_BYTES / 2) } },
    });
    const checked = checkBazaarDeclaration(big);
    assert.equal(checked.ok, false);
    if (!checked.ok) assert.equal(checked.reason, 'bazaar_declaration_too_large');
    assert.equal(checkBazaarDeclaration(weather, { maxBytes: 100 }).ok, false);
  });

  test('a schema that refers outside itself: bazaar_schema_external_ref', () => {
    const checked = checkBazaarDeclaration({
      ...weather,
      schema: { ...weather.schema, properties: { input: { $ref: 'https://evil.example/s.json' } } },
    });
    assert.equal(checked.ok, false);
    if (!checked.ok) assert.equal(checked.reason, 'bazaar_schema_external_ref');
    assert.equal(
      checkBazaarDeclaration({
        ...weather,
        schema: { ...weather.schema, $defs: {}, $ref: '#/$defs' },
      }).ok,
      true,
    );
  });

  test('an output with only its type (text, no example) is accepted', () => {
    const info = { input: { type: 'http', method: 'GET' }, output: { type: 'text' } };
    assert.equal(checkBazaarDeclaration({ info, schema: {} }).ok, true);
  });

  test('an MCP tool under either spelling is accepted', () => {
    for (const input of [
      { type: 'mcp', tool: 'forecast', inputSchema: { type: 'object' } },
      { type: 'mcp', toolName: 'forecast', inputSchema: { type: 'object' } },
    ])
      assert.equal(checkBazaarDeclaration({ info: { input }, schema: {} }).ok, true);
  });
});

describe('route templates', () => {
  test('safe templates pass; traversal and URLs, even percent-encoded, do not', () => {
    assert.equal(isValidRouteTemplate('/users/:id'), true);
    for (const bad of [
      'users/:id',
      '/users/../admin',
      '/a/%2e%2e/b',
      '/x/http%3A%2F%2Fevil',
      '/a b',
    ])
      assert.equal(isValidRouteTemplate(bad), false, bad);
  });
});

describe('discoveryEntryOf', () => {
  const payload = (
    extensions: Record<string, unknown> | undefined,
    url = 'https://api.example/weather?x=1',
  ) => ({
    resource: {
      url,
      description: 'Weather',
      serviceName: 'Weather Co',
      tags: ['a', 'A', 'b', '\u0001', 'c', 'd', 'e', 'f'],
    },
    ...(extensions ? { extensions } : {}),
  });

  test('no bazaar entry: absent', () => {
    assert.deepEqual(discoveryEntryOf(payload(undefined), requirements), { status: 'absent' });
  });

  test('an entry keyed by method and canonical resource, with sanitized tags', () => {
    const found = discoveryEntryOf(payload({ bazaar: weather }), requirements);
    assert.equal(found.status, 'entry');
    if (found.status !== 'entry') return;
    assert.equal(found.entry.key, 'http GET https://api.example/weather');
    assert.equal(found.entry.resource, 'https://api.example/weather');
    assert.equal(found.entry.payTo, SELLER);
    assert.deepEqual(found.entry.tags, ['a', 'A', 'b', 'c', 'd']);
    assert.equal(found.entry.serviceName, 'Weather Co');
  });

  test('a valid routeTemplate is the catalog key; an invalid one falls back to the path', () => {
    const templated = discoveryEntryOf(
      payload(
        { bazaar: { ...weather, routeTemplate: '/users/:id' } },
        'https://api.example/users/7',
      ),
      requirements,
    );
    assert.equal(
      templated.status === 'entry' && templated.entry.resource,
      'https://api.example/users/:id',
    );
    const traversal = discoveryEntryOf(
      payload(
        { bazaar: { ...weather, routeTemplate: '/../admin' } },
        'https://api.example/users/7',
      ),
      requirements,
    );
    assert.equal(
      traversal.status === 'entry' && traversal.entry.resource,
      'https://api.example/users/7',
    );
  });

  test('no http(s) resource URL: bazaar_resource_invalid', () => {
    for (const url of [
      'ftp://api.example/x',
      'not a url',
      `https://a.example/${'x'.repeat(2100)}`,
      'https://u:p@a.example/',
    ]) {
      const found = discoveryEntryOf(payload({ bazaar: weather }, url), requirements);
      assert.equal(found.status === 'refused' && found.reason, 'bazaar_resource_invalid', url);
    }
  });

  test('an oversized declaration is refused with its reason', () => {
    const found = discoveryEntryOf(payload({ bazaar: weather }), requirements, { maxBytes: 64 });
    assert.equal(found.status === 'refused' && found.reason, 'bazaar_declaration_too_large');
  });
});

describe('the discovery list query', () => {
  test('defaults and bounds', () => {
    assert.deepEqual(DiscoveryListQuerySchema.parse({}), { limit: 20, offset: 0 });
    assert.deepEqual(DiscoveryListQuerySchema.parse({ type: 'http', limit: '100', offset: '5' }), {
      type: 'http',
      limit: 100,
      offset: 5,
    });
    for (const bad of [
      { limit: '0' },
      { limit: '101' },
      { offset: '-1' },
      { limit: '1e3' },
      { type: 'ftp' },
      { sort: 'x' },
    ])
      assert.equal(DiscoveryListQuerySchema.safeParse(bad).success, false, JSON.stringify(bad));
  });
});
