/**
 * The lane over HTTP on the real dev server, worker, mail catcher and database (SQLite and
 * PostgreSQL): bulk validation by index, duplicate keys, items run once with each status
 * readable, failures reaching the failed view and succeeding on retry, and a long backlog
 * driven through several continue-as-news. The idle check is long (1 minute), so an item that
 * completes here was claimed because its wake signal worked, not because a timer came round.
 */
import { createApiKey } from '../../db/api-keys';
import { readMailbox } from '../../platform/mail-catcher';
import { laneProgressQuery, laneWorkflowId } from '../../workflows/lane/definition';
import { json, postJson, uniqueTag, waitFor } from '../support/env';
import { databaseEnv, testDatabases } from '../support/databases';
import { startTestDeployment, type TestDeployment } from '../support/deployment';

const LANE = '/v1/lanes/notification-email';
const PARTITIONS = 2;

describe.each(testDatabases())('%s', (_name, target) => {
  let d: TestDeployment;
  beforeAll(async () => {
    d = await startTestDeployment({
      env: { ...databaseEnv(await target()), LANE_PARTITIONS: String(PARTITIONS), LANE_BATCH_SIZE: '10', LANE_BATCHES_PER_RUN: '4', LANE_RETRY_BACKOFF: '100ms' },
      worker: true,
      mail: true,
    });
    // The partition workflows outlive the deployment; end them so the shared dev server is left clean.
    d.onStop(async () => {
      for (let p = 0; p < PARTITIONS; p++) {
        await d.client.workflow.getHandle(laneWorkflowId(d.config.temporal.taskQueue, 'notification-email', p)).terminate('test over').catch(() => undefined);
      }
    });
  });
  afterAll(() => d?.stop());

  async function createUsers(tag: string, count: number): Promise<string[]> {
    const ids = Array.from({ length: count }, (_, i) => `${tag}-u${i}`);
    const now = new Date().toISOString();
    await d.db.insertInto('users').values(ids.map((id) => ({ user_id: id, email: `${id}@example.com`, name: `User ${id}`, created_at: now }))).execute();
    return ids;
  }
  const rowsFor = async (correlationId: string) => (await d.db.selectFrom('lane_items').select('item_id').where('correlation_id', '=', correlationId).execute()).length;
  const itemsOf = async (correlationId: string) => (await json(await fetch(`${d.url}${LANE}/items?correlationId=${correlationId}`))).items;
  const mailsTo = async (userIds: string[]) => {
    const to = new Set(userIds.map((id) => `${id}@example.com`));
    return (await readMailbox(d.mailboxDir)).filter((m) => m.to && to.has(m.to));
  };
  async function allSucceeded(correlationId: string, count: number) {
    return waitFor(`${count} items to succeed`, async () => {
      const items = await itemsOf(correlationId);
      return items.length === count && items.every((i: { status: string }) => i.status === 'succeeded') ? items : undefined;
    }, 60_000);
  }

  test('a bulk request with bad items is refused whole, each error named by its index; nothing is stored', async () => {
    const tag = uniqueTag('bad');
    const items = Array.from({ length: 6 }, (_, i) => ({ key: `${tag}-${i}`, input: { userId: `${tag}-u${i}` } }));
    (items[3]!.input as { userId: string }).userId = 'not a valid id!';
    delete (items[5] as { key?: string }).key;
    (items[1] as Record<string, unknown>).extra = true;
    const res = await postJson(`${d.url}${LANE}/items`, { items }, { 'X-Correlation-Id': tag });
    expect(res.status).toBe(422);
    const pointers = (await json(res)).errors.map((e: { pointer: string }) => e.pointer).sort();
    expect(pointers).toEqual(['/items/1/extra', '/items/3/input/userId', '/items/5/key']);
    expect(await rowsFor(tag)).toBe(0);

    const tooMany = await postJson(`${d.url}${LANE}/items`, { items: Array.from({ length: 1_001 }, (_, i) => ({ key: `${tag}-${i}`, input: { userId: 'u' } })) }, { 'X-Correlation-Id': tag });
    expect(tooMany.status).toBe(422);
    expect((await json(tooMany)).errors.map((e: { pointer: string }) => e.pointer)).toEqual(['/items']);
    const single = await postJson(`${d.url}${LANE}/items`, { key: `${tag}-s`, input: { userId: 'x', email: 'attacker@example.com' } }, { 'X-Correlation-Id': tag });
    expect(single.status).toBe(422);
    expect((await json(single)).errors.map((e: { pointer: string }) => e.pointer)).toEqual(['/input/email']);
    expect(await rowsFor(tag)).toBe(0);

    expect((await postJson(`${d.url}/v1/lanes/welcome-email/items`, { key: 'k', input: {} })).status).toBe(404);
    expect((await fetch(`${d.url}${LANE}/items`, { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } })).status).toBe(415);
    expect((await fetch(`${d.url}${LANE}/items/li_00000000-0000-0000-0000-000000000000`)).status).toBe(404);
    expect((await fetch(`${d.url}${LANE}/items/nope`)).status).toBe(400);
  });

  test('a duplicate key returns the existing item, within a batch, across batches and for a single enqueue', async () => {
    const tag = uniqueTag('dup');
    const [u0, u1, u2] = await createUsers(tag, 3);
    const first = await json(await postJson(`${d.url}${LANE}/items`, { items: [{ key: `${tag}-a`, input: { userId: u0 } }, { key: `${tag}-b`, input: { userId: u1 } }, { key: `${tag}-a`, input: { userId: u2 } }] }, { 'X-Correlation-Id': tag }));
    expect(first).toMatchObject({ accepted: 2, duplicates: 1 });
    expect(first.items.map((i: { duplicate: boolean }) => i.duplicate)).toEqual([false, false, true]);
    expect(first.items[2].itemId).toBe(first.items[0].itemId);

    const second = await json(await postJson(`${d.url}${LANE}/items`, { items: [{ key: `${tag}-b`, input: { userId: u1 } }, { key: `${tag}-c`, input: { userId: u2 } }] }, { 'X-Correlation-Id': tag }));
    expect(second).toMatchObject({ accepted: 1, duplicates: 1 });
    expect(second.items[0].itemId).toBe(first.items[1].itemId);

    const single = await postJson(`${d.url}${LANE}/items`, { key: `${tag}-c`, input: { userId: u2 } }, { 'X-Correlation-Id': tag });
    expect(single.status).toBe(200);
    expect(await json(single)).toMatchObject({ itemId: second.items[1].itemId, duplicate: true });
    expect(await rowsFor(tag)).toBe(3);

    await allSucceeded(tag, 3);
    expect((await mailsTo([u0!, u1!, u2!])).length).toBe(3); // u0's second item was the same item: one mail
  });

  test('items run exactly once; each is readable by its ID and by correlation ID', async () => {
    const tag = uniqueTag('once');
    const users = await createUsers(tag, 30);
    const res = await postJson(`${d.url}${LANE}/items`, { items: users.map((userId) => ({ key: `${tag}-${userId}`, input: { userId } })) }, { 'X-Correlation-Id': tag });
    expect(res.status).toBe(202);
    const accepted = await json(res);
    expect(accepted.items).toHaveLength(30);

    const items = await allSucceeded(tag, 30);
    expect(items.map((i: { itemId: string }) => i.itemId)).toEqual(accepted.items.map((i: { itemId: string }) => i.itemId)); // in enqueue order
    const one = await json(await fetch(`${d.url}${accepted.items[7].statusUrl}`));
    expect(one).toMatchObject({ itemId: accepted.items[7].itemId, status: 'succeeded', attempts: 1, correlationId: tag, result: { messageId: expect.any(String) } });

    const mails = await mailsTo(users);
    expect(mails).toHaveLength(30);
    expect(new Set(mails.map((m) => m.to)).size).toBe(30);
    expect(new Set(mails.map((m) => m.idempotencyKey))).toEqual(new Set(accepted.items.map((i: { itemId: string }) => `notification-email/${i.itemId}`)));
  });

  test('an item whose attempts run out reaches the failed view, and succeeds on retry', async () => {
    const tag = uniqueTag('fail');
    const userId = `${tag}-later`; // not a user yet: every attempt fails
    const res = await postJson(`${d.url}${LANE}/items`, { key: tag, input: { userId } }, { 'X-Correlation-Id': tag });
    expect(res.status).toBe(202);
    const { itemId, statusUrl } = await json(res);
    expect(res.headers.get('location')).toBe(statusUrl);

    const failed = await waitFor('the item to fail', async () => {
      const item = await json(await fetch(`${d.url}${statusUrl}`));
      return item.status === 'failed' ? item : undefined;
    });
    expect(failed).toMatchObject({ attempts: 5, lastError: expect.stringContaining(`no user '${userId}'`) });
    const view = await json(await fetch(`${d.url}${LANE}/failed`));
    const listed = view.items.find((i: { itemId: string }) => i.itemId === itemId);
    expect(listed).toMatchObject({ status: 'failed', retryUrl: `${statusUrl}/retry` });

    await d.db.insertInto('users').values({ user_id: userId, email: `${userId}@example.com`, name: 'Later', created_at: new Date().toISOString() }).execute();
    expect((await postJson(`${d.url}${listed.retryUrl}`, '')).status).toBe(202);
    await waitFor('the retried item to succeed', async () => ((await json(await fetch(`${d.url}${statusUrl}`))).status === 'succeeded' ? true : undefined));
    expect(await mailsTo([userId])).toHaveLength(1);
    expect((await json(await fetch(`${d.url}${LANE}/failed`))).items.some((i: { itemId: string }) => i.itemId === itemId)).toBe(false);

    const again = await postJson(`${d.url}${listed.retryUrl}`, '');
    expect(again.status).toBe(409);
    expect(await json(again)).toMatchObject({ type: 'urn:conveyor:problem:item-not-failed' });
  });

  test("another tenant sees none of the items, and its item cannot mail this tenant's user", async () => {
    const tag = uniqueTag('tenant');
    const [user] = await createUsers(tag, 1);
    const { key } = await createApiKey(d.db, { tenantId: uniqueTag('other'), scopes: ['jobs:submit', 'jobs:read', 'operate'], name: 'other' });
    const other = { Authorization: `Bearer ${key}`, 'X-Correlation-Id': tag };
    const mine = await json(await postJson(`${d.url}${LANE}/items`, { key: `${tag}-k`, input: { userId: user } }, { 'X-Correlation-Id': tag }));
    expect((await fetch(`${d.url}${mine.statusUrl}`, { headers: other })).status).toBe(404);
    expect((await postJson(`${d.url}${mine.statusUrl}/retry`, '', other)).status).toBe(404);

    // The same key is another item in the other tenant; it names this tenant's user, who is not its own.
    const theirs = await json(await postJson(`${d.url}${LANE}/items`, { key: `${tag}-k`, input: { userId: user } }, other));
    expect(theirs.itemId).not.toBe(mine.itemId);
    const failed = await waitFor('their item to fail', async () => {
      const item = await json(await fetch(`${d.url}${theirs.statusUrl}`, { headers: other }));
      return item.status === 'failed' ? item : undefined;
    });
    expect(failed.lastError).toContain(`no user '${user}'`);
    expect((await json(await fetch(`${d.url}${LANE}/items?correlationId=${tag}`, { headers: other }))).items.map((i: { itemId: string }) => i.itemId)).toEqual([theirs.itemId]);
    await allSucceeded(tag, 1);
    expect(await mailsTo([user!])).toHaveLength(1); // this tenant's own item only
  });

  test('a long backlog drains through several continue-as-news, every item once', async () => {
    const tag = uniqueTag('backlog');
    const users = await createUsers(tag, 240);
    for (let i = 0; i < users.length; i += 80) {
      const res = await postJson(`${d.url}${LANE}/items`, { items: users.slice(i, i + 80).map((userId) => ({ key: `${tag}-${userId}`, input: { userId } })) }, { 'X-Correlation-Id': tag });
      expect(res.status).toBe(202);
    }
    await allSucceeded(tag, 240);
    expect(await mailsTo(users)).toHaveLength(240);
    // 4 batches per run, 10 items per batch, ~120 items per partition: each partition ran several runs.
    for (let p = 0; p < PARTITIONS; p++) {
      const progress = await d.client.workflow.getHandle(laneWorkflowId(d.config.temporal.taskQueue, 'notification-email', p)).query(laneProgressQuery);
      expect(progress.generation).toBeGreaterThanOrEqual(2);
    }
  });
});
