/**
 * Re-validation on a fake clock: the scheduler claims due listings, records every check, and moves listings through
 * pending → active ⇄ degraded → failing → delisted with hysteresis; a 410 delists at once; payTo changes are
 * flagged and versioned.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import {
  type CheckOutcome,
  createRegistry,
  createScheduler,
  type Health,
  MONITOR_POLICY,
  nextHealth,
  type Registry,
  type RegistryStore,
  type Scheduler,
} from '../src/index.js';
import { type Answer, docsDocument, jsonAnswer, TESTNET_PAY_TO } from './fixtures.js';
import { fakeClock, scriptedFetcher, tempSqliteStore } from './helpers.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const URL_A = 'https://weather.example/current';

describe('nextHealth', () => {
  const start: Health = { status: 'active', consecutiveFailures: 0, failingSince: null };
  const run = (outcomes: CheckOutcome[], stepMs = 10 * MINUTE) => {
    let health: Health = start;
    const statuses: string[] = [];
    let now = 0;
    for (const outcome of outcomes) {
      now += stepMs;
      health = nextHealth(health, outcome, now, -10 * 24 * HOUR, 0);
      statuses.push(health.status);
    }
    return statuses;
  };

  test('three hard failures in a row before failing', () => {
    assert.deepEqual(run(['hard_failure', 'hard_failure', 'hard_failure']), [
      'degraded',
      'degraded',
      'failing',
    ]);
  });
  test('a good probe in between resets the count', () => {
    assert.deepEqual(run(['hard_failure', 'hard_failure', 'ok', 'hard_failure', 'hard_failure']), [
      'degraded',
      'degraded',
      'active',
      'degraded',
      'degraded',
    ]);
  });
  test('soft failures degrade but never fail a listing', () => {
    assert.deepEqual(run(Array(6).fill('soft_failure')), Array(6).fill('degraded'));
  });
  test('a day of failing delists', () => {
    const statuses = run(Array(6).fill('hard_failure'), 8 * HOUR);
    assert.deepEqual(statuses, [
      'degraded',
      'degraded',
      'failing',
      'failing',
      'failing',
      'delisted',
    ]);
  });
  test('410 delists at once, and the first good probe re-activates', () => {
    assert.deepEqual(run(['gone', 'hard_failure', 'ok']), ['delisted', 'delisted', 'active']);
  });
  test('hard failures back off exponentially up to a day', () => {
    let health: Health = start;
    const gaps: number[] = [];
    for (let i = 0; i < 12; i++) {
      const next = nextHealth(health, 'hard_failure', 0, -10 * 24 * HOUR, 0);
      if (next.status !== 'delisted') gaps.push(next.nextCheckAt);
      health = next;
    }
    assert.deepEqual(
      gaps.slice(0, 4),
      [5, 10, 20, 40].map((m) => m * MINUTE),
    );
    assert.equal(Math.max(...gaps), MONITOR_POLICY.backoffMaxMs);
  });
  test('fresh listings are checked every 15 minutes, older ones hourly with jitter', () => {
    const fresh = nextHealth(start, 'ok', 1000, 0, 0.5);
    assert.equal(fresh.nextCheckAt, 1000 + 15 * MINUTE);
    const old = nextHealth(start, 'ok', 2 * 24 * HOUR, 0, 0.5);
    assert.equal(old.nextCheckAt - 2 * 24 * HOUR, 1.5 * HOUR);
  });
});

describe('scheduler', () => {
  let opened: Awaited<ReturnType<typeof tempSqliteStore>>;
  let store: RegistryStore;
  let registry: Registry;
  let scheduler: Scheduler;
  const clock = fakeClock();
  const answers = new Map<string, Answer | Error>();
  const fetcher = scriptedFetcher(answers);

  beforeEach(async () => {
    opened = await tempSqliteStore();
    store = opened.store;
    answers.clear();
    answers.set(URL_A, jsonAnswer(docsDocument(URL_A, { payTo: TESTNET_PAY_TO })));
    registry = createRegistry({ store, fetcher, clock });
    scheduler = createScheduler({ store, fetcher, clock, owner: 'test' });
  });
  afterEach(() => opened.close());

  async function registered() {
    const result = await registry.register({ url: URL_A });
    assert.ok(result.stored, JSON.stringify(result.findings));
    return result.stored.id;
  }
  async function tick(ms: number) {
    clock.advance(ms);
    return scheduler.runOnce();
  }
  const statusOf = async (id: string) => (await store.get(id))!.status;

  test('nothing is checked before it is due; a due listing is checked once', async () => {
    const id = await registered();
    assert.equal(await statusOf(id), 'pending');
    assert.equal(await tick(14 * MINUTE), 0);
    assert.equal(await tick(MINUTE), 1);
    assert.equal(await statusOf(id), 'active');
    assert.equal(await scheduler.runOnce(), 0);
    const checks = await store.checks(id);
    assert.deepEqual(
      checks.map((c) => [c.outcome, c.httpStatus, c.statusAfter]),
      [
        ['ok', 402, 'active'],
        ['ok', 402, 'pending'],
      ],
    );
    assert.ok(checks.every((c) => c.latencyMs === 12));
  });

  test('the full path: degraded on 503, failing after three hard failures, delisted after a day, back on a good probe', async () => {
    const id = await registered();
    await tick(15 * MINUTE);
    answers.set(URL_A, { status: 503, body: 'busy' });
    await tick(HOUR);
    assert.equal(await statusOf(id), 'degraded');
    assert.equal((await store.get(id))!.consecutiveFailures, 0);

    answers.set(URL_A, { status: 404, body: 'gone?' });
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      await tick(HOUR);
      seen.push(await statusOf(id));
    }
    assert.deepEqual(seen, ['degraded', 'degraded', 'failing']);
    const failingSince = (await store.get(id))!.failingSince!;

    // Still failing until a check lands a day after failing began.
    while (clock.now() - failingSince < MONITOR_POLICY.failingBeforeDelistedMs) {
      await tick(HOUR);
      if (clock.now() - failingSince < MONITOR_POLICY.failingBeforeDelistedMs) {
        assert.equal(await statusOf(id), 'failing');
      }
    }
    await tick(24 * HOUR);
    assert.equal(await statusOf(id), 'delisted');

    const listed = await store.search({ sort: 'newest', limit: 10 });
    assert.equal(listed.total, 0, 'delisted listings are hidden by default');
    const searched = await store.search({ q: 'weather', sort: 'newest', limit: 10 });
    assert.deepEqual(
      [searched.total, searched.items.length],
      [0, 0],
      'also from full-text search and its count',
    );
    const hidden = await store.search({ sort: 'newest', limit: 10, statuses: ['delisted'] });
    assert.deepEqual(
      hidden.items.map((i) => i.id),
      [id],
    );

    answers.set(URL_A, jsonAnswer(docsDocument(URL_A, { payTo: TESTNET_PAY_TO })));
    await tick(24 * HOUR);
    assert.equal(await statusOf(id), 'active');
  });

  test('a 410 delists at once', async () => {
    const id = await registered();
    answers.set(URL_A, { status: 410, body: 'gone' });
    await tick(15 * MINUTE);
    assert.equal(await statusOf(id), 'delisted');
    assert.equal((await store.checks(id))[0]!.outcome, 'gone');
  });

  test('a connection failure counts as hard, with the probe failure as the reason', async () => {
    const id = await registered();
    const { ProbeError } = await import('../src/index.js');
    answers.set(URL_A, new ProbeError('connection_failed', 'refused'));
    await tick(15 * MINUTE);
    const [check] = await store.checks(id);
    assert.deepEqual(
      [check!.outcome, check!.reason, check!.httpStatus],
      ['hard_failure', 'connection_failed', null],
    );
  });

  test('a changed payTo is flagged and versioned; a changed price adds a version; an unchanged probe does not', async () => {
    const id = await registered();
    await tick(15 * MINUTE);
    assert.equal((await store.versions(id)).length, 1);
    answers.set(
      URL_A,
      jsonAnswer(docsDocument(URL_A, { payTo: TESTNET_PAY_TO, maxAmountRequired: '2000000' })),
    );
    await tick(HOUR);
    const other = 'ST2JHG361ZXG51QTKY2NQCVBPPRRE2KZB1HR05NNC';
    answers.set(
      URL_A,
      jsonAnswer(docsDocument(URL_A, { payTo: other, maxAmountRequired: '2000000' })),
    );
    await tick(HOUR);
    const entry = (await store.get(id))!;
    assert.equal(entry.payToChangedAt, clock.now());
    assert.deepEqual(
      (await store.versions(id)).map((v) => [v.version, v.amount, v.payTo]),
      [
        [3, '2000000', other],
        [2, '2000000', TESTNET_PAY_TO],
        [1, '1000000', TESTNET_PAY_TO],
      ],
    );
  });

  test('uptime over 24 hours and 7 days', async () => {
    const id = await registered();
    await tick(15 * MINUTE);
    answers.set(URL_A, { status: 500 });
    await tick(HOUR);
    await tick(HOUR);
    assert.deepEqual((await store.uptime(id, clock.now())).day, { ok: 2, total: 4 });
    clock.advance(2 * 24 * HOUR);
    assert.deepEqual(await store.uptime(id, clock.now()), {
      day: { ok: 0, total: 0 },
      week: { ok: 2, total: 4 },
    });
  });

  test('one probe at a time per origin, several origins in parallel', async () => {
    const urls = [
      'https://a.example/1',
      'https://a.example/2',
      'https://a.example/3',
      'https://b.example/1',
      'https://c.example/1',
    ];
    for (const url of urls) {
      answers.set(url, jsonAnswer(docsDocument(url, { payTo: TESTNET_PAY_TO })));
      assert.ok((await registry.register({ url })).stored);
    }
    const inFlight = new Map<string, number>();
    const peak = new Map<string, number>();
    let overall = 0;
    let overallPeak = 0;
    const slow = async (request: { url: string; method: string }) => {
      const origin = new URL(request.url).origin;
      inFlight.set(origin, (inFlight.get(origin) ?? 0) + 1);
      overall++;
      peak.set(origin, Math.max(peak.get(origin) ?? 0, inFlight.get(origin)!));
      overallPeak = Math.max(overallPeak, overall);
      await new Promise((resolve) => setTimeout(resolve, 20));
      inFlight.set(origin, inFlight.get(origin)! - 1);
      overall--;
      return fetcher(request);
    };
    const parallel = createScheduler({ store, fetcher: slow, clock, owner: 'p', concurrency: 4 });
    clock.advance(15 * MINUTE);
    assert.equal(await parallel.runOnce(), urls.length);
    assert.equal(peak.get('https://a.example'), 1);
    assert.ok(overallPeak > 1, `peak concurrency ${overallPeak}`);
  });

  test('a stop ends a round after the listings being checked, leaves the rest claimed, and starts no round after', async () => {
    const urls = ['https://a.example/1', 'https://a.example/2', 'https://a.example/3'];
    for (const url of urls) {
      answers.set(url, jsonAnswer(docsDocument(url, { payTo: TESTNET_PAY_TO })));
      assert.ok((await registry.register({ url })).stored);
    }
    let letGo!: () => void;
    const held = new Promise<void>((resolve) => {
      letGo = resolve;
    });
    const probed: string[] = [];
    const slow = async (request: { url: string; method: string }) => {
      probed.push(request.url);
      await held;
      return fetcher(request);
    };
    // One origin: its three listings are checked one after the other.
    const stopping = createScheduler({ store, fetcher: slow, clock, owner: 's', concurrency: 4 });
    clock.advance(15 * MINUTE);
    const round = stopping.runOnce();
    while (probed.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const stopped = stopping.stop();
    letGo();
    await stopped;
    assert.equal(await round, urls.length, 'the round had claimed all three');
    const checked = (
      await Promise.all(
        urls.map(async (url) =>
          (
            await store.search({ sort: 'newest', limit: 10 })
          ).items.find((item) => item.listing.url === url),
        ),
      )
    ).filter((item) => item?.status === 'active');
    assert.equal(checked.length, 1, 'only the listing being checked when it stopped');
    assert.deepEqual(probed, [urls[0]]);
    assert.equal(await stopping.runOnce(), 0, 'a stopped scheduler claims nothing');
    // The other two keep this scheduler's claims until the lease runs out, then another checks them.
    const other = createScheduler({ store, fetcher, clock, owner: 'o' });
    assert.equal(await other.runOnce(), 0, 'still claimed');
    clock.advance(3 * MINUTE);
    assert.equal(await other.runOnce(), 2);
  });

  test('a round the database refuses is logged, the next tick tries again, and nothing is left unhandled', async () => {
    const errors: string[] = [];
    let asked = 0;
    const refusing: RegistryStore = Object.assign(Object.create(store) as RegistryStore, {
      claimDue: async () => {
        asked++;
        throw new Error('the database is gone');
      },
    });
    const logger = { error: (_: unknown, message: string) => errors.push(message) };
    const failing = createScheduler({
      store: refusing,
      fetcher,
      clock,
      owner: 'f',
      logger: logger as unknown as NonNullable<Parameters<typeof createScheduler>[0]['logger']>,
    });
    failing.start(10);
    const by = Date.now() + 5_000;
    while (asked < 2) {
      assert.ok(Date.now() < by, 'rounds keep coming');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await failing.stop();
    assert.ok(errors.length >= 1 && errors.every((message) => message === 'check round failed'));
    const afterStop = asked;
    failing.start(10);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(asked, afterStop, 'a stopped scheduler does not start again');
  });

  test('a claim is exclusive until its lease runs out', async () => {
    const id = await registered();
    clock.advance(15 * MINUTE);
    const a = await store.claimDue(clock.now(), { limit: 5, owner: 'a', leaseMs: MINUTE });
    const b = await store.claimDue(clock.now(), { limit: 5, owner: 'b', leaseMs: MINUTE });
    assert.deepEqual([a.map((e) => e.id), b.length], [[id], 0]);
    clock.advance(2 * MINUTE);
    const later = await store.claimDue(clock.now(), { limit: 5, owner: 'b', leaseMs: MINUTE });
    assert.deepEqual(
      later.map((e) => e.id),
      [id],
    );
    const health = {
      status: 'active' as const,
      consecutiveFailures: 0,
      failingSince: null,
      nextCheckAt: clock.now() + HOUR,
    };
    const result = { outcome: 'ok' as const, httpStatus: 402, latencyMs: 5, reason: null };
    assert.equal(
      await store.completeCheck(id, 'a', result, health, clock.now()),
      undefined,
      'the lost claim writes nothing',
    );
    assert.ok(await store.completeCheck(id, 'b', result, health, clock.now()));
  });
});
