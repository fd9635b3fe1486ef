/**
 * Orders over HTTP on the real dev server with a real worker and a real mail catcher, against
 * SQLite and PostgreSQL: the lifecycle through the query, carrier events, cancel (update) before
 * and after pick-up, the Web UI's search attributes and summary, inventory, and the demo seed.
 */
import { demoInventory, seedDemoData } from '../../db/seed';
import { readMailbox } from '../../platform/mail-catcher';
import { CorrelationIdKey, CustomerIdKey, OrderIdKey } from '../../platform/temporal-keys';
import { shipmentWorkflowId } from '../../workflows/shipment/definition';
import { json, postJson, uniqueTag, waitFor } from '../support/env';
import { databaseEnv, testDatabases } from '../support/databases';
import { startTestDeployment, type TestDeployment } from '../support/deployment';
import { untilKeyExpired } from '../support/idempotency';
import { balanceOf, openAccount, stockOf, stockSku, untilBooked } from '../support/shop';

describe.each(testDatabases())('%s', (_name, target) => {
  let d: TestDeployment;

  beforeAll(async () => {
    d = await startTestDeployment({ env: { ...databaseEnv(await target()), TEMPORAL_UI_URL: 'http://127.0.0.1:8233', IDEMPOTENCY_KEY_RETENTION: '3s' }, mail: true, worker: true });
  });

  afterAll(() => d?.stop());

  const get = async (url: string) => {
    const res = await fetch(`${d.url}${url}`);
    return { status: res.status, body: await json(res) };
  };
  const carrier = (orderId: string, type: string) => postJson(`${d.url}/v1/shipments/${orderId}/events`, { type });
  const orderIn = (statusUrl: string, what: string, check: (order: { workflowStatus: string; pickedUp: boolean; steps: Array<{ name: string; state: string }> }) => boolean) =>
    waitFor(what, async () => {
      const { status, body } = await get(statusUrl);
      return status === 200 && check(body) ? body : undefined;
    });
  // The order's status is final a moment before the workflow closes (it records the outcome last).
  const closed = (statusUrl: string) => orderIn(statusUrl, `${statusUrl} to close`, (o) => o.workflowStatus !== 'RUNNING');

  async function placeOrder(headers: Record<string, string> = {}) {
    const sku = await stockSku(d.db);
    const accountId = await openAccount(d.db);
    const orderId = uniqueTag('o');
    const res = await postJson(`${d.url}/v1/orders`, { orderId, customerId: 'c-9', items: [{ sku, quantity: 3 }], paymentAccountId: accountId }, headers);
    expect(res.status).toBe(202);
    return { sku, accountId, orderId, res, body: await json(res) };
  }

  test('202 + Location; the query shows each step; carrier events complete it; the Web UI can find it', async () => {
    const { sku, accountId, orderId, res, body } = await placeOrder({ 'X-Correlation-Id': 'corr-order' });
    expect(res.headers.get('location')).toBe(`/v1/orders/${orderId}`);
    expect(body).toMatchObject({ jobId: `order:${orderId}`, status: 'RUNNING', statusUrl: `/v1/orders/${orderId}` });

    await untilBooked(d.db, orderId);
    expect((await carrier(orderId, 'picked_up')).status).toBe(202);
    expect((await carrier(orderId, 'delivered')).status).toBe(202);
    const done = await closed(body.statusUrl);

    expect(done).toMatchObject({ status: 'COMPLETED', workflowStatus: 'COMPLETED', amount: 3 * 1_250, currency: 'USD', compensations: [], correlationId: 'corr-order' });
    expect(done.webUiUrl).toMatch(`/workflows/order%3A${orderId}/`);
    expect(done.steps.map((s: { state: string; finishedAt: string }) => [s.state, typeof s.finishedAt])).toEqual(Array(4).fill(['done', 'string']));
    expect((await get(`/v1/inventory/${sku}`)).body).toMatchObject({ sku, stock: 2, price: 1_250, currency: 'USD' });
    expect(await balanceOf(d.db, accountId)).toBe(10_000 - 3 * 1_250);
    const mail = (await readMailbox(d.mailboxDir)).filter((m) => m.idempotencyKey === `order:${orderId}/confirmation`);
    expect(mail.map((m) => m.subject)).toEqual([`Your order ${orderId} has been delivered`]);

    // The order and its shipment carry the search attributes and a summary a person can read.
    for (const workflowId of [`order:${orderId}`, shipmentWorkflowId(orderId)]) {
      const description = await d.client.workflow.getHandle(workflowId).describe();
      expect([OrderIdKey, CustomerIdKey, CorrelationIdKey].map((k) => description.typedSearchAttributes.get(k))).toEqual([orderId, 'c-9', 'corr-order']);
    }
    expect(await (await d.client.workflow.getHandle(`order:${orderId}`).describe()).staticSummary()).toBe(`Order ${orderId}: 3 items for c-9`);

    // The events endpoint of a finished shipment, and a cancel of a finished order, say why not.
    expect(await json(await carrier(orderId, 'lost'))).toMatchObject({ status: 409, type: 'urn:conveyor:problem:shipment-closed' });
    const late = await fetch(`${d.url}/v1/orders/${orderId}/cancel`, { method: 'POST' });
    expect([late.status, (await json(late)).detail]).toEqual([409, `Order ${orderId} is COMPLETED.`]);
  });

  test('cancel before pick-up is accepted and compensates; after pick-up it is a 409 with the reason', async () => {
    const before = await placeOrder();
    await untilBooked(d.db, before.orderId);
    const cancel = await postJson(`${d.url}/v1/orders/${before.orderId}/cancel`, { reason: 'ordered by mistake' });
    expect(cancel.status).toBe(202);
    const canceled = await closed(before.body.statusUrl);
    expect(canceled).toMatchObject({ status: 'CANCELED', reason: 'ordered by mistake', workflowStatus: 'COMPLETED' });
    expect(canceled.compensations.map((c: { name: string; outcome: string }) => `${c.name}: ${c.outcome}`)).toEqual([
      'cancel shipment: undone',
      'refund payment: undone',
      'release inventory: undone',
    ]);
    expect([await stockOf(d.db, before.sku), await balanceOf(d.db, before.accountId)]).toEqual([5, 10_000]);

    const after = await placeOrder();
    await untilBooked(d.db, after.orderId);
    expect((await carrier(after.orderId, 'picked_up')).status).toBe(202);
    await orderIn(after.body.statusUrl, 'the order to learn of the pick-up', (o) => o.pickedUp);
    const refused = await fetch(`${d.url}/v1/orders/${after.orderId}/cancel`, { method: 'POST' });
    expect(refused.status).toBe(409);
    expect(refused.headers.get('content-type')).toMatch('application/problem+json');
    expect(await json(refused)).toMatchObject({
      type: 'urn:conveyor:problem:order-not-cancelable',
      detail: 'the carrier has picked the parcel up; the order can no longer be canceled',
    });
    expect((await carrier(after.orderId, 'delivered')).status).toBe(202);
    expect(await closed(after.body.statusUrl)).toMatchObject({ status: 'COMPLETED' });
  });

  test('an Idempotency-Key without orderId maps a retried POST to the same order, also after the key expired', async () => {
    const sku = await stockSku(d.db);
    const accountId = await openAccount(d.db);
    const body = { customerId: 'c-9', items: [{ sku, quantity: 1 }], paymentAccountId: accountId };
    const key = { 'Idempotency-Key': uniqueTag('key') };
    const first = await json(await postJson(`${d.url}/v1/orders`, body, key));
    const again = await postJson(`${d.url}/v1/orders`, body, key);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect((await json(again)).jobId).toBe(first.jobId);
    expect(first.jobId).toMatch(/^order:o-[0-9a-f]{20}$/);

    // The stored response is gone once the key expired (IDEMPOTENCY_KEY_RETENTION is 3s here), but
    // the order ID derives from the key: a late retry joins the running order, it is not a replay.
    await untilKeyExpired(d.db, key['Idempotency-Key']);
    const lateWhileRunning = await postJson(`${d.url}/v1/orders`, body, key);
    expect(lateWhileRunning.status).toBe(202);
    expect(lateWhileRunning.headers.get('idempotent-replayed')).toBeNull();
    expect(await json(lateWhileRunning)).toMatchObject({ jobId: first.jobId, webUiUrl: first.webUiUrl }); // same run ID: the same execution

    // Once the order has finished, a retry after the key expired again gets the finished order.
    const orderId = first.jobId.slice('order:'.length);
    await untilBooked(d.db, orderId);
    for (const type of ['picked_up', 'delivered']) expect((await carrier(orderId, type)).status).toBe(202);
    await closed(first.statusUrl);
    await untilKeyExpired(d.db, key['Idempotency-Key']);
    const lateAfterClose = await postJson(`${d.url}/v1/orders`, body, key);
    expect(lateAfterClose.status).toBe(200);
    expect(lateAfterClose.headers.get('idempotent-replayed')).toBeNull(); // not a replay: the server refused a second run
    expect(lateAfterClose.headers.get('location')).toBe(first.statusUrl);
    expect(await json(lateAfterClose)).toMatchObject({ jobId: first.jobId, status: 'COMPLETED' });

    // Never a second order: one workflow, one charge, one unit taken.
    expect((await d.client.workflow.count(`WorkflowId = "${first.jobId}"`)).count).toBe(1);
    expect([await balanceOf(d.db, accountId), await stockOf(d.db, sku)]).toEqual([10_000 - 1_250, 4]);
  });

  test('bad input is refused before Temporal; unknown orders, shipments and SKUs are 404', async () => {
    const bad = await postJson(`${d.url}/v1/orders`, { customerId: 'c 9', items: [{ sku: 'a', quantity: 1 }, { sku: 'a', quantity: 0 }], paymentAccountId: 'x', extra: 1 });
    expect(bad.status).toBe(422);
    expect((await json(bad)).errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual(['/customerId', '/extra', '/items', '/items/1/quantity']);
    expect((await carrier('o-none', 'exploded')).status).toBe(422);
    expect((await get('/v1/orders/o-none')).status).toBe(404);
    expect((await carrier('o-none', 'picked_up')).status).toBe(404);
    expect((await get('/v1/inventory/no-such-sku')).status).toBe(404);
  });

  test('the demo seed applies once: a second start changes nothing', async () => {
    await seedDemoData(d.db);
    const snapshot = async () => ({ inventory: (await get('/v1/inventory')).body, accounts: await d.db.selectFrom('accounts').selectAll().where('account_id', 'like', 'acct-%').execute() });
    const before = await snapshot();
    expect(await seedDemoData(d.db)).toEqual({ appliedNow: false });
    expect(await snapshot()).toEqual(before);
    expect(before.inventory.items.map((i: { sku: string }) => i.sku)).toEqual(expect.arrayContaining(demoInventory.map((i) => i.sku)));
    expect((await get('/v1/accounts/acct-demo')).body.entries).toEqual([expect.objectContaining({ entryId: 'seed:demo/v1/acct-demo' })]);
  });
});
