/**
 * Event streams, durable pub/sub, the live feed and the correlation view, on the real dev server
 * with a real worker and relay (SQLite).
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { appendEvent, type DomainEvent, type StoredEvent } from '../../db/events';
import { createTemporalGateway } from '../../platform/temporal';
import { CORRELATION_HEADER } from '../../platform/temporal-keys';
import { deliverToSubscribers } from '../../worker/event-delivery';
import { DEFAULT_TENANT } from '../../platform/tenancy';
import { consumerProgressQuery, retiredConsumerWorkflowId, streamConsumerWorkflowId, subscriberWorkflowId } from '../../workflows/streams/definition';
import { json, postJson, quietPeriod, uniqueTag, waitFor } from '../support/env';
import { startTestDeployment, type TestDeployment } from '../support/deployment';
import { ISOLATED_NAMESPACES } from '../support/namespaces';
import { openAccount, stockSku, untilBooked } from '../support/shop';

let d: TestDeployment;

beforeAll(async () => {
  d = await startTestDeployment({
    env: { TEMPORAL_NAMESPACE: ISOLATED_NAMESPACES.streams, WELCOME_FOLLOW_UP_DELAY: '1 hour', OUTBOX_POLL_INTERVAL: '100ms' },
    mail: true,
    worker: true,
  });
});

afterAll(() => d?.stop());

const append = (event: DomainEvent) => d.db.transaction().execute((trx) => appendEvent(trx, event));
const stat = async (group: string, key: string) =>
  Number((await d.db.selectFrom('stream_stats').select('value').where('tenant_id', '=', DEFAULT_TENANT).where('group_name', '=', group).where('stat_key', '=', key).executeTakeFirst())?.value ?? 0);
/** The relay the first test starts late, or (when a later test runs alone) one started now. */
const relayRunning = () => d.relay ?? d.startRelay();
/** The test key's tenant's instance of the group: the events appended here are that tenant's. */
const signupConsumer = () => d.client.workflow.getHandle(streamConsumerWorkflowId(DEFAULT_TENANT, 'users', 'signup-stats'));

test('a consumer group that starts after 100 events catches up from offset 0; a seek back replays 50 without doubling', async () => {
  // 100 events before any consumer runs (no relay yet): the group is "added" afterwards.
  const tag = uniqueTag('signup');
  for (let i = 0; i < 100; i++) {
    await append({ stream: 'users', eventId: `${tag}-${i}`, type: 'UserSignedUp', payload: { userId: `${tag}-${i}` }, correlationId: tag });
  }
  const page = await json(await fetch(`${d.url}/v1/streams/users/events?after=95&limit=10`));
  expect(page.events.map((e: StoredEvent) => e.offset)).toEqual([96, 97, 98, 99, 100]);
  expect(page).toMatchObject({ lastOffset: 100, nextAfter: 100 });

  // A platform-wide group as it ran before groups were per tenant (its input names no tenant): it
  // reads nothing now, and the relay retires it when it starts.
  const retired = await d.client.workflow.start('streamConsumer', {
    workflowId: retiredConsumerWorkflowId('users', 'signup-stats'),
    taskQueue: d.config.temporal.taskQueue,
    args: [{ stream: 'users', group: 'signup-stats' }],
  });
  d.startRelay(); // only now, once its events are in: a consumer group that joins late
  const caughtUp = await waitFor('the group to catch up', async () => {
    const { consumers } = await json(await fetch(`${d.url}/v1/streams/users/consumers`));
    const group = consumers.find((c: { group: string }) => c.group === 'signup-stats');
    return group?.lag === 0 && group.committedOffset === 100 ? group : undefined;
  });
  expect(caughtUp).toMatchObject({ workflowId: `stream-consumer:${DEFAULT_TENANT}:users:signup-stats`, lag: 0 });
  expect(await stat('signup-stats', 'count:UserSignedUp')).toBe(100);
  await waitFor('the platform-wide group to be retired', async () => ((await retired.describe()).status.name === 'TERMINATED' ? true : undefined));

  const seek = await postJson(`${d.url}/v1/streams/users/consumers/signup-stats/seek`, { offset: 50 });
  expect(seek.status).toBe(202);
  const progress = await waitFor('the replay of 50 events', async () => {
    const p = await signupConsumer().query(consumerProgressQuery);
    return p.duplicatesSkipped >= 50 && p.committedOffset === 100 ? p : undefined;
  });
  expect(progress.duplicatesSkipped).toBe(50); // re-read, recognised, not applied again
  expect(await stat('signup-stats', 'count:UserSignedUp')).toBe(100);
  const { consumers } = await json(await fetch(`${d.url}/v1/streams/users/consumers`));
  expect(consumers.find((c: { group: string }) => c.group === 'signup-stats').lag).toBe(0);
  // The lag metric (summed over the group's per-tenant instances) agrees.
  expect(await (await fetch(`${d.url}/metrics`)).text()).toMatch(/^conveyor_consumer_group_lag_events\{stream="users",group="signup-stats"\} 0$/m);

  expect((await postJson(`${d.url}/v1/streams/users/consumers/signup-stats/seek`, { offset: 101 })).status).toBe(422);
  expect((await postJson(`${d.url}/v1/streams/users/consumers/nobody/seek`, { offset: 1 })).status).toBe(404);
  expect((await fetch(`${d.url}/v1/streams/nowhere/events`)).status).toBe(400);
}, 90_000);

test('an event published 5 times (publisher retries): the durable subscriber reacts once, the loyalty credit is applied once', async () => {
  const accountId = uniqueTag('acct');
  const event = await append({
    stream: 'payments',
    eventId: uniqueTag('payment'),
    type: 'PaymentProcessed',
    payload: { accountId, amount: 12_345, currency: 'EUR' },
    correlationId: uniqueTag('corr'),
  });
  // The relay delivers it once; four more deliveries, as a retrying publisher would make.
  for (let i = 0; i < 4; i++) await deliverToSubscribers(createTemporalGateway(d.client, d.config.temporal), event);

  const points = await waitFor('the loyalty credit', async () =>
    (await d.db.selectFrom('ledger_entries').selectAll().where('account_id', '=', `${accountId}.points`).execute()).find(Boolean),
  );
  expect(points).toMatchObject({ amount: 123, currency: 'PTS' });
  const reactionId = `reaction:loyalty:${event.eventId}`;
  await waitFor('the reaction to finish', async () => ((await d.client.workflow.getHandle(reactionId).describe()).status.name === 'COMPLETED' ? true : undefined));
  // The four redeliveries may still be in flight to the subscriber: a (wrong) second reaction or
  // credit needs time to show up before its absence proves anything. Bounded, and short.
  await quietPeriod(500);
  expect(await d.db.selectFrom('ledger_entries').selectAll().where('account_id', '=', `${accountId}.points`).execute()).toHaveLength(1);
  expect((await d.client.workflow.count(`WorkflowId = "${reactionId}"`)).count).toBe(1);
}, 60_000);

/** Read server-sent events from a live feed until `enough` says stop, for 20 s at the most. */
async function readLive(url: string, onOpen: () => Promise<void>, enough: (events: StoredEvent[]) => boolean): Promise<StoredEvent[]> {
  const controller = new AbortController();
  // The bound: a feed that goes quiet aborts the pending read instead of hanging the test.
  const timer = setTimeout(() => controller.abort(), 20_000);
  const events: StoredEvent[] = [];
  try {
    const res = await fetch(url, { signal: controller.signal });
    const reader = res.body!.getReader();
    let buffer = '';
    await reader.read(); // the ": connected" comment: the subscription is in place
    await onOpen();
    while (!enough(events)) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += Buffer.from(value).toString();
      const frames = buffer.split('\n\n');
      buffer = frames.pop()!;
      for (const frame of frames) {
        const data = frame.split('\n').find((l) => l.startsWith('data: '));
        if (data) events.push(JSON.parse(data.slice(6)));
      }
    }
  } catch (err) {
    if (!controller.signal.aborted) throw err; // timed out: the caller's assertions say what is missing
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return events;
}

test('the live feed is fire-and-forget: a connected client gets events as they happen, a later one never sees earlier events', async () => {
  const first = uniqueTag('live');
  const second = uniqueTag('live');
  const signUp = (userId: string) => postJson(`${d.url}/v1/users`, { userId, email: `${userId}@example.com`, name: 'Ada' });
  const userIdOf = (e: StoredEvent) => e.payload.userId;

  const early = readLive(`${d.url}/v1/topics/users/live`, async () => void (await signUp(first)), (events) => events.some((e) => userIdOf(e) === second));
  await waitFor('the first event to be delivered', async () => (d.relay!.stats.published > 0 && (await d.db.selectFrom('outbox').select('seq').where('aggregate_id', '=', `user:${first}:signed-up`).where('published_at', 'is not', null).executeTakeFirst()) ? true : undefined));
  const late = await readLive(`${d.url}/v1/topics/users/live`, async () => void (await signUp(second)), (events) => events.some((e) => userIdOf(e) === second));

  expect((await early).map(userIdOf)).toEqual(expect.arrayContaining([first, second]));
  expect(late.map(userIdOf)).toContain(second);
  expect(late.map(userIdOf)).not.toContain(first); // published before it connected: missed, by design
}, 60_000);

test('one order, one correlation ID: /v1/correlations returns the order, its shipment, the reactions and the events, and nothing else', async () => {
  const correlationId = uniqueTag('corr');
  // The carrier's calls carry their own ID (as a real carrier's would): OrderShipped and the
  // shipping notice belong to the order's chain all the same, not to the carrier's request.
  const carrierCorrelationId = uniqueTag('carrier');
  relayRunning();
  const sku = await stockSku(d.db);
  const accountId = await openAccount(d.db);
  const orderId = uniqueTag('o');
  const res = await postJson(`${d.url}/v1/orders`, { orderId, customerId: 'c-9', items: [{ sku, quantity: 2 }], paymentAccountId: accountId }, { 'X-Correlation-Id': correlationId });
  expect(res.status).toBe(202);
  await untilBooked(d.db, orderId);
  for (const type of ['picked_up', 'delivered']) expect((await postJson(`${d.url}/v1/shipments/${orderId}/events`, { type }, { 'X-Correlation-Id': carrierCorrelationId })).status).toBe(202);

  const view = await waitFor('the whole causal chain', async () => {
    const v = await correlationView(correlationId);
    const complete = ['order:', 'shipment:', 'reaction:loyalty:', 'reaction:shipping-notice:'].every((p) => v.workflowIds.some((id: string) => id.startsWith(p)));
    return complete && v.eventTypes.includes('OrderCompleted') ? v : undefined;
  }, 60_000);

  const workflows = view.timeline.filter((t: { kind: string }) => t.kind === 'workflow');
  const events = view.timeline.filter((t: { kind: string }) => t.kind === 'event');
  const shippingNotice = `reaction:shipping-notice:shipment:${orderId}#OrderShipped`;
  expect(workflows.map((w: { workflowId: string }) => w.workflowId).sort()).toEqual(
    [`order:${orderId}`, `shipment:${orderId}`, `reaction:loyalty:order:${orderId}/charge#PaymentProcessed`, shippingNotice].sort(),
  );
  expect(events.map((e: { type: string }) => e.type)).toEqual(expect.arrayContaining(['OrderCreated', 'PaymentProcessed', 'OrderShipped', 'OrderCompleted']));
  expect(events.every((e: { correlationId: string }) => e.correlationId === correlationId)).toBe(true);
  const times = view.timeline.map((t: { at: string }) => t.at);
  expect([...times].sort()).toEqual(times); // in time order
  expect(view.webUiQuery).toBe(`CorrelationId="${correlationId}"`);

  // The carrier request's own view holds neither the shipment event nor the reaction to it.
  const carrierView = await correlationView(carrierCorrelationId);
  expect(carrierView.eventTypes).not.toContain('OrderShipped');
  expect(carrierView.workflowIds).not.toContain(shippingNotice);
}, 90_000);

test("a reaction carries its event's correlation ID, not the one of the request that first started the long-lived subscriber", async () => {
  relayRunning();
  // The loyalty subscriber is a singleton that earlier tests may have started: stop it, so that
  // order A's payment starts it afresh, under A's correlation ID.
  const subscriber = d.client.workflow.getHandle(subscriberWorkflowId('payments', 'loyalty'));
  await subscriber.terminate('test: start the subscriber under a known correlation ID').catch((err: unknown) => {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  });
  const placeOrder = async (correlationId: string) => {
    const [sku, accountId, orderId] = [await stockSku(d.db), await openAccount(d.db), uniqueTag('o')];
    const res = await postJson(`${d.url}/v1/orders`, { orderId, customerId: 'c-9', items: [{ sku, quantity: 1 }], paymentAccountId: accountId }, { 'X-Correlation-Id': correlationId });
    expect(res.status).toBe(202);
    return { orderId, reactionId: `reaction:loyalty:order:${orderId}/charge#PaymentProcessed` };
  };
  const reactionDone = (reactionId: string) =>
    waitFor(`${reactionId} to finish`, async () => ((await d.client.workflow.getHandle(reactionId).describe()).status.name === 'COMPLETED' ? true : undefined), 60_000);

  const [a, b] = [uniqueTag('corr-a'), uniqueTag('corr-b')];
  const orderA = await placeOrder(a);
  await reactionDone(orderA.reactionId);
  // The premise: the running subscriber was started by A's payment, with A in its start header.
  const started = (await subscriber.fetchHistory()).events![0]!.workflowExecutionStartedEventAttributes!;
  expect(defaultPayloadConverter.fromPayload(started.header!.fields![CORRELATION_HEADER]!)).toBe(a);

  const orderB = await placeOrder(b);
  await reactionDone(orderB.reactionId);
  const creditB = `${orderB.reactionId}/credit#DepositReceived`; // the loyalty credit's event
  const credit = await d.db.selectFrom('events').select(['correlation_id', 'type']).where('event_id', '=', creditB).executeTakeFirstOrThrow();
  expect(credit).toEqual({ correlation_id: b, type: 'DepositReceived' });

  const [viewA, viewB] = [await correlationView(a), await correlationView(b)];
  expect(viewB.workflowIds).toContain(orderB.reactionId);
  expect(viewB.eventIds).toContain(creditB);
  expect(viewA.workflowIds).not.toContain(orderB.reactionId);
  expect(viewA.eventIds).not.toContain(creditB);

  // The orders wait for a carrier that never comes; their shipments close with them.
  for (const { orderId } of [orderA, orderB]) await d.client.workflow.getHandle(`order:${orderId}`).terminate('test cleanup');
}, 90_000);

/** GET /v1/correlations/<id>, with the workflow IDs, event types and event IDs of its timeline. */
async function correlationView(correlationId: string) {
  const view = await json(await fetch(`${d.url}/v1/correlations/${correlationId}`));
  const of = (kind: string, field: string): string[] => view.timeline.filter((t: { kind: string }) => t.kind === kind).map((t: Record<string, string>) => t[field]);
  return { ...view, workflowIds: of('workflow', 'workflowId'), eventTypes: of('event', 'type'), eventIds: of('event', 'eventId') };
}
