/**
 * Deposits over HTTP with Idempotency-Key, on the real dev server with a real worker, against
 * SQLite and PostgreSQL: replays, conflicts, concurrency and bad input never double or apply money.
 */
import { createApiKey } from '../../db/api-keys';
import { DEFAULT_TENANT, SCOPES } from '../../platform/tenancy';
import { json, postJson, uniqueTag, waitFor } from '../support/env';
import { databaseEnv, testDatabases } from '../support/databases';
import { startTestDeployment, type TestDeployment } from '../support/deployment';
import { untilKeyExpired } from '../support/idempotency';

describe.each(testDatabases())('%s', (_name, target) => {
  let d: TestDeployment;

  beforeAll(async () => {
    d = await startTestDeployment({ env: { ...databaseEnv(await target()), IDEMPOTENCY_KEY_RETENTION: '3s' }, worker: true });
  });

  afterAll(() => d?.stop());

  const depositUrl = (accountId: string) => `${d.url}/v1/accounts/${accountId}/deposits`;
  const account = async (accountId: string) => fetch(`${d.url}/v1/accounts/${accountId}`);
  const completed = (statusUrl: string) =>
    waitFor(`${statusUrl} to complete`, async () => {
      const job = await json(await fetch(`${d.url}${statusUrl}`));
      return job.status === 'COMPLETED' ? job : undefined;
    });
  const jobsOf = async (accountId: string) => (await d.client.workflow.count(`WorkflowId STARTS_WITH "deposit:${accountId}:"`)).count;

  test('a deposit is accepted (202), applied by the worker and visible on the account', async () => {
    const accountId = uniqueTag('acct');
    const res = await postJson(depositUrl(accountId), { amount: 5_000, currency: 'USD' });
    expect(res.status).toBe(202);
    const { jobId, statusUrl } = await json(res);
    expect(jobId).toMatch(new RegExp(`^deposit:${accountId}:[0-9a-f-]{36}$`));
    const job = await completed(statusUrl);
    expect(job.result).toMatchObject({ balance: 5_000, appliedNow: true, attempts: 1, telemetry: 'recorded' });
    expect(await json(await account(accountId))).toMatchObject({
      accountId,
      currency: 'USD',
      balance: 5_000,
      entries: [{ entryId: `${jobId}/apply`, amount: 5_000, currency: 'USD', balanceAfter: 5_000 }],
    });
  });

  test('same Idempotency-Key, same request: the original response is replayed, one job, one entry', async () => {
    const accountId = uniqueTag('acct');
    const key = uniqueTag('key');
    const first = await postJson(depositUrl(accountId), { amount: 250, currency: 'EUR' }, { 'Idempotency-Key': key });
    const firstBody = await first.text();
    expect(first.status).toBe(202);
    // Same fields in another order are the same request.
    const replay = await postJson(depositUrl(accountId), '{"currency":"EUR","amount":250}', { 'Idempotency-Key': key });
    expect(replay.status).toBe(202);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.headers.get('location')).toBe(first.headers.get('location'));
    expect(await replay.text()).toBe(firstBody);

    await completed(JSON.parse(firstBody).statusUrl);
    expect(await jobsOf(accountId)).toBe(1);
    expect((await json(await account(accountId))).entries).toHaveLength(1);
  });

  test('20 concurrent requests with one key: one job, one entry, every answer identical or 409', async () => {
    const accountId = uniqueTag('acct');
    const key = uniqueTag('key');
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => postJson(depositUrl(accountId), { amount: 1_000, currency: 'EUR' }, { 'Idempotency-Key': key })),
    );
    const accepted = await Promise.all(answers.filter((a) => a.status === 202).map((a) => a.text()));
    const conflicts = answers.filter((a) => a.status === 409);
    expect(accepted.length + conflicts.length).toBe(20);
    expect(accepted.length).toBeGreaterThanOrEqual(1);
    expect(new Set(accepted).size).toBe(1);
    for (const c of conflicts) expect(c.headers.get('content-type')).toMatch(/^application\/problem\+json/);

    await completed(JSON.parse(accepted[0]!).statusUrl);
    expect(await jobsOf(accountId)).toBe(1);
    expect(await json(await account(accountId))).toMatchObject({ balance: 1_000, entries: [expect.anything()] });
  });

  test('same key with a different body is 422 and applies nothing new', async () => {
    const accountId = uniqueTag('acct');
    const key = uniqueTag('key');
    const first = await postJson(depositUrl(accountId), { amount: 300, currency: 'EUR' }, { 'Idempotency-Key': key });
    await completed((await json(first)).statusUrl);
    const changed = await postJson(depositUrl(accountId), { amount: 999_999, currency: 'EUR' }, { 'Idempotency-Key': key });
    expect(changed.status).toBe(422);
    expect(await json(changed)).toMatchObject({ type: 'urn:conveyor:problem:idempotency-key-reused' });
    expect(await json(await account(accountId))).toMatchObject({ balance: 300 });
    expect(await jobsOf(accountId)).toBe(1);
  });

  test('keys are scoped per API key: two API keys with the same Idempotency-Key make two deposits', async () => {
    const accountId = uniqueTag('acct');
    const key = uniqueTag('key');
    const other = (await createApiKey(d.db, { tenantId: DEFAULT_TENANT, scopes: [...SCOPES], name: 'second client' })).key;
    const a = await postJson(depositUrl(accountId), { amount: 10, currency: 'EUR' }, { 'Idempotency-Key': key });
    const b = await postJson(depositUrl(accountId), { amount: 10, currency: 'EUR' }, { 'Idempotency-Key': key, Authorization: `Bearer ${other}` });
    const [jobA, jobB] = [await json(a), await json(b)];
    expect(jobA.jobId).not.toBe(jobB.jobId);
    await completed(jobA.statusUrl);
    await completed(jobB.statusUrl);
    expect(await json(await account(accountId))).toMatchObject({ balance: 20 });
  });

  test('a rejected request releases its key, so the corrected retry can use it', async () => {
    const accountId = uniqueTag('acct');
    const key = uniqueTag('key');
    const bad = await postJson(depositUrl(accountId), { amount: -5, currency: 'EUR' }, { 'Idempotency-Key': key });
    expect(bad.status).toBe(422);
    const good = await postJson(depositUrl(accountId), { amount: 5, currency: 'EUR' }, { 'Idempotency-Key': key });
    expect(good.status).toBe(202);
    await completed((await json(good)).statusUrl);
  });

  test('after the key expired, a retry still cannot deposit twice: the job ID derives from the key', async () => {
    const accountId = uniqueTag('acct');
    const key = uniqueTag('key');
    const first = await postJson(depositUrl(accountId), { amount: 40, currency: 'EUR' }, { 'Idempotency-Key': key });
    const { jobId, statusUrl } = await json(first);
    await completed(statusUrl);
    await untilKeyExpired(d.db, key); // IDEMPOTENCY_KEY_RETENTION is 3s here
    const late = await postJson(depositUrl(accountId), { amount: 40, currency: 'EUR' }, { 'Idempotency-Key': key });
    expect(late.status).toBe(200);
    expect(late.headers.get('idempotent-replayed')).toBeNull(); // not a replay: the server refused a second run
    expect(await json(late)).toMatchObject({ jobId, status: 'COMPLETED' });
    expect(await json(await account(accountId))).toMatchObject({ balance: 40 });
  });

  test.each([
    ['a malformed key', 'has spaces'],
    ['an over-long key', 'k'.repeat(256)],
  ])('%s is 400 and nothing is enqueued', async (_what, key) => {
    const accountId = uniqueTag('acct');
    const res = await postJson(depositUrl(accountId), { amount: 1, currency: 'EUR' }, { 'Idempotency-Key': key });
    expect(res.status).toBe(400);
    expect(await json(res)).toMatchObject({ type: 'urn:conveyor:problem:invalid-idempotency-key' });
    expect(await jobsOf(accountId)).toBe(0);
  });

  test.each([
    ['negative', '{"amount":-100,"currency":"EUR"}', 422, '/amount'],
    ['zero', '{"amount":0,"currency":"EUR"}', 422, '/amount'],
    ['a float', '{"amount":10.5,"currency":"EUR"}', 422, '/amount'],
    ['a string', '{"amount":"100","currency":"EUR"}', 422, '/amount'],
    ['above 2^53', '{"amount":9007199254740993,"currency":"EUR"}', 422, '/amount'],
    ['1e400 (not a finite number)', '{"amount":1e400,"currency":"EUR"}', 422, '/amount'],
    ['a bad currency', '{"amount":100,"currency":"euro"}', 422, '/currency'],
    ['a huge body', JSON.stringify({ amount: 1, currency: 'EUR', memo: 'x'.repeat(100_000) }), 413, undefined],
  ])('amount %s → %s, nothing applied', async (_what, body, status, pointer) => {
    const accountId = uniqueTag('acct');
    const res = await postJson(depositUrl(accountId), body, { 'Idempotency-Key': uniqueTag('key') });
    expect(res.status).toBe(status);
    const problem = await json(res);
    if (pointer) expect(problem.errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
    expect((await account(accountId)).status).toBe(404);
    expect(await jobsOf(accountId)).toBe(0);
  });

  test('setting the email is naturally idempotent: twice is the same as once', async () => {
    const accountId = uniqueTag('acct');
    const put = () =>
      fetch(`${d.url}/v1/accounts/${accountId}/email`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'ada@example.com' }),
      });
    const once = await json(await put());
    const twice = await json(await put());
    expect(once).toEqual({ accountId, email: 'ada@example.com', currency: null, balance: 0, entries: [] });
    expect(twice).toEqual(once);
  });
});
