/**
 * Temporal is down while users sign up: the commits succeed, the outbox holds the messages, the
 * relay backs off, and when the server is back every welcome job runs, once each. And a deposit
 * answered 503 during the outage is retried afterwards with the same Idempotency-Key: one deposit.
 */
import path from 'node:path';
import { startDevServer, type DevServer } from '../../platform/dev-server';
import { readMailbox } from '../../platform/mail-catcher';
import { freePort } from '../../platform/ports';
import { requireBinary, TEMPORAL_CLI } from '../../platform/temporal-binaries';
import { postJson, tempDir, uniqueTag, waitFor } from '../support/env';
import { databaseEnv, testDatabases } from '../support/databases';
import { startTestDeployment, type TestDeployment } from '../support/deployment';

const USERS = 50;

describe.each(testDatabases())('%s', (_name, target) => {
  let server: DevServer | undefined;
  let d: TestDeployment | undefined;

  afterAll(async () => {
    await d?.stop();
    await server?.stop();
  });

  test(`${USERS} sign-ups while Temporal is stopped: all welcome jobs run once it is back`, async () => {
    // A dev server of our own, persisted to a file, so it can be stopped and started again.
    const dir = tempDir('down');
    const serverOptions = { executable: requireBinary(TEMPORAL_CLI), ip: '127.0.0.1', port: await freePort(), dbFile: path.join(dir, 'temporal.sqlite') };
    server = await startDevServer(serverOptions);
    // The deployment on that server; its client connects lazily, as production's does, so it
    // rides out the outage and reconnects on its own.
    d = await startTestDeployment({
      env: { ...databaseEnv(await target()), TEMPORAL_ADDRESS: server.address, WELCOME_FOLLOW_UP_DELAY: '1 hour', OUTBOX_POLL_INTERVAL: '100ms', TEMPORAL_RPC_TIMEOUT: '1s' },
      mail: true,
      relay: true,
      lazyClient: true,
    });
    const { db, client } = d;

    await server.stop();
    // A start answered 503 may or may not have been accepted; the README says a retry with the
    // same Idempotency-Key is always safe. The retry below comes after the outage.
    const accountId = uniqueTag('acct');
    const deposit = () => postJson(`${d!.url}/v1/accounts/${accountId}/deposits`, { amount: 500, currency: 'USD' }, { 'Idempotency-Key': `retry-${accountId}` });
    const refused = await deposit();
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBeTruthy();
    const batch = uniqueTag('down');
    const userIds = Array.from({ length: USERS }, (_, i) => `${batch}-${i}`);
    for (const userId of userIds) {
      const res = await postJson(`${d.url}/v1/users`, { userId, email: `${userId}@example.com`, name: 'Ada' });
      expect(res.status).toBe(201); // the commit needs only the database
    }
    await waitFor('the relay to meet the outage', async () => (d!.relay!.stats.outages >= 2 ? true : undefined));
    const pending = await db.selectFrom('outbox').select('seq').where('event_type', '=', 'UserSignedUp').where('published_at', 'is', null).execute();
    expect(pending).toHaveLength(USERS);

    server = await startDevServer(serverOptions);
    await d.startWorker();
    await waitFor('every outbox row to be published', async () => {
      const left = await db.selectFrom('outbox').select('seq').where('published_at', 'is', null).execute();
      return left.length === 0 ? true : undefined;
    }, 90_000);
    const keys = await waitFor(`${USERS} welcome emails`, async () => {
      const mails = (await readMailbox(d!.mailboxDir)).map((m) => m.idempotencyKey).filter((k) => k?.endsWith('/welcome'));
      return mails.length >= USERS ? mails : undefined;
    }, 60_000);
    expect([...keys].sort()).toEqual(userIds.map((id) => `welcome-email:${id}/welcome`).sort());
    expect((await client.workflow.count(`WorkflowId STARTS_WITH "welcome-email:${batch}-"`)).count).toBe(USERS);

    // The deposit that got a 503, retried now, and once more: one deposit, one balance change.
    for (let i = 0; i < 2; i++) expect([202, 200]).toContain((await deposit()).status);
    await waitFor('the deposit', async () => {
      const account = await db.selectFrom('accounts').select('balance').where('account_id', '=', accountId).executeTakeFirst();
      return account ? account : undefined;
    });
    expect((await client.workflow.count(`WorkflowId STARTS_WITH "deposit:${accountId}:"`)).count).toBe(1);
    expect(await db.selectFrom('ledger_entries').select('entry_id').where('account_id', '=', accountId).execute()).toHaveLength(1);
  }, 180_000);
});
