/**
 * The task-queue pattern end to end inside one process: the real API, the real dev server,
 * real workers and a real SMTP server on loopback.
 */
import nodemailer from 'nodemailer';
import { createActivities, type Activities } from '../../activities';
import { readMailbox } from '../../platform/mail-catcher';
import { json, postJson, quietPeriod, uniqueTag, waitFor } from '../support/env';
import { startTestDeployment, type TestDeployment } from '../support/deployment';

const deployments: TestDeployment[] = [];

afterAll(async () => {
  for (const d of deployments.reverse()) await d.stop();
});

/** One Conveyor deployment per test (its own task queue, database, API, mail catcher); workers started by the test. */
async function deployment(env: Record<string, string> = {}) {
  const d = await startTestDeployment({ env: { WELCOME_FOLLOW_UP_DELAY: '1s', TEMPORAL_UI_URL: 'http://127.0.0.1:8233', ...env }, mail: true });
  deployments.push(d);
  const mailFor = async (userId: string) =>
    (await readMailbox(d.mailboxDir)).filter((m) => m.idempotencyKey?.startsWith(`welcome-email:${userId}/`));
  return { ...d, mailFor };
}

const welcomeBody = (userId: string) => ({ userId, email: `${userId}@example.com`, name: 'Ada' });

async function getJob(apiUrl: string, statusUrl: string) {
  const res = await fetch(`${apiUrl}${statusUrl}`);
  expect(res.status).toBe(200);
  return json(res);
}

async function waitForStatus(apiUrl: string, statusUrl: string, status: string, timeoutMs = 30_000) {
  return waitFor(`job ${statusUrl} to be ${status}`, async () => {
    const job = await getJob(apiUrl, statusUrl);
    return job.status === status ? job : undefined;
  }, timeoutMs);
}

test('202 + Location, then the status moves from RUNNING to COMPLETED with both emails sent', async () => {
  const { url, startWorker, mailFor } = await deployment();
  await startWorker();
  const userId = uniqueTag('u');

  const res = await postJson(`${url}/v1/welcome-emails`, welcomeBody(userId), { 'X-Correlation-Id': 'corr-lifecycle' });
  expect(res.status).toBe(202);
  const body = await json(res);
  expect(res.headers.get('location')).toBe(body.statusUrl);
  expect(res.headers.get('x-correlation-id')).toBe('corr-lifecycle');
  expect(body).toMatchObject({
    jobId: `welcome-email:${userId}`,
    status: 'RUNNING',
    statusUrl: `/v1/jobs/welcome-email%3A${userId}`,
    correlationId: 'corr-lifecycle',
  });
  expect(body.webUiUrl).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:8233/namespaces/default/workflows/welcome-email%3A${userId}/[0-9a-f-]{36}/history$`));

  const running = await waitFor('the step to show the follow-up wait', async () => {
    const job = await getJob(url, body.statusUrl);
    return job.status === 'COMPLETED' || job.step?.startsWith('waiting') ? job : undefined;
  });
  expect(running).toMatchObject({ type: 'welcomeEmail', correlationId: 'corr-lifecycle' });

  const done = await waitForStatus(url, body.statusUrl, 'COMPLETED');
  expect(done).toMatchObject({ step: null, failure: null, result: { followUp: { sent: true } } });
  expect(Date.parse(done.closedAt)).toBeGreaterThanOrEqual(Date.parse(done.startedAt));
  const mails = await mailFor(userId);
  expect(mails.map((m) => m.subject)).toEqual(['Welcome to Conveyor, Ada!', 'Getting started with Conveyor']);
  expect(mails.map((m) => m.messageId)).toEqual([done.result.welcomeMessageId, done.result.followUp.messageId]);
});

test('a repeated POST joins the running job, and after it closed gets the finished job: never a second email', async () => {
  const { url, client, startWorker, mailFor } = await deployment();
  await startWorker();
  const userId = uniqueTag('u');

  const first = await json(await postJson(`${url}/v1/welcome-emails`, welcomeBody(userId)));
  const again = await postJson(`${url}/v1/welcome-emails`, welcomeBody(userId));
  expect(again.status).toBe(202);
  const againBody = await json(again);
  expect(againBody.jobId).toBe(first.jobId);
  expect(againBody.webUiUrl).toBe(first.webUiUrl); // same run ID: the same workflow execution

  await waitForStatus(url, first.statusUrl, 'COMPLETED');
  const afterClose = await postJson(`${url}/v1/welcome-emails`, welcomeBody(userId));
  expect(afterClose.status).toBe(200);
  expect(afterClose.headers.get('location')).toBe(first.statusUrl);
  expect(await json(afterClose)).toMatchObject({ jobId: first.jobId, status: 'COMPLETED' });

  expect((await mailFor(userId)).map((m) => m.idempotencyKey)).toEqual([
    `welcome-email:${userId}/welcome`,
    `welcome-email:${userId}/follow-up`,
  ]);
  expect((await client.workflow.count(`WorkflowId = "welcome-email:${userId}"`)).count).toBe(1);
});

test('unsubscribe during the wait stops the follow-up; a second unsubscribe after the end is 409', async () => {
  const { url, startWorker, mailFor } = await deployment({ WELCOME_FOLLOW_UP_DELAY: '1 hour' });
  await startWorker();
  const userId = uniqueTag('u');

  const { statusUrl } = await json(await postJson(`${url}/v1/welcome-emails`, welcomeBody(userId)));
  await waitFor('the welcome email', async () => ((await mailFor(userId)).length === 1 ? true : undefined));

  const unsubscribe = await fetch(`${url}/v1/welcome-emails/${userId}/unsubscribe`, { method: 'POST' });
  expect(unsubscribe.status).toBe(202);
  const done = await waitForStatus(url, statusUrl, 'COMPLETED');
  expect(done.result.followUp).toEqual({ sent: false, reason: 'unsubscribed' });
  expect((await mailFor(userId)).map((m) => m.subject)).toEqual(['Welcome to Conveyor, Ada!']);

  const late = await fetch(`${url}/v1/welcome-emails/${userId}/unsubscribe`, { method: 'POST' });
  expect(late.status).toBe(409);
  expect(await json(late)).toMatchObject({ type: 'urn:conveyor:problem:job-closed', statusUrl });
});

test('decoupled: with no worker running the API still answers 202; a worker started later completes the job', async () => {
  const { url, startWorker, mailFor } = await deployment();
  const userId = uniqueTag('u');

  const res = await postJson(`${url}/v1/welcome-emails`, welcomeBody(userId));
  expect(res.status).toBe(202);
  const { statusUrl } = await json(res);
  // Proves something does NOT happen, so it needs time in which it could: with no worker the job
  // must stay queued. Bounded and short; the worker started below then has to finish it.
  await quietPeriod(1_500);
  const waiting = await getJob(url, statusUrl);
  expect(waiting).toMatchObject({ status: 'RUNNING', step: null }); // queued: no worker to answer
  expect(await mailFor(userId)).toHaveLength(0);

  await startWorker();
  await waitForStatus(url, statusUrl, 'COMPLETED');
  expect(await mailFor(userId)).toHaveLength(2);
});

test('competing consumers: two workers share 50 jobs; every email goes out exactly once and both did work', async () => {
  const { url, config, db, mailboxDir, onStop, startWorker } = await deployment();
  const sentBy: Record<string, string[]> = { 'worker-a': [], 'worker-b': [] };
  const mailer = nodemailer.createTransport(config.mail.smtpUrl);
  onStop(() => mailer.close());
  const countingActivities = (identity: string): Activities => {
    const real = createActivities({ db, mailer, from: config.mail.from });
    return {
      ...real,
      async sendEmail(input) {
        const result = await real.sendEmail(input);
        sentBy[identity]!.push(input.idempotencyKey);
        return result;
      },
    };
  };
  await startWorker({ activities: countingActivities('worker-a'), identity: 'worker-a' });
  await startWorker({ activities: countingActivities('worker-b'), identity: 'worker-b' });

  const batch = uniqueTag('batch');
  const userIds = Array.from({ length: 50 }, (_, i) => `${batch}-${i}`);
  const accepted = await Promise.all(userIds.map((id) => postJson(`${url}/v1/welcome-emails`, welcomeBody(id))));
  expect(accepted.map((r) => r.status)).toEqual(userIds.map(() => 202));
  for (const id of userIds) await waitForStatus(url, `/v1/jobs/welcome-email%3A${id}`, 'COMPLETED', 60_000);

  const keys = (await readMailbox(mailboxDir)).map((m) => m.idempotencyKey).filter((k) => k?.startsWith(`welcome-email:${batch}-`));
  const expected = userIds.flatMap((id) => [`welcome-email:${id}/welcome`, `welcome-email:${id}/follow-up`]);
  expect([...keys].sort()).toEqual([...expected].sort()); // each exactly once: none lost, none doubled
  expect(sentBy['worker-a']!.length).toBeGreaterThan(0);
  expect(sentBy['worker-b']!.length).toBeGreaterThan(0);
  expect(sentBy['worker-a']!.length + sentBy['worker-b']!.length).toBe(100);
}, 120_000);
