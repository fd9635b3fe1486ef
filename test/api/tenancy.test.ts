/**
 * Tenancy, as a hostile client would try it: tenant B's credentials against tenant A's resources,
 * on every route of the app's route table (a new route without an entry here fails the test),
 * with no credentials, and with a key lacking every scope; every one of those answers, and the
 * public routes', carries the RateLimit headers. Afterwards A's data is unchanged: balance, email,
 * order and shipment state, welcome job, restock, parked outbox row, webhook endpoint, A's consumer
 * group (offset, statistics, replays), mail. On SQLite and PostgreSQL, with a real worker, relay and mail catcher.
 */
import type express from 'express';
import { createApp } from '../../api/app';
import { routeTable } from '../../api/hygiene';
import { createApiKey, revokeApiKey } from '../../db/api-keys';
import { committedOffset } from '../../db/events';
import { readMailbox } from '../../platform/mail-catcher';
import { PLATFORM_SCOPES, SCOPES } from '../../platform/tenancy';
import { qualifiedId } from '../../platform/tenant-ids';
import { TenantIdKey } from '../../platform/temporal-keys';
import { consumerProgressQuery, streamConsumerWorkflowId } from '../../workflows/streams/definition';
import { welcomeEmailStart } from '../../workflows/welcome-email/definition';
import { json, testLogger, uniqueTag, waitFor } from '../support/env';
import { databaseEnv, testDatabases } from '../support/databases';
import { startTestDeployment, type TestDeployment } from '../support/deployment';
import { balanceOf, stockOf, stockSku, untilBooked } from '../support/shop';

/**
 * What B may get instead of 404: a shared resource (200/202), a filtered list (200), or B's own
 * resource of the same ID (business IDs are per tenant): `status` then lists what B's own may
 * answer (none yet: 404; created by an earlier row of the matrix: 200/202; closed: 409), and
 * `check` shows the body is B's, never A's.
 */
type Expectation = 404 | 403 | { status: number | number[]; check?: (body: any) => void };

interface Sample {
  path: string;
  body?: unknown;
  /** What tenant B (every scope but admin) gets. */
  b: Expectation;
}

describe.each(testDatabases())('%s', (_name, target) => {
  let d: TestDeployment;
  let app: express.Express;
  const tenantA = uniqueTag('ta');
  const tenantB = uniqueTag('tb');
  /** Where B's own users are mailed (B's requests that target A's resources use evil@example.com). */
  const B_MAIL = 'bea@example.com';
  const tenantScopes = SCOPES.filter((s) => !PLATFORM_SCOPES.includes(s));
  let keyA = '';
  let keyB = '';
  let keyNoScope = '';
  const corrA = uniqueTag('corr-a');

  const call = (key: string | undefined, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${d.url}${path}`, {
      method,
      headers: { authorization: key ? `Bearer ${key}` : '', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const asA = async (method: string, path: string, body?: unknown) => {
    const res = await call(keyA, method, path, body, { 'X-Correlation-Id': corrA });
    return { status: res.status, body: await json(res) };
  };

  // Tenant A's resources.
  const a = { accountId: uniqueTag('acct'), userId: uniqueTag('u'), welcomeUserId: uniqueTag('w'), orderId: uniqueTag('o'), sku: '', depositJob: '', restockId: '', outboxSeq: 0, scheduleId: uniqueTag('sched'), laneItemId: '', endpointId: '' };

  beforeAll(async () => {
    d = await startTestDeployment({ env: { ...databaseEnv(await target()) }, mail: true, worker: true, relay: true });
    app = createApp({ config: d.config, client: d.client, db: d.db, logger: testLogger, mailboxDir: d.mailboxDir });
    keyA = (await createApiKey(d.db, { tenantId: tenantA, scopes: tenantScopes, name: 'A' })).key;
    keyB = (await createApiKey(d.db, { tenantId: tenantB, scopes: tenantScopes, name: 'B' })).key;
    keyNoScope = (await createApiKey(d.db, { tenantId: tenantB, scopes: [], name: 'B without scopes' })).key;

    const deposit = await asA('POST', `/v1/accounts/${a.accountId}/deposits`, { amount: 50_000, currency: 'USD' });
    expect(deposit.status).toBe(202);
    a.depositJob = deposit.body.jobId;
    await waitFor('A deposit', async () => ((await asA('GET', deposit.body.statusUrl)).body.status === 'COMPLETED' ? true : undefined));
    expect((await asA('PUT', `/v1/accounts/${a.accountId}/email`, { email: 'a@example.com' })).status).toBe(200);
    expect((await asA('POST', '/v1/users', { userId: a.userId, email: 'u@example.com', name: 'Ada' })).status).toBe(201);
    expect((await asA('POST', '/v1/welcome-emails', { userId: a.welcomeUserId, email: 'w@example.com', name: 'Wes' })).status).toBe(202);
    a.sku = await stockSku(d.db, { stock: 10 });
    expect((await asA('POST', '/v1/orders', { orderId: a.orderId, customerId: 'c-a', items: [{ sku: a.sku, quantity: 1 }], paymentAccountId: a.accountId })).status).toBe(202);
    await untilBooked(d.db, qualifiedId(tenantA, a.orderId));
    const restock = await asA('POST', `/v1/inventory/${a.sku}/restocks`, { quantity: 5, supplier: 'acme' });
    expect(restock.status).toBe(202);
    a.restockId = String(restock.body.jobId).replace(/^restock:/, '');
    // A parked outbox row of A's (a message no publisher knows), for the operator's retry route.
    await d.db
      .insertInto('outbox')
      .values({ tenant_id: tenantA, aggregate_type: 'test', aggregate_id: uniqueTag('agg'), event_type: 'Unknown', payload: '{}', correlation_id: corrA, created_at: new Date().toISOString(), attempts: 5, next_attempt_at: new Date().toISOString(), claimed_by: null, claimed_until: null, published_at: null, published_by: null, last_error: 'test', parked_at: new Date().toISOString() })
      .execute();
    a.outboxSeq = Number((await d.db.selectFrom('outbox').select('seq').where('tenant_id', '=', tenantA).where('event_type', '=', 'Unknown').executeTakeFirstOrThrow()).seq);
    // A's schedule (paused: it only has to exist) and a lane item of A's.
    const schedule = { jobType: 'welcome-email', interval: '1h', paused: true, input: { userId: uniqueTag('s'), email: 's@example.com', name: 'Sam' } };
    expect((await asA('POST', '/v1/schedules', { scheduleId: a.scheduleId, ...schedule })).status).toBe(201);
    const laneItem = await asA('POST', '/v1/lanes/notification-email/items', { key: uniqueTag('k'), input: { userId: a.userId } });
    expect(laneItem.status).toBe(202);
    a.laneItemId = laneItem.body.itemId;
    // A's webhook endpoint (for an event type nothing emits: it only has to exist).
    const endpoint = await asA('POST', '/v1/webhook-endpoints', { url: 'https://a.example/hook', eventTypes: ['NeverEmitted'] });
    expect(endpoint.status).toBe(201);
    a.endpointId = endpoint.body.endpointId;
    await waitFor("A's welcome email", async () => ((await readMailbox(d.mailboxDir)).some((m) => m.to?.includes('w@example.com')) ? true : undefined));
    await waitFor("A's consumer group to catch up with A's payments", async () => {
      const group = (await asA('GET', '/v1/streams/payments/consumers')).body.consumers.find((c: { group: string }) => c.group === 'revenue-stats');
      return group?.lag === 0 && group.committedOffset > 0 ? true : undefined;
    });
  });

  /** A tenant's instance of the revenue-stats group: offset, what it counted, how often it re-read. */
  async function revenueStatsOf(tenantId: string) {
    const group = { tenantId, stream: 'payments', group: 'revenue-stats' };
    const stats = await d.db.selectFrom('stream_stats').select(['stat_key', 'value']).where('tenant_id', '=', tenantId).where('group_name', '=', 'revenue-stats').orderBy('stat_key').execute();
    const progress = await d.client.workflow.getHandle(streamConsumerWorkflowId(tenantId, 'payments', 'revenue-stats')).query(consumerProgressQuery).catch(() => undefined);
    return { committed: await committedOffset(d.db, group), stats: Object.fromEntries(stats.map((s) => [s.stat_key, Number(s.value)])), replayed: progress?.duplicatesSkipped };
  }
  const depositsOf = async (tenantId: string) =>
    Number((await d.db.selectFrom('events').select(({ fn }) => fn.countAll().as('n')).where('tenant_id', '=', tenantId).where('type', '=', 'DepositReceived').executeTakeFirst())?.n ?? 0);
  /** The group counted exactly the tenant's deposits: none missed, none of another tenant's. */
  const countsOwnDeposits = (tenantId: string) =>
    waitFor(`${tenantId}'s group to count its deposits`, async () => {
      const counted = (await revenueStatsOf(tenantId)).stats['count:DepositReceived'];
      return counted !== undefined && counted === (await depositsOf(tenantId)) ? counted : undefined;
    });

  afterAll(() => d?.stop());

  /** Every route, with a request against A's resources and what B gets. A route missing here fails the matrix. */
  const samples = (): Record<string, Sample> => ({
    'GET /v1/jobs/:jobId': { path: `/v1/jobs/${encodeURIComponent(a.depositJob)}`, b: 404 },
    // Business IDs are per tenant: B's request with A's ID makes or finds B's own job, user,
    // account or order of that ID (shown with the ID as B wrote it), never A's.
    'POST /v1/welcome-emails': {
      path: '/v1/welcome-emails',
      body: { userId: a.welcomeUserId, email: B_MAIL, name: 'Bea' },
      b: { status: 202, check: (body) => expect(body.jobId).toBe(`welcome-email:${a.welcomeUserId}`) },
    },
    'POST /v1/welcome-emails/:userId/unsubscribe': { path: `/v1/welcome-emails/${a.welcomeUserId}/unsubscribe`, b: { status: [202, 404] } },
    'POST /v1/accounts/:accountId/deposits': {
      path: `/v1/accounts/${a.accountId}/deposits`,
      body: { amount: 1, currency: 'USD' },
      b: { status: 202, check: (body) => expect(body.jobId).toMatch(new RegExp(`^deposit:${a.accountId}:`)) },
    },
    'POST /v1/orders': {
      path: '/v1/orders',
      body: { orderId: a.orderId, customerId: 'c-b', items: [{ sku: a.sku, quantity: 1 }], paymentAccountId: a.accountId },
      b: { status: 202, check: (body) => expect(body).toMatchObject({ jobId: `order:${a.orderId}`, statusUrl: `/v1/orders/${a.orderId}` }) },
    },
    'GET /v1/orders/:orderId': { path: `/v1/orders/${a.orderId}`, b: { status: [200, 404], check: (body) => body.orderId && expect(body).toMatchObject({ orderId: a.orderId, customerId: 'c-b' }) } },
    'POST /v1/orders/:orderId/cancel': { path: `/v1/orders/${a.orderId}/cancel`, b: { status: [202, 404, 409] } },
    'POST /v1/shipments/:orderId/events': { path: `/v1/shipments/${a.orderId}/events`, body: { type: 'lost' }, b: { status: [202, 404, 409] } },
    // The catalog is shared: any tenant may restock a SKU (its own job) and read the stock.
    'POST /v1/inventory/:sku/restocks': { path: `/v1/inventory/${a.sku}/restocks`, body: { quantity: 1, supplier: 'b-supplier' }, b: { status: 202 } },
    'POST /v1/restocks/:restockId/deliveries': { path: `/v1/restocks/${a.restockId}/deliveries`, body: { quantity: 500 }, b: 404 },
    'GET /v1/accounts/:accountId': { path: `/v1/accounts/${a.accountId}`, b: { status: [200, 404], check: (body) => body.accountId && expect(body).toMatchObject({ accountId: a.accountId, email: null }) } },
    'PUT /v1/accounts/:accountId/email': {
      path: `/v1/accounts/${a.accountId}/email`,
      body: { email: 'evil@example.com' },
      b: { status: 200, check: (body) => expect(body.balance).toBeLessThan(100) },
    },
    'POST /v1/users': { path: '/v1/users', body: { userId: a.userId, email: B_MAIL, name: 'Bea' }, b: { status: 201, check: (body) => expect(body.welcomeJob.jobId).toBe(`welcome-email:${a.userId}`) } },
    'GET /v1/users/:userId': { path: `/v1/users/${a.userId}`, b: { status: [200, 404], check: (body) => body.userId && expect(body).toMatchObject({ userId: a.userId, email: B_MAIL }) } },
    'GET /v1/outbox': { path: '/v1/outbox', b: { status: 200, check: (body) => expect(body.parkedRows).toEqual([]) } },
    'POST /v1/outbox/:id/retry': { path: `/v1/outbox/${a.outboxSeq}/retry`, b: 404 },
    // B's own events only (B's deposit above may be among them), never one of A's.
    'GET /v1/streams/:stream/events': {
      path: '/v1/streams/payments/events',
      b: { status: 200, check: (body) => expect(body.events.filter((e: { eventId: string }) => e.eventId.includes(a.depositJob))).toEqual([]) },
    },
    // Consumer groups run per tenant: B reads and moves its own instance, never A's.
    'GET /v1/streams/:stream/consumers': {
      path: '/v1/streams/payments/consumers',
      b: {
        status: 200,
        // (B's lastOffset counts B's own payments: its deposit above may be one.)
        check: (body) => expect(body.consumers.map((c: { workflowId: string }) => c.workflowId)).toEqual([streamConsumerWorkflowId(tenantB, 'payments', 'revenue-stats')]),
      },
    },
    'POST /v1/streams/:stream/consumers/:group/seek': { path: '/v1/streams/payments/consumers/revenue-stats/seek', body: { offset: 0 }, b: { status: 202 } },
    'GET /v1/topics/:stream/live': { path: '/v1/topics/payments/live', b: { status: 200 } },
    'GET /v1/correlations/:correlationId': { path: `/v1/correlations/${corrA}`, b: { status: 200, check: (body) => expect(body).toMatchObject({ workflows: 0, events: 0, timeline: [] }) } },
    'GET /v1/inventory': { path: '/v1/inventory', b: { status: 200 } },
    'GET /v1/inventory/:sku': { path: `/v1/inventory/${a.sku}`, b: { status: 200 } },
    'GET /dev/mailbox': { path: '/dev/mailbox', b: 403 },
    // Key management is the platform operators' (admin): B cannot mint itself an admin key, list or revoke A's.
    'POST /v1/keys': { path: '/v1/keys', body: { tenant: tenantB, scopes: ['admin'] }, b: 403 },
    'GET /v1/keys': { path: '/v1/keys', b: 403 },
    'DELETE /v1/keys/:keyId': { path: `/v1/keys/${keyA.slice(4, 20)}`, b: 403 },
    // The jobs API: lists are the caller's own; another tenant's job is not there.
    'GET /v1/jobs': { path: `/v1/jobs?correlationId=${corrA}`, b: { status: 200, check: (body) => expect(body.jobs).toEqual([]) } },
    'POST /v1/jobs/:jobId/retry': { path: `/v1/jobs/${encodeURIComponent(a.depositJob)}/retry`, b: 404 },
    // `order:<A's order ID>` is B's own order of that ID (if B made one): never A's.
    'POST /v1/jobs/:jobId/cancel': { path: `/v1/jobs/${encodeURIComponent(`order:${a.orderId}`)}/cancel`, b: { status: [202, 404, 409] } },
    'POST /v1/jobs/retries': { path: '/v1/jobs/retries', body: { status: 'FAILED' }, b: { status: 200, check: (body) => expect(body.retried).toBe(0) } },
    // Schedules are per tenant (their Temporal ID is `<tenant>/<scheduleId>`): B makes its own, never sees or moves A's.
    'POST /v1/schedules': {
      path: '/v1/schedules',
      body: { scheduleId: `${a.scheduleId}-b`, jobType: 'welcome-email', interval: '1h', paused: true, input: { userId: uniqueTag('s'), email: 'evil@example.com', name: 'Eve' } },
      b: { status: 201 },
    },
    'GET /v1/schedules': { path: '/v1/schedules', b: { status: 200, check: (body) => expect(body.schedules.map((x: { scheduleId: string }) => x.scheduleId)).not.toContain(a.scheduleId) } },
    'GET /v1/schedules/:scheduleId': { path: `/v1/schedules/${a.scheduleId}`, b: 404 },
    'POST /v1/schedules/:scheduleId/pause': { path: `/v1/schedules/${a.scheduleId}/pause`, b: 404 },
    'POST /v1/schedules/:scheduleId/unpause': { path: `/v1/schedules/${a.scheduleId}/unpause`, b: 404 },
    'POST /v1/schedules/:scheduleId/trigger': { path: `/v1/schedules/${a.scheduleId}/trigger`, b: 404 },
    'DELETE /v1/schedules/:scheduleId': { path: `/v1/schedules/${a.scheduleId}`, b: 404 },
    // Webhook endpoints are per tenant (the `webhooks` scope): B registers its own, never sees or deletes A's.
    'POST /v1/webhook-endpoints': {
      path: '/v1/webhook-endpoints',
      body: { url: 'https://b.example/hook', eventTypes: ['NeverEmitted'] },
      b: { status: 201, check: (body) => expect(body.tenantId).toBe(tenantB) },
    },
    'GET /v1/webhook-endpoints': { path: '/v1/webhook-endpoints', b: { status: 200, check: (body) => expect(body.endpoints.map((e: { endpointId: string }) => e.endpointId)).not.toContain(a.endpointId) } },
    'GET /v1/webhook-endpoints/:endpointId': { path: `/v1/webhook-endpoints/${a.endpointId}`, b: 404 },
    'DELETE /v1/webhook-endpoints/:endpointId': { path: `/v1/webhook-endpoints/${a.endpointId}`, b: 404 },
    // The codec server decodes every tenant's payloads: the platform's `codec` scope only.
    'POST /codecs/decode': { path: '/codecs/decode', body: { payloads: [] }, b: 403 },
    'POST /codecs/encode': { path: '/codecs/encode', body: { payloads: [] }, b: 403 },
    // The lane: B's items are B's (an item for A's user mails nobody: users are looked up in the item's tenant).
    'POST /v1/lanes/:jobType/items': { path: '/v1/lanes/notification-email/items', body: { key: uniqueTag('k-b'), input: { userId: a.userId } }, b: { status: 202 } },
    'GET /v1/lanes/:jobType/items': { path: `/v1/lanes/notification-email/items?correlationId=${corrA}`, b: { status: 200, check: (body) => expect(body.items).toEqual([]) } },
    'GET /v1/lanes/:jobType/items/:itemId': { path: `/v1/lanes/notification-email/items/${a.laneItemId}`, b: 404 },
    'GET /v1/lanes/:jobType/failed': { path: '/v1/lanes/notification-email/failed', b: { status: 200, check: (body) => expect(body.items.map((i: { itemId: string }) => i.itemId)).not.toContain(a.laneItemId) } },
    'POST /v1/lanes/:jobType/items/:itemId/retry': { path: `/v1/lanes/notification-email/items/${a.laneItemId}/retry`, b: 404 },
    'GET /v1/lanes/:jobType': { path: '/v1/lanes/notification-email', b: { status: 200 } },
  });

  const PUBLIC = new Set(['GET /healthz', 'GET /readyz', 'GET /openapi.json', 'GET /docs', 'GET /docs/init.js', 'GET /metrics']);
  const routes = () => routeTable(app).filter((r) => r.method !== 'HEAD' && !PUBLIC.has(`${r.method} ${r.path}`));
  /** The IETF headers every answer carries: the limit that applied to it. */
  const expectRateLimitHeaders = (route: string, res: Response, policy: RegExp) =>
    expect({ route, policy: res.headers.get('ratelimit-policy'), remaining: res.headers.get('ratelimit') }).toEqual({
      route,
      policy: expect.stringMatching(policy),
      remaining: expect.stringMatching(/^"[a-z-]+";r=\d+;t=\d+(, "[a-z-]+";r=\d+;t=\d+)*$/),
    });

  /** One request; an SSE answer is read only as far as its status, then dropped. */
  async function send(key: string | undefined, method: string, sample: Sample) {
    const controller = new AbortController();
    const res = await fetch(`${d.url}${sample.path}`, {
      method,
      signal: controller.signal,
      headers: { authorization: key ? `Bearer ${key}` : '', ...(sample.body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(sample.body === undefined ? {} : { body: JSON.stringify(sample.body) }),
    });
    const isStream = res.headers.get('content-type')?.startsWith('text/event-stream');
    const body = isStream ? undefined : await res.text();
    if (isStream) controller.abort();
    return { res, body: body ? JSON.parse(body) : undefined };
  }

  /** A's state that no request of B may change. */
  async function stateOfA() {
    const order = await asA('GET', `/v1/orders/${a.orderId}`);
    const welcome = await asA('GET', `/v1/jobs/${encodeURIComponent(`welcome-email:${a.welcomeUserId}`)}`);
    const account = await asA('GET', `/v1/accounts/${a.accountId}`);
    const outbox = await d.db.selectFrom('outbox').select(['parked_at', 'attempts']).where('seq', '=', a.outboxSeq).executeTakeFirstOrThrow();
    return {
      balance: await balanceOf(d.db, qualifiedId(tenantA, a.accountId)),
      email: account.body.email,
      entries: account.body.entries.length,
      order: { status: order.body.status, pickedUp: order.body.pickedUp, workflowStatus: order.body.workflowStatus },
      welcome: { status: welcome.body.status, step: welcome.body.step },
      user: (await asA('GET', `/v1/users/${a.userId}`)).body.email,
      outboxParked: outbox.parked_at !== null,
      webhookEndpoint: (await asA('GET', `/v1/webhook-endpoints/${a.endpointId}`)).status,
      // A's group moves forward on A's own events (a loyalty credit may still arrive), but never
      // re-reads one: a seek back would show here as events read again.
      revenueReplayed: (await revenueStatsOf(tenantA)).replayed,
      mailTo: (await readMailbox(d.mailboxDir)).filter((m) => m.to?.includes('evil@example.com')).length,
    };
  }

  test('the matrix covers every route of the app', () => {
    const missing = routes().map((r) => `${r.method} ${r.path}`).filter((r) => !(r in samples()));
    expect(missing).toEqual([]);
  });

  test("tenant B's credentials against A's resources: 404 (403 for platform routes), and A's data unchanged", async () => {
    const before = await stateOfA();
    expect(before).toMatchObject({ balance: 48_750, email: 'a@example.com', order: { status: 'RUNNING', pickedUp: false }, welcome: { status: 'RUNNING' }, outboxParked: true, webhookEndpoint: 200 });
    const table = samples();
    const results: string[] = [];
    for (const { method, path } of routes()) {
      const sample = table[`${method} ${path}`]!;
      const { res, body } = await send(keyB, method, sample);
      const allowed = typeof sample.b === 'number' ? [sample.b] : [sample.b.status].flat();
      results.push(`${method} ${path} → ${res.status}`);
      expect(`${method} ${path} → ${allowed.includes(res.status) ? allowed.join('|') : res.status}`).toBe(`${method} ${path} → ${allowed.join('|')}`);
      expectRateLimitHeaders(`${method} ${path}`, res, /"key";q=\d+;w=1/);
      if (typeof sample.b === 'number' && sample.b >= 400) expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      if (typeof sample.b === 'object') sample.b.check?.(body);
    }
    expect(results.length).toBeGreaterThanOrEqual(24);
    // Whatever B started has had time to act (signals, updates, the relay, the worker).
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    // A's consumer group included: B's seek to 0 moved B's own instance, A's re-read nothing.
    expect(await stateOfA()).toEqual(before);
    expect(before.revenueReplayed).toBe(0);
    console.info(`route × tenant matrix: ${results.length} routes with tenant B's key against tenant A's resources, A's data unchanged`);
    await countsOwnDeposits(tenantA);
  });

  test("each tenant's consumer group counts its own tenant's events only", async () => {
    const accountB = uniqueTag('acct-b');
    for (const amount of [5, 6]) {
      const res = await call(keyB, 'POST', `/v1/accounts/${accountB}/deposits`, { amount, currency: 'USD' });
      expect(res.status).toBe(202);
      // B may have deposits of its own already (the matrix's): count once these two are in the log.
      const { statusUrl } = await json(res);
      await waitFor("B's deposit", async () => ((await json(await call(keyB, 'GET', statusUrl))).status === 'COMPLETED' ? true : undefined));
    }
    expect(await countsOwnDeposits(tenantB)).toBeGreaterThanOrEqual(2);
    const b = await revenueStatsOf(tenantB);
    expect(b.stats['sum:USD']).toBeGreaterThanOrEqual(11);
    const body = await json(await call(keyB, 'GET', '/v1/streams/payments/consumers'));
    expect(body.consumers[0]).toMatchObject({ group: 'revenue-stats', lag: 0, committedOffset: body.lastOffset });
    // A's instance did not count B's deposits (nor re-read anything).
    await countsOwnDeposits(tenantA);
    expect((await revenueStatsOf(tenantA)).replayed).toBe(0);
  });

  test("B cannot pay from A's account: A's account ID names B's own, the internal form is refused, A's balance unchanged", async () => {
    const before = await balanceOf(d.db, qualifiedId(tenantA, a.accountId));
    const orderId = uniqueTag('o-b');
    const order = { orderId, customerId: 'c-b', items: [{ sku: a.sku, quantity: 1 }] };
    // A's internal ID is not an ID a client can write.
    const internal = await call(keyB, 'POST', '/v1/orders', { ...order, paymentAccountId: qualifiedId(tenantA, a.accountId) });
    expect(internal.status).toBe(422);
    expect((await json(internal)).errors).toEqual([expect.objectContaining({ pointer: '/paymentAccountId' })]);
    const res = await call(keyB, 'POST', '/v1/orders', { ...order, paymentAccountId: a.accountId });
    expect(res.status).toBe(202);
    const closed = await waitFor("B's order to end", async () => {
      const view = await json(await call(keyB, 'GET', `/v1/orders/${orderId}`));
      return view.workflowStatus && view.workflowStatus !== 'RUNNING' ? view : undefined;
    });
    // B's own account of that ID (none, or the 1 USD of the matrix's deposit) cannot pay 12.50.
    expect(closed).toMatchObject({ status: 'FAILED', paymentAccountId: a.accountId, reason: expect.stringMatching(new RegExp(`account ${a.accountId}( |$)`)) });
    expect(JSON.stringify(closed)).not.toContain('~');
    expect(await balanceOf(d.db, qualifiedId(tenantA, a.accountId))).toBe(before);
    // …and A does not see B's order either.
    expect((await asA('GET', `/v1/orders/${orderId}`)).status).toBe(404);
  });

  test('both tenants use the same account, user and order IDs: two independent accounts, users and orders, each completed', async () => {
    const same = { accountId: uniqueTag('same-acct'), userId: uniqueTag('same-u'), orderId: uniqueTag('same-o') };
    const sku = await stockSku(d.db, { stock: 10, price: 1_250 });
    const tenants = [
      { name: 'a', tenant: tenantA, key: keyA, deposit: 5_000 },
      { name: 'b', tenant: tenantB, key: keyB, deposit: 7_000 },
    ];
    const as = async (key: string, method: string, path: string, body?: unknown) => {
      const res = await call(key, method, path, body);
      return { status: res.status, location: res.headers.get('location'), body: await json(res) };
    };
    for (const t of tenants) {
      expect((await as(t.key, 'PUT', `/v1/accounts/${same.accountId}/email`, { email: `${t.name}-orders@example.com` })).status).toBe(200);
      const deposit = await as(t.key, 'POST', `/v1/accounts/${same.accountId}/deposits`, { amount: t.deposit, currency: 'USD' });
      expect(deposit.status).toBe(202);
      await waitFor(`${t.name}'s deposit`, async () => ((await as(t.key, 'GET', deposit.body.statusUrl)).body.status === 'COMPLETED' ? true : undefined));
      const user = await as(t.key, 'POST', '/v1/users', { userId: same.userId, email: `${t.name}-user@example.com`, name: `User ${t.name}` });
      expect(user).toMatchObject({ status: 201, location: `/v1/users/${same.userId}`, body: { userId: same.userId, welcomeJob: { jobId: `welcome-email:${same.userId}` } } });
      const order = await as(t.key, 'POST', '/v1/orders', { orderId: same.orderId, customerId: `c-${t.name}`, items: [{ sku, quantity: 1 }], paymentAccountId: same.accountId });
      expect(order).toMatchObject({ status: 202, location: `/v1/orders/${same.orderId}`, body: { jobId: `order:${same.orderId}`, statusUrl: `/v1/orders/${same.orderId}` } });
    }
    for (const t of tenants) {
      await untilBooked(d.db, qualifiedId(t.tenant, same.orderId));
      for (const type of ['picked_up', 'delivered']) expect((await as(t.key, 'POST', `/v1/shipments/${same.orderId}/events`, { type })).status).toBe(202);
    }
    for (const t of tenants) {
      const done = await waitFor(`${t.name}'s order to complete`, async () => {
        const view = (await as(t.key, 'GET', `/v1/orders/${same.orderId}`)).body;
        return view.workflowStatus === 'COMPLETED' ? view : undefined;
      });
      expect(done).toMatchObject({ orderId: same.orderId, customerId: `c-${t.name}`, paymentAccountId: same.accountId, status: 'COMPLETED' });
      const account = (await as(t.key, 'GET', `/v1/accounts/${same.accountId}`)).body;
      expect(account).toMatchObject({ accountId: same.accountId, email: `${t.name}-orders@example.com`, balance: t.deposit - 1_250 });
      expect(account.entries.map((e: { amount: number }) => e.amount)).toEqual([t.deposit, -1_250]);
      expect((await as(t.key, 'GET', `/v1/users/${same.userId}`)).body).toMatchObject({ email: `${t.name}-user@example.com` });
      const job = (await as(t.key, 'GET', `/v1/jobs/${encodeURIComponent(`order:${same.orderId}`)}`)).body;
      expect(job).toMatchObject({ jobId: `order:${same.orderId}`, status: 'COMPLETED' });
    }
    // Each tenant's mail went to its own addresses, once each: the welcome and the order
    // confirmation, naming the order as written. (The shipping notice, a reaction of the platform's
    // subscriber, is not awaited: in this file's second deployment that subscriber may be the
    // first deployment's, left without a worker.)
    const mailOf = async (t: { name: string }) => {
      const mail = await readMailbox(d.mailboxDir);
      return { user: mail.filter((m) => m.to?.includes(`${t.name}-user@example.com`)), orders: mail.filter((m) => m.to?.includes(`${t.name}-orders@example.com`)) };
    };
    const delivered = `Your order ${same.orderId} has been delivered`;
    await waitFor("both tenants' mail", async () => {
      const all = await Promise.all(tenants.map(mailOf));
      if (all.every((m) => m.user.length >= 1 && m.orders.some((x) => x.subject === delivered))) return true;
      throw new Error(JSON.stringify(all.map((m) => [...m.user, ...m.orders].map((x) => `${x.to}: ${x.subject}`))));
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const t of tenants) {
      const { user, orders } = await mailOf(t);
      expect(user.map((m) => m.subject)).toEqual([`Welcome to Conveyor, User ${t.name}!`]);
      expect(orders.filter((m) => m.subject === delivered)).toHaveLength(1);
      // Besides it, at most the shipping notice of its own order.
      expect(orders.filter((m) => m.subject !== delivered).map((m) => m.subject)).toEqual(orders.length === 2 ? [`Your order ${same.orderId} is on its way`] : []);
    }
    // Underneath: two rows each, told apart by their tenant-qualified IDs.
    const orders = await d.db.selectFrom('orders').select(['order_id', 'tenant_id']).where('order_id', 'in', tenants.map((t) => qualifiedId(t.tenant, same.orderId))).execute();
    expect(orders.map((o) => o.tenant_id).sort()).toEqual([tenantA, tenantB].sort());
    expect(await d.db.selectFrom('orders').select('order_id').where('order_id', '=', same.orderId).execute()).toEqual([]);
    expect(await stockOf(d.db, sku)).toBe(8);
  });

  test("a job A started before business IDs were per tenant (unqualified ID) is still A's by the same client ID, and nobody else's", async () => {
    const userId = uniqueTag('legacy-u');
    // As the gateway started it before: the workflow ID without A's tenant, TenantId A.
    const start = welcomeEmailStart({ userId, email: 'legacy@example.com', name: 'Lea', followUpDelayMs: 3_600_000 });
    await d.client.workflow.start(start.workflowType, {
      taskQueue: d.config.temporal.taskQueue,
      workflowId: start.workflowId,
      args: [...start.args],
      typedSearchAttributes: [{ key: TenantIdKey, value: tenantA }],
    });
    const path = `/v1/jobs/${encodeURIComponent(`welcome-email:${userId}`)}`;
    const seen = await waitFor('the legacy job to run', async () => {
      const view = await asA('GET', path);
      return view.status === 200 && view.body.step ? view.body : undefined;
    });
    expect(seen).toMatchObject({ jobId: `welcome-email:${userId}`, status: 'RUNNING' });
    expect((await call(keyB, 'GET', path)).status).toBe(404);
    expect((await call(keyB, 'POST', `/v1/welcome-emails/${userId}/unsubscribe`)).status).toBe(404);
    expect(await asA('POST', `/v1/welcome-emails/${userId}/unsubscribe`)).toMatchObject({ status: 202, body: { jobId: `welcome-email:${userId}` } });
    // A's signal reached the legacy job: it ends without the follow-up.
    const done = await waitFor('the legacy job to end', async () => {
      const { body } = await asA('GET', path);
      return body.status === 'COMPLETED' ? body : undefined;
    });
    expect(done.result.followUp).toEqual({ sent: false, reason: 'unsubscribed' });
  });

  test("B's live feed does not carry A's events; A's does", async () => {
    const open = async (key: string) => {
      const controller = new AbortController();
      const res = await fetch(`${d.url}/v1/topics/payments/live`, { headers: { authorization: `Bearer ${key}` }, signal: controller.signal });
      const reader = res.body!.getReader();
      let text = '';
      const reading = (async () => {
        for (;;) {
          const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
          if (done) return;
          text += Buffer.from(value!).toString();
        }
      })();
      return { text: () => text, close: () => (controller.abort(), reading) };
    };
    const [feedA, feedB] = [await open(keyA), await open(keyB)];
    try {
      // B's feed may carry B's own events (its orders' reactions); never this deposit of A's.
      const deposit = await asA('POST', `/v1/accounts/${a.accountId}/deposits`, { amount: 7, currency: 'USD' });
      await waitFor("A's live DepositReceived", async () => (feedA.text().includes(`${deposit.body.jobId}/apply#DepositReceived`) ? true : undefined));
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(feedB.text()).not.toContain(deposit.body.jobId);
      expect(feedA.text()).not.toContain('~');
    } finally {
      await feedA.close();
      await feedB.close();
    }
  });

  test('the codec server opens to the `codec` scope only: every tenant scope and admin get 403', async () => {
    const admin = (await createApiKey(d.db, { tenantId: tenantA, scopes: SCOPES.filter((s) => s !== 'codec'), name: 'every scope but codec' })).key;
    const codec = (await createApiKey(d.db, { tenantId: tenantB, scopes: ['codec'], name: 'operator decoding' })).key;
    for (const key of [keyA, keyB, admin]) {
      const res = await call(key, 'POST', '/codecs/decode', { payloads: [] }, { 'X-Namespace': d.config.temporal.namespace });
      expect(res.status).toBe(403);
    }
    const decoded = await call(codec, 'POST', '/codecs/decode', { payloads: [] }, { 'X-Namespace': d.config.temporal.namespace });
    expect(decoded.status).toBe(200);
    expect(await json(decoded)).toEqual({ payloads: [] });
    // …and a codec key reads no tenant's resources.
    expect((await call(codec, 'GET', '/v1/inventory')).status).toBe(403);
  });

  test('internal workflows (consumer groups, subscribers) are nobody\'s jobs: 404 for every tenant', async () => {
    const internal = streamConsumerWorkflowId(tenantA, 'payments', 'revenue-stats');
    await waitFor('the consumer group to exist', async () => ((await d.client.workflow.getHandle(internal).describe().catch(() => undefined)) ? true : undefined));
    for (const key of [keyA, keyB]) expect((await call(key, 'GET', `/v1/jobs/${encodeURIComponent(internal)}`)).status).toBe(404);
  });

  test('A sees its own correlation view, events and outbox row', async () => {
    const view = await waitFor("A's correlation view", async () => {
      const { body } = await asA('GET', `/v1/correlations/${corrA}`);
      return body.workflows > 0 && body.events > 0 ? body : undefined;
    });
    expect(view.timeline.length).toBeGreaterThan(1);
    expect((await asA('GET', '/v1/streams/payments/events')).body.events.length).toBeGreaterThan(0);
    expect((await asA('GET', '/v1/outbox')).body.parkedRows).toEqual([expect.objectContaining({ id: a.outboxSeq })]);
  });

  test('no credentials: 401 problem+json with WWW-Authenticate on every route but the public ones', async () => {
    const table = samples();
    for (const { method, path } of routes()) {
      const { res, body } = await send(undefined, method, table[`${method} ${path}`]!);
      expect(`${method} ${path} → ${res.status}`).toBe(`${method} ${path} → 401`);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="conveyor"/);
      expect(body).toMatchObject({ type: 'urn:conveyor:problem:unauthorized', status: 401 });
      // Not counted as a failed authentication (nothing was guessed), but that limit's state is reported.
      expectRateLimitHeaders(`${method} ${path}`, res, /"auth-failures";q=\d+;w=60$/);
    }
    for (const path of ['/healthz', '/readyz']) expect((await fetch(`${d.url}${path}`, { headers: { authorization: '' } })).status).toBe(200);
  });

  test('the public routes carry the per-address limit\'s headers, with or without credentials', async () => {
    const publicRoutes = routeTable(app).filter((r) => PUBLIC.has(`${r.method} ${r.path}`));
    expect(publicRoutes.length).toBeGreaterThanOrEqual(5);
    for (const { method, path } of publicRoutes) {
      for (const authorization of ['', `Bearer ${keyA}`]) {
        const res = await fetch(`${d.url}${path}`, { method, headers: { authorization } });
        expect(`${method} ${path} → ${res.status}`).toMatch(/→ (200|503)$/);
        expectRateLimitHeaders(`${method} ${path}`, res, /"address";q=\d+;w=1/);
      }
    }
    // A path no route serves, and a header refused before any route: the same headers.
    expectRateLimitHeaders('unknown path', await fetch(`${d.url}/v1/nothing-here`, { headers: { authorization: `Bearer ${keyA}` } }), /"key";q=\d+;w=1/);
    const badHeader = await fetch(`${d.url}/v1/inventory`, { headers: { authorization: `Bearer ${keyA}`, 'X-Correlation-Id': 'has spaces' } });
    expect(badHeader.status).toBe(400);
    expectRateLimitHeaders('bad X-Correlation-Id', badHeader, /"key";q=\d+;w=1/);
  });

  test("a valid key without scopes: 403 on every route but the public ones (404 where the resource is another tenant's anyway)", async () => {
    const table = samples();
    for (const { method, path } of routes()) {
      const sample = table[`${method} ${path}`]!;
      const { res, body } = await send(keyNoScope, method, sample);
      const expected = res.status === 404 && sample.b === 404 ? 404 : 403;
      expect(`${method} ${path} → ${res.status}`).toBe(`${method} ${path} → ${expected}`);
      expectRateLimitHeaders(`${method} ${path}`, res, /"key";q=\d+;w=1/);
      expect(body).toMatchObject({ type: `urn:conveyor:problem:${expected === 403 ? 'forbidden' : 'account-not-found'}` });
    }
  });

  test('an Idempotency-Key is scoped by the authenticated tenant and key: B cannot replay or block A\'s', async () => {
    const key = uniqueTag('idem');
    const first = await call(keyA, 'POST', `/v1/accounts/${a.accountId}/deposits`, { amount: 3, currency: 'USD' }, { 'Idempotency-Key': key });
    expect(first.status).toBe(202);
    const accountB = uniqueTag('acct-b');
    // Same key, B's own account: a fresh request of B's, not a replay of A's answer and not a 422.
    const replay = await call(keyB, 'POST', `/v1/accounts/${accountB}/deposits`, { amount: 3, currency: 'USD' }, { 'Idempotency-Key': key });
    expect(replay.status).toBe(202);
    expect(replay.headers.get('idempotent-replayed')).toBeNull();
    expect((await json(replay)).jobId).not.toBe((await json(first)).jobId);
    // The header the old scheme trusted changes nothing now.
    const spoof = await call(keyB, 'POST', `/v1/accounts/${accountB}/deposits`, { amount: 3, currency: 'USD' }, { 'Idempotency-Key': key, 'X-Api-Key': 'whatever' });
    expect(spoof.headers.get('idempotent-replayed')).toBe('true');
  });

  test('an admin key manages keys over HTTP: created (shown once), listed without secrets, revoked', async () => {
    const admin = (await createApiKey(d.db, { tenantId: tenantA, scopes: ['admin'], name: 'operator' })).key;
    const created = await call(admin, 'POST', '/v1/keys', { tenant: tenantB, scopes: ['jobs:read'], name: 'made over HTTP' });
    expect(created.status).toBe(201);
    const { key, keyId } = await json(created);
    expect((await call(key, 'GET', '/v1/inventory')).status).toBe(200);
    const listed = await json(await call(admin, 'GET', `/v1/keys?tenant=${tenantB}`));
    expect(listed.keys).toEqual(expect.arrayContaining([expect.objectContaining({ keyId, tenantId: tenantB, scopes: ['jobs:read'], revokedAt: null })]));
    expect(JSON.stringify(listed)).not.toContain(key.slice(21));
    expect((await call(admin, 'POST', '/v1/keys', { tenant: 'Bad Tenant', scopes: ['root'] })).status).toBe(422);
    expect((await call(admin, 'DELETE', `/v1/keys/${keyId}`)).status).toBe(204);
    await waitFor('the revocation to take effect', async () => ((await call(key, 'GET', '/v1/inventory')).status === 401 ? true : undefined), 3_000);
  });

  test('a revoked key stops working within a second, without a restart', async () => {
    const { key, record } = await createApiKey(d.db, { tenantId: tenantB, scopes: ['jobs:read'], name: 'short-lived' });
    expect((await call(key, 'GET', '/v1/inventory')).status).toBe(200);
    expect(await revokeApiKey(d.db, record.keyId)).toBe(true);
    await waitFor('the revocation to take effect', async () => ((await call(key, 'GET', '/v1/inventory')).status === 401 ? true : undefined), 3_000);
  });
});
