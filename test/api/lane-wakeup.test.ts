/**
 * The lane's safety net (SQLite and PostgreSQL): items committed with no wake at all (as when
 * the API dies between its commit and its wake, before the partition's workflow ever started)
 * are found by the outbox relay's overdue sweep, which starts the partition; they then run.
 */
import { enqueueLaneItems } from '../../db/lane';
import { laneWorkflowId } from '../../workflows/lane/definition';
import { uniqueTag, waitFor } from '../support/env';
import { databaseEnv, testDatabases } from '../support/databases';
import { startTestDeployment, type TestDeployment } from '../support/deployment';

describe.each(testDatabases())('%s', (_name, target) => {
  let d: TestDeployment;
  beforeAll(async () => {
    d = await startTestDeployment({ env: { ...databaseEnv(await target()), LANE_PARTITIONS: '1', LANE_IDLE_CHECK: '1s', OUTBOX_POLL_INTERVAL: '100ms' }, api: false, worker: true, mail: true });
    d.onStop(() => d.client.workflow.getHandle(laneWorkflowId(d.config.temporal.taskQueue, 'notification-email', 0)).terminate('test over').catch(() => undefined));
  });
  afterAll(() => d?.stop());

  test('items whose wake was never sent are started by the relay and complete', async () => {
    const tag = uniqueTag('nowake');
    await d.db.insertInto('users').values({ user_id: tag, email: `${tag}@example.com`, name: 'N', created_at: new Date().toISOString() }).execute();
    // Committed the way the API commits, but no wake follows.
    const [item] = await enqueueLaneItems(d.db, 'default', 'notification-email', [{ key: tag, partition: 0, input: { userId: tag } }], tag);
    d.startRelay();
    await waitFor('the item to succeed', async () => {
      const row = await d.db.selectFrom('lane_items').select('status').where('item_id', '=', item!.itemId).executeTakeFirstOrThrow();
      return row.status === 'succeeded' ? true : undefined;
    }, 30_000);
    // …and its effect happened once: the user's mail is recorded under the item's key.
    const sent = await d.db.selectFrom('sent_emails').select(['idempotency_key', 'recipient']).where('recipient', '=', `${tag}@example.com`).execute();
    expect(sent).toEqual([{ idempotency_key: `notification-email/${item!.itemId}`, recipient: `${tag}@example.com` }]);
  });
});
