/**
 * Crashes at the outbox's two dangerous moments, with real processes and SIGKILL:
 * the API dies right after its commit, and the relay dies between starting the workflow and
 * marking the row. Either way the welcome email goes out exactly once.
 */
import { readMailbox } from '../../platform/mail-catcher';
import { freePort } from '../../platform/ports';
import { postJson, startTestApi, uniqueTag, waitFor } from '../support/env';
import { databaseEnv, testDatabases } from '../support/databases';
import { startTestDeployment, type TestDeployment } from '../support/deployment';

describe.each(testDatabases())('%s', (_name, target) => {
  let d: TestDeployment;

  beforeAll(async () => {
    // No API or relay of its own: each test runs the role it crashes as a child process.
    d = await startTestDeployment({
      env: { ...databaseEnv(await target()), WELCOME_FOLLOW_UP_DELAY: '1 hour', OUTBOX_POLL_INTERVAL: '100ms', OUTBOX_CLAIM_TTL: '2s' },
      mail: true,
      api: false,
      worker: true,
    });
  });

  afterAll(() => d?.stop());

  const welcomeMails = async (userId: string) => (await readMailbox(d.mailboxDir)).filter((m) => m.idempotencyKey === `welcome-email:${userId}/welcome`);
  const workflowsFor = async (userId: string) => (await d.client.workflow.count(`WorkflowId = "welcome-email:${userId}"`)).count;
  const outboxRow = (userId: string) => d.db.selectFrom('outbox').selectAll().where('aggregate_id', '=', userId).executeTakeFirstOrThrow();

  test('the API is SIGKILLed right after the commit: the relay still publishes; one email', async () => {
    const port = await freePort();
    const api = await d.spawn('api', { PORT: String(port), CONVEYOR_TEST_FAILPOINT: 'user-after-commit' });
    const relay = d.startRelay();
    try {
      const userId = uniqueTag('u');
      // The client never gets an answer: the process died after committing, before responding.
      await expect(postJson(`http://127.0.0.1:${port}/v1/users`, { userId, email: `${userId}@example.com`, name: 'Ada' })).rejects.toThrow();
      expect(await api.exited).toEqual({ code: null, signal: 'SIGKILL' });

      expect(await d.db.selectFrom('users').select('user_id').where('user_id', '=', userId).execute()).toHaveLength(1);
      await waitFor('the welcome email', async () => ((await welcomeMails(userId)).length === 1 ? true : undefined));
      expect((await outboxRow(userId)).published_at).not.toBeNull();
      expect(await workflowsFor(userId)).toBe(1);
    } finally {
      await relay.stop();
    }
  });

  test('the relay is SIGKILLed between starting the workflow and marking the row: no second workflow, one email', async () => {
    const crashing = await d.spawn('relay', { CONVEYOR_TEST_FAILPOINT: 'relay-after-publish:UserSignedUp' });
    const api = await startTestApi({ config: d.config, client: d.client, db: d.db });
    try {
      const userId = uniqueTag('u');
      expect((await postJson(`${api.url}/v1/users`, { userId, email: `${userId}@example.com`, name: 'Ada' })).status).toBe(201);

      // The fault really fired: the relay died after the start, before the mark.
      expect(await crashing.exited).toEqual({ code: null, signal: 'SIGKILL' });
      // Visibility is eventually consistent: wait for the started workflow to be listed.
      expect(await waitFor('the started workflow to be listed', async () => ((await workflowsFor(userId)) > 0 ? workflowsFor(userId) : undefined))).toBe(1);
      const orphan = await outboxRow(userId);
      expect(orphan).toMatchObject({ published_at: null, attempts: 0 });
      expect(orphan.claimed_by).toMatch(/^relay-/);

      // A new relay takes the row once the dead relay's claim (OUTBOX_CLAIM_TTL, 2 s) has lapsed,
      // publishes it again (harmless: same workflow ID) and marks it.
      const relay = d.startRelay({ identity: 'relay-after-crash' });
      try {
        const row = await waitFor('the row to be republished and marked', async () => {
          const r = await outboxRow(userId);
          return r.published_at ? r : undefined;
        });
        expect(row).toMatchObject({ published_by: 'relay-after-crash', attempts: 1 });
      } finally {
        await relay.stop();
      }
      await waitFor('the welcome email', async () => ((await welcomeMails(userId)).length === 1 ? true : undefined));
      expect(await workflowsFor(userId)).toBe(1);
      expect(await welcomeMails(userId)).toHaveLength(1);
    } finally {
      await api.close();
    }
  });
});
