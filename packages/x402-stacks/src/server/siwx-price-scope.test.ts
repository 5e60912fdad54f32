/**
 * Attack review: sign-in-with-x on a route whose price depends on the request. A sign-in is judged by the scope (the
 * resource URL without its query), so a payment of the cheap price must not open the same URL at a dearer one.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { entry, paid, scripted } from '@x402-stacks/test-kit/server-doubles';
import {
  createSiwxStacksProof,
  encodeSiwxHeader,
  readSiwxDeclaration,
  type SiwxInfo,
} from 'x402-stacks/extensions';
import { decodePaymentRequiredHeader } from 'x402-stacks/protocol';
import { type Admission, createResourceServer, type PaywallRequest } from 'x402-stacks/server';
import { privateKeyToAccount, signStructuredData } from 'x402-stacks/stacks';

const KEY = '7287ba251d44a4d3fd9276c88ce34c5c52a038955511cccaf77e61068649c17801';
const buyer = privateKeyToAccount(KEY, 'testnet');
const START = Date.parse('2026-03-01T12:00:00.000Z');

type Rows = { readonly rows: bigint };
const at = (rows: bigint, headers: Record<string, string> = {}): PaywallRequest<Rows> => ({
  url: `http://seller.test/api/rows?rows=${rows}`,
  header: (name) => headers[name],
  request: { rows },
});

function infoOf(admission: Admission): SiwxInfo {
  assert.equal(admission.action, 'reply');
  if (admission.action !== 'reply') throw new Error('unreachable');
  const required = decodePaymentRequiredHeader(admission.reply.headers['payment-required']!);
  const declared = readSiwxDeclaration(required.extensions);
  assert.ok(declared);
  return declared.info;
}

describe('sign-in-with-x with a price per request', () => {
  test('a payment of 1 row (100 µSTX) does not sign the payer in to 1,000,000 rows', async () => {
    const server = createResourceServer<Rows>({
      amount: (request) => request.rows * 100n,
      payTo: entry.payTo,
      network: 'testnet',
      sponsored: false,
      facilitator: scripted({
        settle: async () => ({
          success: true,
          transaction: 'ab'.repeat(32),
          network: 'stacks:2147483648',
          payer: buyer.address,
        }),
      }),
      signInWithX: { origin: 'http://seller.test', accessMs: 3_600_000, clock: () => START },
    });
    const cheap = { ...entry, amount: '100' };
    assert.equal((await server.admit(at(1n, paid(cheap)))).action, 'serve');

    const info = infoOf(await server.admit(at(1_000_000n)));
    const proof = await createSiwxStacksProof(info, 'stacks:2147483648', buyer.address, (d, m) =>
      signStructuredData(KEY, d, m),
    );
    const dear = await server.admit(at(1_000_000n, { 'sign-in-with-x': encodeSiwxHeader(proof) }));
    assert.equal(dear.action, 'reply', 'served 100,000,000 µSTX of rows on a 100 µSTX payment');

    // The price it paid still signs it in.
    const again = await createSiwxStacksProof(
      infoOf(await server.admit(at(1n))),
      'stacks:2147483648',
      buyer.address,
      (d, m) => signStructuredData(KEY, d, m),
    );
    const same = await server.admit(at(1n, { 'sign-in-with-x': encodeSiwxHeader(again) }));
    assert.equal(same.action, 'serve');
  });
});
