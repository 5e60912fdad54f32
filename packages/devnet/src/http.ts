/**
 * The node and Hiro API routes over a devnet chain, plus `/devnet/*` admin routes. Hono, served by @hono/node-server.
 * @module
 */
import { hexToBytes } from '@stacks/common';
import { Cl, type ClarityValue, cvToHex, hexToCV } from '@stacks/transactions';
import { type Context, Hono } from 'hono';
import { STACKS_NETWORKS } from 'x402-stacks';
import { parsePrincipal } from 'x402-stacks/stacks';
import type { DevnetChain, DroppedStatus, Fault } from './chain.js';
import { argumentsFit, ESCROW_READ_ONLY_FUNCTIONS } from './escrow-types.js';
import { accountJson, balancesJson, infoJson, noncesJson, transactionJson } from './hiro.js';
import { tokenAssetId } from './tokens.js';

/** Called after every accepted broadcast; the on-broadcast mining mode mines here. */
export type DevnetHooks = { afterBroadcast?: () => void };

const HEX = /^(0x)?([0-9a-fA-F]{2})+$/;
const TXID = /^(0x)?[0-9a-fA-F]{64}$/;
const BODY_ERROR = 'the body must be a JSON object';
/** The faucet credits at most 2^64 - 1 per asset per call, so balances stay far inside u128. */
const MAX_FAUCET_AMOUNT = 2n ** 64n - 1n;
const DROPPED_STATUSES: readonly string[] = [
  'dropped_replace_by_fee',
  'dropped_replace_across_fork',
  'dropped_too_expensive',
  'dropped_stale_garbage_collect',
  'dropped_problematic',
];

/** A c32check principal; `testnetOnly` also requires a testnet version, as funds on this chain need. */
function isPrincipal(value: string, testnetOnly = false): boolean {
  try {
    parsePrincipal(value, testnetOnly ? STACKS_NETWORKS.testnet : undefined);
    return true;
  } catch {
    return false;
  }
}

/** The request body as a JSON object: `{}` when empty, undefined when it is anything but an object. */
async function readObject(c: Context): Promise<Record<string, unknown> | undefined> {
  const text = await c.req.text();
  if (text.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Builds the HTTP app for a chain.
 * @example
 * ```ts
 * const app = createDevnetApp(new DevnetChain());
 * const response = await app.request('/v2/info');
 * ```
 */
export function createDevnetApp(chain: DevnetChain, hooks: DevnetHooks = {}): Hono {
  const app = new Hono();

  app.post('/v2/transactions', async (c) => {
    const type = c.req.header('content-type') ?? '';
    let raw: Uint8Array;
    if (type.startsWith('application/octet-stream')) {
      raw = new Uint8Array(await c.req.arrayBuffer());
    } else if (type.startsWith('application/json')) {
      const body = (await c.req.json().catch(() => undefined)) as { tx?: unknown } | undefined;
      if (typeof body?.tx !== 'string' || !HEX.test(body.tx)) {
        return c.text('Failed to decode transaction: expected {"tx": "<hex>"}', 400);
      }
      raw = hexToBytes(body.tx.replace(/^0x/, ''));
    } else {
      return c.text(
        'Unsupported content type: use application/json or application/octet-stream',
        400,
      );
    }
    const result = chain.broadcast(raw);
    if (!result.accepted) {
      const { accepted: _, txid, reason, reason_data } = result;
      return c.json(
        {
          error: 'transaction rejected',
          reason,
          ...(reason_data ? { reason_data } : {}),
          ...(txid ? { txid } : {}),
        },
        400,
      );
    }
    hooks.afterBroadcast?.();
    return c.json(result.txid);
  });

  app.get('/v2/info', (c) => c.json(infoJson(chain)));

  app.get('/v2/accounts/:principal', (c) => {
    const principal = c.req.param('principal');
    if (!isPrincipal(principal)) return c.text('Invalid principal', 400);
    return c.json(accountJson(chain, principal));
  });

  app.get('/v2/fees/transfer', (c) => c.json(1));

  app.post('/v2/fees/transaction', async (c) => {
    const body = (await c.req.json().catch(() => undefined)) as
      | { estimated_len?: unknown }
      | undefined;
    const length = Number(body?.estimated_len ?? 0);
    // Sized like a real estimate: never below the 1 micro-STX per byte admission floor of a ~180-byte transfer.
    const bytes = Math.max(Number.isSafeInteger(length) ? length : 0, 180);
    return c.json({
      estimated_cost: {
        write_length: 0,
        write_count: 0,
        read_length: 0,
        read_count: 0,
        runtime: 0,
      },
      estimated_cost_scalar: 1,
      cost_scalar_change_by_byte: 0.00476837158203125,
      estimations: [1, 2, 3].map((rate) => ({ fee_rate: rate, fee: bytes * rate })),
    });
  });

  app.post('/v2/contracts/call-read/:address/:name/get-balance', async (c) => {
    const contractId = `${c.req.param('address')}.${c.req.param('name')}`;
    const token = chain.tokens.get(contractId);
    if (!token) return c.text(`No contract ${contractId}`, 404);
    const body = (await c.req.json().catch(() => undefined)) as
      | { arguments?: unknown[] }
      | undefined;
    const [argument] = body?.arguments ?? [];
    let owner: string | undefined;
    try {
      const value = typeof argument === 'string' ? hexToCV(argument) : undefined;
      if (value?.type === 'address' || value?.type === 'contract') owner = value.value;
    } catch {
      owner = undefined;
    }
    if (!owner) return c.json({ okay: false, cause: 'get-balance takes one principal argument' });
    const balance = chain.state.token(tokenAssetId(token), owner);
    return c.json({ okay: true, result: cvToHex(Cl.ok(Cl.uint(balance))) });
  });

  // Every read-only function of a preloaded batch-escrow, as the node answers `call-read`: `{okay, result}` with the
  // value's hex, or `{okay: false, cause}` for arguments that do not fit.
  app.post('/v2/contracts/call-read/:address/:name/:function', async (c) => {
    const contractId = `${c.req.param('address')}.${c.req.param('name')}`;
    const escrow = chain.escrows.get(contractId);
    if (!escrow) return c.text(`No contract ${contractId}`, 404);
    const fn = c.req.param('function');
    const types = ESCROW_READ_ONLY_FUNCTIONS[fn];
    if (!types)
      return c.json({ okay: false, cause: `Unchecked(NoSuchFunction("${contractId}", "${fn}"))` });
    const body = (await c.req.json().catch(() => undefined)) as { arguments?: unknown } | undefined;
    const raw = Array.isArray(body?.arguments) ? body.arguments : [];
    let args: ClarityValue[];
    try {
      args = raw.map((argument) => {
        if (typeof argument !== 'string') throw new Error('not hex');
        return hexToCV(argument);
      });
    } catch {
      return c.json({ okay: false, cause: 'arguments must be hex-serialized Clarity values' });
    }
    if (!argumentsFit(types, args)) {
      return c.json({ okay: false, cause: `the arguments do not fit ${fn}` });
    }
    return c.json({ okay: true, result: cvToHex(escrow.readOnly(fn, args)) });
  });

  // Before `/extended/v1/tx/:txid`, which would take `multiple` for a txid. Each id is answered under the key it was
  // asked by, found or not, as Hiro's API answers.
  app.get('/extended/v1/tx/multiple', (c) => {
    const ids = c.req.queries('tx_id') ?? [];
    if (ids.length === 0) return c.json({ error: 'tx_id is required' }, 400);
    const answers: Record<string, unknown> = {};
    for (const id of ids) {
      if (!TXID.test(id)) return c.json({ error: `invalid tx_id ${id}` }, 400);
      const record = chain.transaction(id);
      answers[id] = record
        ? { found: true, result: transactionJson(record) }
        : { found: false, result: { tx_id: id } };
    }
    return c.json(answers);
  });

  app.get('/extended/v1/tx/:txid', (c) => {
    const record = chain.transaction(c.req.param('txid'));
    if (!record) {
      return c.json({ error: `could not find transaction by ID ${c.req.param('txid')}` }, 404);
    }
    return c.json(transactionJson(record));
  });

  app.get('/extended/v1/address/:principal/nonces', (c) => {
    const principal = c.req.param('principal');
    if (!isPrincipal(principal)) return c.json({ error: 'invalid principal' }, 400);
    return c.json(noncesJson(chain, principal));
  });

  app.get('/extended/v1/address/:principal/balances', (c) => {
    const principal = c.req.param('principal');
    if (!isPrincipal(principal)) return c.json({ error: 'invalid principal' }, 400);
    return c.json(balancesJson(chain, principal));
  });

  // Admin routes: not part of any real node.
  app.get('/devnet/accounts', (c) =>
    c.json(
      chain.accounts.map(({ name, address, privateKey }) => ({
        name,
        address,
        privateKey,
        stx: chain.state.stx(address).toString(),
        nonce: Number(chain.state.nonce(address)),
      })),
    ),
  );

  app.post('/devnet/mine', async (c) => {
    const body = await readObject(c);
    if (!body) return c.json({ error: BODY_ERROR }, 400);
    const count = Number(body.blocks ?? 1);
    if (!Number.isSafeInteger(count) || count < 1 || count > 1000) {
      return c.json({ error: 'blocks must be an integer from 1 to 1000' }, 400);
    }
    const blocks = chain.mine(count);
    return c.json({ stalled: chain.stalled, blocks });
  });

  app.post('/devnet/stall', async (c) => {
    const body = await readObject(c);
    if (!body) return c.json({ error: BODY_ERROR }, 400);
    if (typeof body.stalled !== 'boolean')
      return c.json({ error: 'stalled must be true or false' }, 400);
    chain.stall(body.stalled);
    return c.json({ stalled: chain.stalled });
  });

  app.post('/devnet/faucet', async (c) => {
    const body = await readObject(c);
    if (!body) return c.json({ error: BODY_ERROR }, 400);
    const address = body.address;
    if (typeof address !== 'string' || !isPrincipal(address, true)) {
      return c.json(
        { error: 'address must be a testnet Stacks principal (ST…, SN…, optionally .contract)' },
        400,
      );
    }
    const amounts: { stx?: bigint; sBTC?: bigint; USDCx?: bigint } = {};
    for (const key of ['stx', 'sBTC', 'USDCx'] as const) {
      const value = body[key];
      if (value === undefined) continue;
      if (
        typeof value !== 'string' ||
        !/^\d{1,20}$/.test(value) ||
        BigInt(value) > MAX_FAUCET_AMOUNT
      ) {
        return c.json({ error: `${key} must be an atomic amount as a string of digits` }, 400);
      }
      amounts[key] = BigInt(value);
    }
    if (Object.keys(amounts).length === 0) amounts.stx = 1_000_000_000n;
    chain.fund(address, amounts);
    return c.json({
      address,
      funded: Object.fromEntries(Object.entries(amounts).map(([k, v]) => [k, v.toString()])),
    });
  });

  app.post('/devnet/faults', async (c) => {
    const body = await readObject(c);
    if (!body) return c.json({ error: BODY_ERROR }, 400);
    const target = body.txid === undefined ? 'next' : body.txid;
    if (typeof target !== 'string')
      return c.json({ error: 'txid must be a string or omitted for the next transaction' }, 400);
    let fault: Fault;
    switch (body.kind) {
      case 'delay':
        fault = { kind: 'delay', blocks: Number(body.blocks ?? 1) };
        if (!Number.isSafeInteger(fault.blocks) || fault.blocks < 0) {
          return c.json({ error: 'blocks must be a non-negative integer' }, 400);
        }
        break;
      case 'drop':
        fault = {
          kind: 'drop',
          ...(typeof body.status === 'string' ? { status: body.status as DroppedStatus } : {}),
        };
        if (fault.status && !DROPPED_STATUSES.includes(fault.status)) {
          return c.json({ error: `status must be one of ${DROPPED_STATUSES.join(', ')}` }, 400);
        }
        break;
      case 'abort':
        fault = {
          kind: 'abort',
          ...(body.status === 'abort_by_post_condition'
            ? { status: 'abort_by_post_condition' as const }
            : {}),
        };
        break;
      default:
        return c.json({ error: 'kind must be delay, drop or abort' }, 400);
    }
    const applied = chain.injectFault(target, fault);
    if (!applied) return c.json({ error: `transaction ${target} is not pending` }, 404);
    return c.json({ txid: target, fault });
  });

  app.get('/devnet/state', (c) => c.json(chain.toJSON()));

  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${c.req.path}` }, 404));
  return app;
}
