/**
 * Crash mid-saga: the worker is SIGKILLed right after the charge committed and before Temporal
 * heard the activity complete. A new worker retries the charge, which finds its operation key:
 * the order completes once and the customer is charged once.
 */
import { json, postJson, uniqueTag, waitFor } from '../support/env';
import { databaseEnv, testDatabases } from '../support/databases';
import { startTestDeployment, type TestDeployment } from '../support/deployment';
import { balanceOf, openAccount, stockSku, untilBooked } from '../support/shop';

describe.each(testDatabases())('%s', (_name, target) => {
  let d: TestDeployment;

  beforeAll(async () => {
    d = await startTestDeployment({ env: databaseEnv(await target()) });
  });

  afterAll(() => d?.stop());

  const order = async (statusUrl: string) => json(await fetch(`${d.url}${statusUrl}`));

  test('SIGKILL during the charge: the order completes once and the customer is charged once', async () => {
    const sku = await stockSku(d.db);
    const accountId = await openAccount(d.db, { withEmail: false });
    const crashing = await d.spawn('worker', { CONVEYOR_TEST_FAILPOINT: 'order-charge-after-commit' });

    const orderId = uniqueTag('o');
    const res = await postJson(`${d.url}/v1/orders`, { orderId, customerId: 'c-9', items: [{ sku, quantity: 2 }], paymentAccountId: accountId });
    expect(res.status).toBe(202);
    const { statusUrl } = await json(res);

    // The fault really fired: the worker died by SIGKILL after the charge had committed.
    expect(await crashing.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const charges = () => d.db.selectFrom('ledger_entries').select(['entry_id', 'amount']).where('account_id', '=', accountId).execute();
    expect(await charges()).toEqual([{ entry_id: `order:${orderId}/charge`, amount: -2_500 }]);

    await d.spawn('worker');
    await untilBooked(d.db, orderId, 60_000);
    for (const type of ['picked_up', 'delivered']) expect((await postJson(`${d.url}/v1/shipments/${orderId}/events`, { type })).status).toBe(202);
    const done = await waitFor('the order to close', async () => {
      const o = await order(statusUrl);
      return o.workflowStatus === 'RUNNING' ? undefined : o;
    });

    expect(done).toMatchObject({ status: 'COMPLETED', workflowStatus: 'COMPLETED', compensations: [] });
    expect(done.steps[3]).toMatchObject({ state: 'done', detail: `no email on file for account ${accountId}: nothing sent` });
    expect(await charges()).toHaveLength(1);
    expect(await balanceOf(d.db, accountId)).toBe(10_000 - 2_500);
    // One run of the order, and one of its shipment: nothing started twice.
    expect((await d.client.workflow.count(`WorkflowId = "order:${orderId}" OR WorkflowId = "shipment:${orderId}"`)).count).toBe(2);
  }, 90_000);
});
