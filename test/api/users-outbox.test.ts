/**
 * The outbox pattern in one process, on SQLite and PostgreSQL: POST /v1/users commits the user and
 * its UserSignedUp message together; the relay starts the welcome job; failures leave nothing
 * half-done; a bad message is parked, visible and retryable; per-aggregate order holds.
 */
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { openDatabase, type Database } from '../../db/database';
import { appendToOutbox } from '../../db/outbox';
import type { Config } from '../../platform/config';
import { readMailbox, startMailCatcher, type MailCatcher } from '../../platform/mail-catcher';
import { createOutboxRelay, type OutboxRelay } from '../../worker/outbox-relay';
import {
  connectClient,
  json,
  postJson,
  quietTemporalRuntime,
  startTestApi,
  startTestWorker,
  tempDir,
  testConfig,
  testLogger,
  uniqueTag,
  waitFor,
} from '../support/env';
import { databaseEnv, testDatabases } from '../support/databases';

beforeAll(() => quietTemporalRuntime());

describe.each(testDatabases())('%s', (_name, target) => {
  let config: Config;
  let db: Database;
  let client: Client;
  let catcher: MailCatcher;
  let mailboxDir: string;
  let api: { url: string; close(): Promise<void> };
  let worker: { stop(): Promise<void> };
  let relay: OutboxRelay;

  beforeAll(async () => {
    mailboxDir = path.join(tempDir('mail'), 'mailbox');
    catcher = await startMailCatcher({ host: '127.0.0.1', port: 0, dir: mailboxDir });
    config = testConfig({ ...databaseEnv(await target()), SMTP_URL: `smtp://127.0.0.1:${catcher.port}`, WELCOME_FOLLOW_UP_DELAY: '1 hour', OUTBOX_POLL_INTERVAL: '100ms' });
    db = await openDatabase(config.database);
    client = await connectClient(config);
    api = await startTestApi({ config, client, db });
    worker = await startTestWorker({ config, db });
    relay = createOutboxRelay({ config, db, client, logger: testLogger });
    relay.start();
  });

  afterAll(async () => {
    await relay?.stop();
    await worker?.stop();
    await api?.close();
    await client?.connection.close();
    await db?.destroy();
    await catcher?.close();
  });

  const outboxRows = (aggregateId: string) => db.selectFrom('outbox').selectAll().where('aggregate_id', '=', aggregateId).orderBy('seq').execute();
  const mailFor = async (userId: string) => (await readMailbox(mailboxDir)).filter((m) => m.idempotencyKey === `welcome-email:${userId}/welcome`);

  test('201: the user and its outbox row commit together; the relay starts the welcome job; one email', async () => {
    const userId = uniqueTag('u');
    const res = await postJson(`${api.url}/v1/users`, { userId, email: `${userId}@example.com`, name: 'Lin' }, { 'X-Correlation-Id': `corr-${userId}` });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/v1/users/${userId}`);
    const body = await json(res);
    expect(body).toEqual({ userId, welcomeJob: { jobId: `welcome-email:${userId}`, statusUrl: `/v1/jobs/welcome-email%3A${userId}` } });

    const [row, ...others] = await outboxRows(userId);
    expect(others).toHaveLength(0);
    expect(row).toMatchObject({ aggregate_type: 'user', event_type: 'UserSignedUp', correlation_id: `corr-${userId}` });

    await waitFor('the welcome email', async () => ((await mailFor(userId)).length === 1 ? true : undefined));
    const job = await json(await fetch(`${api.url}${body.welcomeJob.statusUrl}`));
    expect(job).toMatchObject({ status: 'RUNNING', correlationId: `corr-${userId}` });
    expect((await outboxRows(userId))[0]!.published_at).not.toBeNull();
    expect(await json(await fetch(`${api.url}/v1/users/${userId}`))).toMatchObject({ userId, email: `${userId}@example.com`, name: 'Lin' });

    const again = await postJson(`${api.url}/v1/users`, { userId, email: `${userId}@example.com`, name: 'Lin' });
    expect(again.status).toBe(409);
    expect(await outboxRows(userId)).toHaveLength(1);
  });

  test('a transaction that fails after the user insert leaves no user, no outbox row and no workflow', async () => {
    const userId = uniqueTag('u');
    process.env.CONVEYOR_TEST_FAILPOINT = 'user-before-outbox:throw';
    try {
      const res = await postJson(`${api.url}/v1/users`, { userId, email: `${userId}@example.com`, name: 'Lin' });
      expect(res.status).toBe(500);
    } finally {
      delete process.env.CONVEYOR_TEST_FAILPOINT;
    }
    expect((await fetch(`${api.url}/v1/users/${userId}`)).status).toBe(404);
    expect(await outboxRows(userId)).toHaveLength(0);
    await relay.publishBatch(); // whatever was due is handled now
    expect((await client.workflow.count(`WorkflowId = "welcome-email:${userId}"`)).count).toBe(0);
  });

  test('a message no retry can fix is parked, blocks its aggregate, and is published in order after a retry', async () => {
    const userId = uniqueTag('u');
    await db.transaction().execute(async (trx) => {
      // The first message of this aggregate is broken; the second is fine but must wait for it.
      await appendToOutbox(trx, { aggregateType: 'user', aggregateId: userId, eventType: 'UserSignedUp', payload: { userId, email: 'not-an-email', name: 'Lin' }, correlationId: 'c1' });
      await appendToOutbox(trx, { aggregateType: 'user', aggregateId: userId, eventType: 'UserSignedUp', payload: { userId, email: `${userId}@example.com`, name: 'Lin' }, correlationId: 'c2' });
    });
    const parked = await waitFor('the broken row to be parked', async () => {
      const status = await json(await fetch(`${api.url}/v1/outbox`));
      return status.parkedRows.find((r: { aggregate: string }) => r.aggregate === `user:${userId}`);
    });
    expect(parked).toMatchObject({ eventType: 'UserSignedUp', attempts: 1, retryUrl: `/v1/outbox/${parked.id}/retry` });
    expect(parked.lastError).toMatch(/email/);
    await relay.publishBatch();
    const [first, second] = await outboxRows(userId);
    expect(second!.published_at).toBeNull(); // blocked behind the parked row: order is kept

    // An operator fixes the data and retries the parked row.
    await db.updateTable('outbox').set({ payload: JSON.stringify({ userId, email: `${userId}@example.com`, name: 'Lin' }) }).where('seq', '=', first!.seq).execute();
    const retry = await fetch(`${api.url}${parked.retryUrl}`, { method: 'POST' });
    expect(retry.status).toBe(202);
    const published = await waitFor('both rows to be published', async () => {
      const rows = await outboxRows(userId);
      return rows.every((r) => r.published_at) ? rows : undefined;
    });
    expect(published[0]!.published_at! <= published[1]!.published_at!).toBe(true);
    expect((await fetch(`${api.url}${parked.retryUrl}`, { method: 'POST' })).status).toBe(404); // no longer parked
    await waitFor('one welcome email', async () => ((await mailFor(userId)).length === 1 ? true : undefined));
    expect((await client.workflow.count(`WorkflowId = "welcome-email:${userId}"`)).count).toBe(1);
  });
});
