import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { querySecrets, redactQueryPairs, redactSecrets, redactUrl } from './redact.js';

describe('redactUrl', () => {
  test('replaces user and password with ***', () => {
    assert.equal(
      redactUrl('https://alice:s3cret@node.example:3999/v2/info'),
      'https://***@node.example:3999/v2/info',
    );
  });

  test('replaces a user without a password', () => {
    assert.equal(redactUrl('https://token123@node.example/'), 'https://***@node.example/');
  });

  test('replaces credential-like query parameters and keeps the others', () => {
    assert.equal(
      redactUrl('https://node.example/v2/accounts/SP1?proof=0&api_key=k1&apiKey=k2&token=t'),
      'https://node.example/v2/accounts/SP1?proof=0&api_key=***&apiKey=***&token=***',
    );
  });

  test('replaces every parameter whose name holds a credential word, however it is spelt', () => {
    assert.equal(
      redactUrl(
        'https://n.example/v2/info?x-api-key=a1&apikey2=b2&client_secret=c3&X-Amz-Signature=d4&limit=5',
      ),
      'https://n.example/v2/info?x-api-key=***&apikey2=***&client_secret=***&X-Amz-Signature=***&limit=5',
    );
  });

  test('keeps parameters whose names only hold a credential word inside another word', () => {
    const url = 'https://n.example/search?author=a&signal=b&keyword=c&passage=d';
    assert.equal(redactUrl(url), url);
  });

  test('hides the parameters it is told to, whatever their names', () => {
    assert.equal(
      redactUrl('https://n.example/v2/info?tenant=t1&limit=5', [], new Set(['tenant'])),
      'https://n.example/v2/info?tenant=***&limit=5',
    );
  });

  test('replaces given secrets wherever they appear, plain or URL-encoded', () => {
    assert.equal(
      redactUrl('https://proxy.example/keys/k3y+1/v2/info?x=k3y%2B1', ['k3y+1']),
      'https://proxy.example/keys/***/v2/info?x=***',
    );
  });

  test('leaves a URL without credentials as it is', () => {
    const url = 'https://api.testnet.hiro.so/extended/v1/tx/0xabc?event_limit=10';
    assert.equal(redactUrl(url), url);
    assert.equal(redactUrl(new URL(url)), url);
  });

  test('redacts text that is not a URL', () => {
    assert.equal(redactUrl('//alice:s3cret@node.example'), '//***@node.example');
    assert.equal(redactUrl('http://alice:s3cret@[bad/x'), 'http://***@[bad/x');
    assert.equal(redactUrl('not a url'), 'not a url');
  });
});

describe('redactSecrets', () => {
  test('replaces every occurrence, longest secret first', () => {
    assert.equal(
      redactSecrets('a=abcd, b=abcdef, c=abcd', ['abcd', 'abcdef']),
      'a=***, b=***, c=***',
    );
  });

  test('ignores empty and very short secrets instead of mangling the text', () => {
    assert.equal(redactSecrets('status 500 at node', ['', '5', 'at']), 'status 500 at node');
  });
});

describe('redactQueryPairs and querySecrets', () => {
  test('hides the value of each named pair, however short, where a query or a sentence has it', () => {
    const names = new Set(['tenant', 'a.b']);
    assert.equal(
      redactQueryPairs(
        'see /x?tenant=t1&other=o1 or "tenant=t2", tenant=t3; a.b=4&amp;tenant=t5 aXb=6 mytenant=7',
        names,
      ),
      // A value runs to the next &, #, space, quote or angle bracket: the ; after t3 goes with it.
      'see /x?tenant=***&other=o1 or "tenant=***", tenant=*** a.b=***&amp;tenant=*** aXb=6 mytenant=7',
    );
  });

  test('names no pair: the text is unchanged', () => {
    assert.equal(redactQueryPairs('tenant=t1', new Set()), 'tenant=t1');
  });

  test('only a base query value of 8 or more characters is a secret in free text', () => {
    assert.deepEqual(
      querySecrets(new URL('https://node.example/?network=testnet&id=k3y-in-url&n=12345678')),
      ['k3y-in-url', '12345678'],
    );
  });

  test('a value with a + or an escape is hidden as decoded and as written in the URL', () => {
    assert.deepEqual(querySecrets(new URL('https://node.example/?token=abcd+efgh&k=p%2Fq-long1')), [
      'abcd efgh',
      'p/q-long1',
      'abcd+efgh',
      'p%2Fq-long1',
    ]);
    assert.equal(
      redactSecrets(
        'echo https://node.example/x?token=abcd+efgh: bad',
        querySecrets(new URL('https://node.example/?token=abcd+efgh')),
      ),
      'echo https://node.example/x?token=***: bad',
    );
  });
});
