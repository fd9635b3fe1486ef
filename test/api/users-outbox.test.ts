/**
 * The outbox pattern in one process, on SQLite and PostgreSQL: POST /v1/users commits the user and
 * its UserSignedUp message together; the relay starts the welcome job; failures leave nothing
 * half-done; a bad message is parked, visible and retryable; per-aggregate order holds.
 */
import { appendToOutbox } from '../../db/outbox';
import { readMailbox } from '../../platform/mail-catcher';
import { json, postJson, uniqueTag, waitFor } from '../support/env';
import { databaseEnv, testDatabases } from '../support/databases';
import { startTestDeployment, type TestDeployment } from '../support/deployment';

describe.each(testDatabases())('%s', (_name, target) => {
  let d: TestDeployment;

  beforeAll(async () => {
    d = await startTestDeployment({ env: { ...databaseEnv(await target()), WELCOME_FOLLOW_UP_DELAY: '1 hour', OUTBOX_POLL_INTERVAL: '100ms' }, mail: true, worker: true, relay: true });
  });

  afterAll(() => d?.stop());

  const outboxRows = (aggregateId: string) => d.db.selectFrom('outbox').selectAll().where('aggregate_id', '=', aggregateId).orderBy('seq').execute();
  const mailFor = async (userId: string) => (await readMailbox(d.mailboxDir)).filter((m) => m.idempotencyKey === `welcome-email:${userId}/welcome`);

  test('201: the user and its outbox row commit together; the relay starts the welcome job; one email', async () => {
    const userId = uniqueTag('u');
    const res = await postJson(`${d.url}/v1/users`, { userId, email: `${userId}@example.com`, name: 'Lin' }, { 'X-Correlation-Id': `corr-${userId}` });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/v1/users/${userId}`);
    const body = await json(res);
    expect(body).toEqual({ userId, welcomeJob: { jobId: `welcome-email:${userId}`, statusUrl: `/v1/jobs/welcome-email%3A${userId}` } });

    const [row, ...others] = await outboxRows(userId);
    expect(others).toHaveLength(0);
    expect(row).toMatchObject({ aggregate_type: 'user', event_type: 'UserSignedUp', correlation_id: `corr-${userId}` });

    await waitFor('the welcome email', async () => ((await mailFor(userId)).length === 1 ? true : undefined));
    const job = await json(await fetch(`${d.url}${body.welcomeJob.statusUrl}`));
    expect(job).toMatchObject({ status: 'RUNNING', correlationId: `corr-${userId}` });
    expect((await outboxRows(userId))[0]!.published_at).not.toBeNull();
    expect(await json(await fetch(`${d.url}/v1/users/${userId}`))).toMatchObject({ userId, email: `${userId}@example.com`, name: 'Lin' });

    const again = await postJson(`${d.url}/v1/users`, { userId, email: `${userId}@example.com`, name: 'Lin' });
    expect(again.status).toBe(409);
    expect(await outboxRows(userId)).toHaveLength(1);
  });

  test('a transaction that fails after the user insert leaves no user, no outbox row and no workflow', async () => {
    const userId = uniqueTag('u');
    process.env.CONVEYOR_TEST_FAILPOINT = 'user-before-outbox:throw';
    try {
      const res = await postJson(`${d.url}/v1/users`, { userId, email: `${userId}@example.com`, name: 'Lin' });
      expect(res.status).toBe(500);
    } finally {
      delete process.env.CONVEYOR_TEST_FAILPOINT;
    }
    expect((await fetch(`${d.url}/v1/users/${userId}`)).status).toBe(404);
    expect(await outboxRows(userId)).toHaveLength(0);
    await d.relay!.publishBatch(); // whatever was due is handled now
    expect((await d.client.workflow.count(`WorkflowId = "welcome-email:${userId}"`)).count).toBe(0);
  });

  test('a message no retry can fix is parked, blocks its aggregate, and is published in order after a retry', async () => {
    const userId = uniqueTag('u');
    await d.db.transaction().execute(async (trx) => {
      // The first message of this aggregate is broken; the second is fine but must wait for it.
      await appendToOutbox(trx, { aggregateType: 'user', aggregateId: userId, eventType: 'UserSignedUp', payload: { userId, email: 'not-an-email', name: 'Lin' }, correlationId: 'c1' });
      await appendToOutbox(trx, { aggregateType: 'user', aggregateId: userId, eventType: 'UserSignedUp', payload: { userId, email: `${userId}@example.com`, name: 'Lin' }, correlationId: 'c2' });
    });
    const parked = await waitFor('the broken row to be parked', async () => {
      const status = await json(await fetch(`${d.url}/v1/outbox`));
      return status.parkedRows.find((r: { aggregate: string }) => r.aggregate === `user:${userId}`);
    });
    expect(parked).toMatchObject({ eventType: 'UserSignedUp', attempts: 1, retryUrl: `/v1/outbox/${parked.id}/retry` });
    expect(parked.lastError).toMatch(/email/);
    await d.relay!.publishBatch();
    const [first, second] = await outboxRows(userId);
    expect(second!.published_at).toBeNull(); // blocked behind the parked row: order is kept

    // An operator fixes the data and retries the parked row.
    await d.db.updateTable('outbox').set({ payload: JSON.stringify({ userId, email: `${userId}@example.com`, name: 'Lin' }) }).where('seq', '=', first!.seq).execute();
    const retry = await fetch(`${d.url}${parked.retryUrl}`, { method: 'POST' });
    expect(retry.status).toBe(202);
    const published = await waitFor('both rows to be published', async () => {
      const rows = await outboxRows(userId);
      return rows.every((r) => r.published_at) ? rows : undefined;
    });
    expect(published[0]!.published_at! <= published[1]!.published_at!).toBe(true);
    expect((await fetch(`${d.url}${parked.retryUrl}`, { method: 'POST' })).status).toBe(404); // no longer parked
    await waitFor('one welcome email', async () => ((await mailFor(userId)).length === 1 ? true : undefined));
    expect((await d.client.workflow.count(`WorkflowId = "welcome-email:${userId}"`)).count).toBe(1);
  });
});
