/**
 * A lane worker is SIGKILLed in the middle of a batch (SQLite and PostgreSQL). After another
 * worker takes over, the batch is retried with its own claimed items first: every item
 * completes, none is lost, and no effect recorded before the crash is applied again.
 */
import { readMailbox } from '../../platform/mail-catcher';
import { laneWorkflowId } from '../../workflows/lane/definition';
import { json, postJson, uniqueTag, waitFor } from '../support/env';
import { databaseEnv, testDatabases } from '../support/databases';
import { startTestDeployment, type TestDeployment } from '../support/deployment';

const ITEMS = 60;

describe.each(testDatabases())('%s', (_name, target) => {
  let d: TestDeployment;
  beforeAll(async () => {
    // One partition, batches of 20: the first batch is the one the worker dies in.
    d = await startTestDeployment({ env: { ...databaseEnv(await target()), LANE_PARTITIONS: '1', LANE_BATCH_SIZE: '20' }, mail: true });
    d.onStop(() => d.client.workflow.getHandle(laneWorkflowId(d.config.temporal.taskQueue, 'notification-email', 0)).terminate('test over').catch(() => undefined));
  });
  afterAll(() => d?.stop());

  async function createUsers(tag: string): Promise<string[]> {
    const users = Array.from({ length: ITEMS }, (_, i) => `${tag}-u${i}`);
    const now = new Date().toISOString();
    await d.db.insertInto('users').values(users.map((id) => ({ user_id: id, email: `${id}@example.com`, name: id, created_at: now }))).execute();
    return users;
  }
  const mailsOf = async (tag: string) => (await readMailbox(d.mailboxDir)).filter((m) => m.to?.startsWith(`${tag}-`));
  const settledOf = async (tag: string) =>
    (await d.db.selectFrom('lane_items').select('item_id').where('correlation_id', '=', tag).where('status', 'in', ['succeeded', 'failed']).execute()).length;

  /** Enqueue one item per user while a worker armed with `failpoint` runs; it must die by it. */
  async function crashDuring(failpoint: string, tag: string, users: string[]) {
    const crashing = await d.spawn('worker', { CONVEYOR_TEST_FAILPOINT: failpoint });
    const res = await postJson(`${d.url}/v1/lanes/notification-email/items`, { items: users.map((userId) => ({ key: userId, input: { userId } })) }, { 'X-Correlation-Id': tag });
    expect(res.status).toBe(202);
    expect(await crashing.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await settledOf(tag)).toBe(0); // no outcome of the batch was recorded
  }

  async function recover(tag: string) {
    const worker = await d.startWorker();
    await waitFor('every item to succeed', async () => {
      const { items } = await json(await fetch(`${d.url}/v1/lanes/notification-email/items?correlationId=${tag}`));
      return items.length === ITEMS && items.every((i: { status: string }) => i.status === 'succeeded') ? true : undefined;
    }, 90_000);
    await worker.stop();
  }

  test('SIGKILL after a batch sent its mails, before it recorded its outcomes: each user gets exactly one email', async () => {
    const tag = uniqueTag('settle');
    const users = await createUsers(tag);
    await crashDuring('lane-before-settle', tag, users);
    expect((await mailsOf(tag)).length).toBe(20); // the whole first batch went out

    await recover(tag);
    const sent = await mailsOf(tag);
    expect(sent).toHaveLength(ITEMS); // the retried batch re-ran 20 items and sent none of them again
    expect(new Set(sent.map((m) => m.to)).size).toBe(ITEMS);
    expect(await d.db.selectFrom('sent_emails').select('idempotency_key').where('recipient', 'like', `${tag}-%`).execute()).toHaveLength(ITEMS);
  }, 120_000);

  test('SIGKILL mid-batch with sends in flight: nothing lost; a repeat can only be a re-send of the same message', async () => {
    const tag = uniqueTag('mid');
    const users = await createUsers(tag);
    await crashDuring('lane-mid-batch', tag, users);
    const before = (await mailsOf(tag)).length;
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(20);

    await recover(tag);
    const sent = await mailsOf(tag);
    // Every user has mail, and all of a user's copies are one message (one Message-ID): the
    // only repeat possible is sendEmail's documented window (SMTP accepted, the sent_emails row
    // not yet written when the process died), at most one per send in flight (concurrency 8).
    const byUser = new Map<string, Set<string | undefined>>();
    for (const m of sent) byUser.set(m.to!, (byUser.get(m.to!) ?? new Set()).add(m.messageId));
    expect(byUser.size).toBe(ITEMS);
    expect([...byUser.values()].every((ids) => ids.size === 1)).toBe(true);
    expect(sent.length - ITEMS).toBeLessThan(8);
    expect(await d.db.selectFrom('sent_emails').select('idempotency_key').where('recipient', 'like', `${tag}-%`).execute()).toHaveLength(ITEMS);
  }, 120_000);
});
