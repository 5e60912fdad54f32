import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CLIENT_REASON_CODES } from '../client/errors.js';
import { SERVER_REASON_CODES } from '../server/reasons.js';
import { describeReason, REASON_CODES } from './reasons.js';

// x402 v2 specification §9 (without its EVM-specific codes), plus the newer `settlement_pending`.
const SPEC_CODES = new Set([
  'insufficient_funds',
  'invalid_network',
  'invalid_payload',
  'invalid_payment_requirements',
  'invalid_scheme',
  'unsupported_scheme',
  'invalid_x402_version',
  'invalid_transaction_state',
  'unexpected_verify_error',
  'unexpected_settle_error',
  'settlement_pending',
]);

// Settlement outcomes outside the spec list that the reference SDK and x402-stacks 2.x also send.
const ECOSYSTEM_CODES = new Set(['duplicate_settlement', 'transaction_failed', 'broadcast_failed']);

// Codes this library only throws (header codecs, input checks); they never travel on the wire.
const LIBRARY_CODES = new Set([
  'header_too_large',
  'invalid_header_encoding',
  'invalid_header_json',
  'invalid_header_schema',
  'unknown_network',
  'unknown_asset',
  'invalid_amount',
  'invalid_address',
  'invalid_private_key',
  'invalid_mnemonic',
  'invalid_payment_options',
  'invalid_transaction_id',
  'chain_unreachable',
  'chain_rate_limited',
  'chain_bad_response',
  'invalid_chain_input',
]);

// What a facilitator refuses before it spends its operator's money or capacity (sponsorship and in-flight limits), and
// its configuration error.
const FACILITATOR_CODES = new Set([
  'insufficient_funds_in_flight',
  'sponsor_capacity_exhausted',
  'sponsor_balance_low',
  'sponsor_limit_exceeded',
  'sponsor_pay_to_not_allowed',
  'nonce_wait_capacity_exhausted',
  'settlement_cancelled',
  'invalid_facilitator_config',
]);

// The x402 extensions' own refusals (the spec names the conflict only by its HTTP status, 409).
const EXTENSION_CODES = new Set([
  'invalid_payment_identifier',
  'payment_identifier_required',
  'payment_identifier_conflict',
]);

// Codes the seller middleware answers with (its JSON `error`) and the buyer wrappers throw; each is also its own
// subset map, checked below to take its explanations from REASON_CODES.
const SERVER_CODES = new Set(Object.keys(SERVER_REASON_CODES));
const CLIENT_CODES = new Set(Object.keys(CLIENT_REASON_CODES));

const STACKS_PREFIX = 'invalid_exact_stacks_payload_';
// The batch-settlement scheme's codes, named after upstream's invalid_batch_settlement_evm_* (docs/batch-settlement-stacks.md).
const BATCH_PREFIX = 'invalid_batch_settlement_stacks_';
const codes = Object.keys(REASON_CODES);

describe('REASON_CODES', () => {
  test('every key is snake_case', () => {
    for (const code of codes) assert.match(code, /^[a-z][a-z0-9_]*$/, code);
  });

  test('every explanation is one non-empty line ending with a period', () => {
    for (const [code, explanation] of Object.entries(REASON_CODES)) {
      assert.ok(explanation.trim().length > 1, code);
      assert.equal(explanation.includes('\n'), false, code);
      assert.equal(explanation, explanation.trim(), code);
      assert.match(explanation, /\.$/, code);
    }
  });

  test('every code is a spec code, a Stacks scheme code, or classified below', () => {
    for (const code of codes) {
      const classified =
        SPEC_CODES.has(code) ||
        code.startsWith(STACKS_PREFIX) ||
        code.startsWith(BATCH_PREFIX) ||
        ECOSYSTEM_CODES.has(code) ||
        FACILITATOR_CODES.has(code) ||
        EXTENSION_CODES.has(code) ||
        SERVER_CODES.has(code) ||
        CLIENT_CODES.has(code) ||
        LIBRARY_CODES.has(code);
      assert.ok(classified, `${code} is not classified; add it to a list in this test`);
    }
  });

  test('every Stacks-specific code follows its scheme convention (invalid_exact_stacks_payload_, invalid_batch_settlement_stacks_)', () => {
    const stacksCodes = codes.filter((code) => code.includes('stacks'));
    assert.ok(stacksCodes.length > 0);
    for (const code of stacksCodes) {
      assert.ok(code.startsWith(STACKS_PREFIX) || code.startsWith(BATCH_PREFIX), code);
    }
  });

  test('every spec code is present', () => {
    for (const code of SPEC_CODES) assert.ok(code in REASON_CODES, code);
  });

  test('the codec error reasons are present', () => {
    for (const code of LIBRARY_CODES) assert.ok(code in REASON_CODES, code);
  });
});

describe('describeReason', () => {
  test('returns the explanation of a known code', () => {
    assert.equal(describeReason('insufficient_funds'), REASON_CODES.insufficient_funds);
    assert.equal(
      describeReason('invalid_exact_stacks_payload_amount_mismatch'),
      'The transferred amount is not exactly the required amount.',
    );
  });

  test('names an unknown code instead of failing', () => {
    assert.equal(
      describeReason('invalid_exact_evm_payload_signature'),
      'Unknown reason: invalid_exact_evm_payload_signature',
    );
    assert.equal(describeReason(''), 'Unknown reason: ');
  });

  test('does not treat Object.prototype members as codes', () => {
    assert.equal(describeReason('toString'), 'Unknown reason: toString');
    assert.equal(describeReason('__proto__'), 'Unknown reason: __proto__');
  });

  test('the seller and buyer maps are slices of this one, word for word', () => {
    for (const map of [SERVER_REASON_CODES, CLIENT_REASON_CODES]) {
      for (const [code, explanation] of Object.entries(map)) {
        assert.equal(explanation, (REASON_CODES as Record<string, string>)[code], code);
      }
    }
    assert.equal(describeReason('payment_over_budget'), CLIENT_REASON_CODES.payment_over_budget);
  });
});
