/**
 * Managing jobs over HTTP on the real dev server, worker, SMTP catcher and database: the list
 * (filters, pages, the failed-job view with reasons and attempts), retry (one email for a job that
 * failed after sending one), cancel (the order saga compensates), bulk retry, delayed starts.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import nodemailer from 'nodemailer';
import { readMailbox } from '../../platform/mail-catcher';
import { createAllActivities } from '../../workflows/registry';
import { json, postJson, uniqueTag, waitFor } from '../support/env';
import { startTestDeployment, type TestDeployment } from '../support/deployment';
import { balanceOf, openAccount, stockOf, stockSku, untilBooked } from '../support/shop';

let d: TestDeployment;
beforeAll(async () => {
  d = await startTestDeployment({ mail: true, env: { WELCOME_FOLLOW_UP_DELAY: '1s' } });
});
afterAll(() => d?.stop());

// Each test runs its own workers on the deployment's task queue, stopped when it ends.
const workers: Array<{ stop(): Promise<void> }> = [];
const startWorker = async (overrides?: Parameters<TestDeployment['startWorker']>[0]) => {
  const worker = await d.startWorker(overrides);
  workers.push(worker);
  return worker;
};
afterEach(async () => {
  for (const worker of workers.splice(0)) await worker.stop();
});

const get = async (path: string) => {
  const res = await fetch(`${d.url}${path}`);
  return { status: res.status, body: await json(res) };
};
const post = async (path: string, body?: unknown, headers: Record<string, string> = {}) => {
  const res = body === undefined ? await fetch(`${d.url}${path}`, { method: 'POST', headers }) : await postJson(`${d.url}${path}`, body, headers);
  return { status: res.status, headers: res.headers, body: await json(res) };
};
const waitForStatus = (jobId: string, status: string) =>
  waitFor(`${jobId} to be ${status}`, async () => {
    const { body } = await get(`/v1/jobs/${encodeURIComponent(jobId)}`);
    return body.status === status ? body : undefined;
  });
/** Visibility is eventually consistent: wait until the listing shows what the test expects. */
const listUntil = (query: string, done: (jobs: Array<Record<string, any>>) => boolean) =>
  waitFor(`GET /v1/jobs?${query}`, async () => {
    const { status, body } = await get(`/v1/jobs?${query}`);
    expect(status).toBe(200);
    return done(body.jobs) ? body : undefined;
  });

/** Production's activities, talking to this deployment's database and mail catcher. */
const realActivities = () => createAllActivities({ db: d.db, mailer: nodemailer.createTransport(d.env.SMTP_URL), from: 'Conveyor <hello@conveyor.localhost>' });

test('a job that failed after sending its email shows why in the failed view; retried, it completes and the email went out once', async () => {
  const real = realActivities();
  // The follow-up's SMTP send fails twice, then is refused for good: the job fails after the welcome email went out.
  const failing = await startWorker({
    activities: {
      ...real,
      async sendEmail(request: Parameters<typeof real.sendEmail>[0]) {
        if (request.template !== 'getting-started') return real.sendEmail(request);
        if (Context.current().info.attempt < 3) throw new Error('SMTP relay unavailable');
        throw ApplicationFailure.nonRetryable('SMTP relay refused the recipient', 'SmtpRefused');
      },
    },
  });
  const tag = uniqueTag('retry');
  const userId = uniqueTag('u');
  const accepted = await post('/v1/welcome-emails', { userId, email: `${userId}@example.com`, name: 'Ada' }, { 'X-Correlation-Id': tag });
  expect(accepted.status).toBe(202);
  const jobId = accepted.body.jobId;
  await waitForStatus(jobId, 'FAILED');

  const failedView = await listUntil(`status=FAILED&correlationId=${tag}`, (jobs) => jobs.length === 1);
  expect(failedView.jobs[0]).toMatchObject({
    jobId,
    type: 'welcome-email',
    status: 'FAILED',
    correlationId: tag,
    statusUrl: `/v1/jobs/${encodeURIComponent(jobId)}`,
    failure: { activity: 'sendEmail', attempts: 3, type: 'SmtpRefused', retryState: 'NON_RETRYABLE_FAILURE' },
  });
  expect(failedView.jobs[0].failure.message).toContain('SMTP relay refused the recipient');
  await failing.stop();

  const mailOf = async () => (await readMailbox(d.mailboxDir)).filter((m) => m.idempotencyKey?.startsWith(`${jobId}/`)).map((m) => m.idempotencyKey).sort();
  expect(await mailOf()).toEqual([`${jobId}/welcome`]);

  await startWorker();
  const retried = await post(`/v1/jobs/${encodeURIComponent(jobId)}/retry`);
  expect(retried.status).toBe(202);
  expect(retried.headers.get('location')).toBe(`/v1/jobs/${encodeURIComponent(jobId)}`);
  expect(retried.body).toMatchObject({ jobId, status: 'RUNNING', retryOf: failedView.jobs[0].runId });
  // A retry while the new run is open (or once it completed) is refused.
  const done = await waitForStatus(jobId, 'COMPLETED');
  expect(done.correlationId).toBe(tag); // the retry keeps the job's identity: same ID, same correlation
  const again = await post(`/v1/jobs/${encodeURIComponent(jobId)}/retry`);
  expect(again.status).toBe(409);
  expect(again.body).toMatchObject({ type: 'urn:conveyor:problem:job-not-retryable', jobStatus: 'COMPLETED' });

  // The welcome email was not sent again: its key was already recorded. The follow-up went out once.
  expect(await mailOf()).toEqual([`${jobId}/follow-up`, `${jobId}/welcome`]);
});

test('list: filters by type and correlation ID, newest first, in bounded pages with an opaque cursor; bad filters are 400 naming the field', async () => {
  await startWorker();
  const tag = uniqueTag('list');
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const userId = uniqueTag('u');
    ids.push((await post('/v1/welcome-emails', { userId, email: `${userId}@example.com`, name: 'Lin' }, { 'X-Correlation-Id': tag })).body.jobId);
  }
  const all = await listUntil(`correlationId=${tag}&type=welcome-email`, (jobs) => jobs.length === 3);
  expect(all.jobs.map((j: { jobId: string }) => j.jobId).sort()).toEqual([...ids].sort());
  const starts = all.jobs.map((j: { startedAt: string }) => j.startedAt);
  expect([...starts].sort().reverse()).toEqual(starts);
  expect(all.next).toBeNull();

  const first = await get(`/v1/jobs?correlationId=${tag}&pageSize=2`);
  expect(first.body.jobs).toHaveLength(2);
  expect(first.body.next).toEqual(expect.any(String));
  const second = await get(`/v1/jobs?correlationId=${tag}&pageSize=2&next=${first.body.next}`);
  expect(second.body.jobs).toHaveLength(1);
  expect([...first.body.jobs, ...second.body.jobs].map((j: { jobId: string }) => j.jobId).sort()).toEqual([...ids].sort());

  expect((await get(`/v1/jobs?correlationId=${tag}&type=order`)).body.jobs).toEqual([]);
  expect((await get(`/v1/jobs?correlationId=${tag}&startedAfter=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).body.jobs).toEqual([]);

  for (const [query, pointer] of [
    ['pageSize=101', 'pageSize'],
    ['pageSize=0', 'pageSize'],
    ['status=BOGUS', 'status'],
    ['type=stream-poller', 'type'],
    ['startedAfter=yesterday', 'startedAfter'],
    ['color=red', 'color'],
    [`next=${first.body.next}`, 'next'], // a cursor of another filter
    ['next=AAAAAAAAAAAAAAAAAAAA', 'next'],
  ]) {
    const res = await get(`/v1/jobs?${query}`);
    expect([query, res.status]).toEqual([query, 400]);
    expect(res.body.errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
  }
});

test('cancel: 202, the order saga compensates (stock and money back); 409 once closed; 404 for no job', async () => {
  await startWorker();
  const sku = await stockSku(d.db, { stock: 5, price: 1_000 });
  const account = await openAccount(d.db, { balance: 10_000 });
  const placed = await post('/v1/orders', { customerId: 'c-1', items: [{ sku, quantity: 2 }], paymentAccountId: account });
  expect(placed.status).toBe(202);
  const orderId = placed.body.orderId ?? placed.body.jobId.slice('order:'.length);
  await untilBooked(d.db, orderId);
  expect(await stockOf(d.db, sku)).toBe(3);
  expect(await balanceOf(d.db, account)).toBe(8_000);

  const jobId = `order:${orderId}`;
  const canceled = await post(`/v1/jobs/${encodeURIComponent(jobId)}/cancel`);
  expect(canceled.status).toBe(202);
  expect(canceled.body).toMatchObject({ jobId, cancel: 'requested' });

  const order = await waitFor('the order to end', async () => {
    const { body } = await get(`/v1/orders/${orderId}`);
    return body.workflowStatus !== 'RUNNING' ? body : undefined;
  });
  expect(order).toMatchObject({ status: 'CANCELED', reason: 'canceled through the jobs API' });
  expect(order.compensations.map((c: { name: string; outcome: string }) => `${c.name}: ${c.outcome}`)).toEqual([
    'cancel shipment: undone',
    'refund payment: undone',
    'release inventory: undone',
  ]);
  expect(await stockOf(d.db, sku)).toBe(5);
  expect(await balanceOf(d.db, account)).toBe(10_000);

  const late = await post(`/v1/jobs/${encodeURIComponent(jobId)}/cancel`);
  expect(late.status).toBe(409);
  expect(late.body.type).toBe('urn:conveyor:problem:job-closed');
  expect((await post(`/v1/jobs/${uniqueTag('nope')}/cancel`)).status).toBe(404);
  expect((await post(`/v1/jobs/${uniqueTag('nope')}/retry`)).status).toBe(404);
});

test('bulk retry: one bounded page of the failed jobs matching a filter; repeated, it retries nothing twice', async () => {
  const real = realActivities();
  const failing = await startWorker({
    activities: { ...real, sendEmail: async () => Promise.reject(ApplicationFailure.nonRetryable('mail server gone', 'SmtpRefused')) },
  });
  const tag = uniqueTag('bulk');
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const userId = uniqueTag('u');
    ids.push((await post('/v1/welcome-emails', { userId, email: `${userId}@example.com`, name: 'Bo' }, { 'X-Correlation-Id': tag })).body.jobId);
  }
  await listUntil(`status=FAILED&correlationId=${tag}`, (jobs) => jobs.length === 3);
  await failing.stop();

  const bad = await post('/v1/jobs/retries', { status: 'RUNNING', limit: 1000 });
  expect(bad.status).toBe(422);
  expect(bad.body.errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual(['/limit', '/status']);

  const first = await post('/v1/jobs/retries', { correlationId: tag, limit: 2 });
  expect(first.status).toBe(200);
  expect(first.body).toMatchObject({ retried: 2, skipped: 0, next: expect.any(String) });
  const rest = await post('/v1/jobs/retries', { correlationId: tag, limit: 2, next: first.body.next });
  expect(rest.body).toMatchObject({ retried: 1, skipped: 0, next: null });
  // The failed runs are still in visibility (each row is a run), but each has a newer run now: nothing is retried twice.
  const repeat = await post('/v1/jobs/retries', { correlationId: tag, limit: 10 });
  expect(repeat.body).toMatchObject({ retried: 0, skipped: 3 });

  await startWorker();
  for (const id of ids) await waitForStatus(id, 'COMPLETED');
});

test('a delayed job says when it will start, then runs; a bad delay, runAt or priority is 422 naming it and starts nothing', async () => {
  await startWorker();
  const userId = uniqueTag('u');
  const accepted = await post('/v1/welcome-emails?delay=3s&priority=1', { userId, email: `${userId}@example.com`, name: 'Di' });
  expect(accepted.status).toBe(202);
  const startsAt = Date.parse(accepted.body.startsAt);
  expect(startsAt).toBeGreaterThan(Date.now() + 1_000);
  const waiting = await get(accepted.body.statusUrl);
  expect(waiting.body).toMatchObject({ status: 'RUNNING', step: null });
  expect(Math.abs(Date.parse(waiting.body.startsAt) - startsAt)).toBeLessThan(1_000);
  const done = await waitForStatus(accepted.body.jobId, 'COMPLETED');
  expect(done.startsAt).toBeNull();
  expect((await readMailbox(d.mailboxDir)).find((m) => m.idempotencyKey === `${accepted.body.jobId}/welcome`)?.date).toBeDefined();
  const sent = (await readMailbox(d.mailboxDir)).filter((m) => m.idempotencyKey === `${accepted.body.jobId}/welcome`);
  expect(sent).toHaveLength(1);

  for (const [query, pointer] of [
    ['delay=soon', 'delay'],
    ['delay=400d', 'delay'],
    [`runAt=${encodeURIComponent(new Date(Date.now() - 60_000).toISOString())}`, 'runAt'],
    ['runAt=tomorrow', 'runAt'],
    [`delay=1m&runAt=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`, 'runAt'],
    ['priority=9', 'priority'],
  ]) {
    const user = uniqueTag('u');
    const res = await post(`/v1/welcome-emails?${query}`, { userId: user, email: `${user}@example.com`, name: 'Ed' });
    expect([query, res.status]).toEqual([query, 422]);
    expect(res.body.errors.map((e: { pointer: string }) => e.pointer)).toEqual([pointer]);
    expect((await get(`/v1/jobs/welcome-email%3A${user}`)).status).toBe(404);
  }
});
