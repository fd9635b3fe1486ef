/**
 * The welcome-email workflow on the real time-skipping test server, with its activity mocked:
 * these tests are about the workflow's logic and timing, not SMTP.
 */
import { Context } from '@temporalio/activity';
import type { SendEmailInput, SendEmailResult } from '../../activities/email';
import { workflowTestKit, type WorkflowTestKit } from '../../worker/testing';
import { unsubscribeSignal, welcomeEmailWorkflowId, type WelcomeEmailInput } from '../../workflows/welcome-email/definition';
import { welcomeEmailJob } from '../../workflows/welcome-email/job';
import type { welcomeEmail } from '../../workflows/welcome-email/workflow';
import { uniqueTag, waitFor } from '../support/env';

const THREE_DAYS_MS = 3 * 24 * 60 * 60 * 1000;

let sent: Array<SendEmailInput & { attempt: number }>;
let failFirstAttempts: number;

async function sendEmail(input: SendEmailInput): Promise<SendEmailResult> {
  const { attempt } = Context.current().info;
  if (attempt <= failFirstAttempts) throw new Error(`SMTP refused (attempt ${attempt})`);
  sent.push({ ...input, attempt });
  return { messageId: `<${input.idempotencyKey}@test>`, sentNow: true };
}

let kit: WorkflowTestKit;
beforeAll(async () => (kit = await workflowTestKit({ activities: { sendEmail } })));
afterAll(() => kit?.teardown());
beforeEach(() => {
  sent = [];
  failFirstAttempts = 0;
});

function input(userId: string): WelcomeEmailInput {
  return { userId, email: `${userId}@example.com`, name: 'Ada', followUpDelayMs: THREE_DAYS_MS };
}

test('sends the welcome email, then the follow-up three (skipped) days later', async () => {
  const userId = uniqueTag('u');
  const before = await kit.now();
  const result = await kit.execute(welcomeEmailJob, input(userId));
  const elapsed = (await kit.now()) - before;

  expect(sent.map((m) => m.template)).toEqual(['welcome', 'getting-started']);
  expect(sent.map((m) => m.idempotencyKey)).toEqual([`welcome-email:${userId}/welcome`, `welcome-email:${userId}/follow-up`]);
  expect(sent.every((m) => m.to === `${userId}@example.com`)).toBe(true);
  expect(result).toEqual({
    welcomeMessageId: `<welcome-email:${userId}/welcome@test>`,
    followUp: { sent: true, messageId: `<welcome-email:${userId}/follow-up@test>` },
  });
  // The workflow really waited three days of workflow time (the test server skipped them).
  expect(elapsed).toBeGreaterThanOrEqual(THREE_DAYS_MS);
});

test('an unsubscribe during the wait cancels the follow-up', async () => {
  const userId = uniqueTag('u');
  const result = await kit.withWorker(async () => {
    const handle = await kit.start(welcomeEmailJob, input(userId));
    // Time only skips while the test awaits a result, so the three days have not passed yet.
    await waitFor('the welcome email', async () => (sent.length > 0 ? true : undefined));
    await handle.signal(unsubscribeSignal);
    return handle.result();
  });

  expect(sent.map((m) => m.template)).toEqual(['welcome']);
  expect(result.followUp).toEqual({ sent: false, reason: 'unsubscribed' });
});

test('an unsubscribe that arrives before the first email still gets the welcome, not the follow-up', async () => {
  const userId = uniqueTag('u');
  const result = await kit.withWorker(async () => {
    const handle = await kit.client.workflow.signalWithStart<typeof welcomeEmail, []>('welcomeEmail', {
      taskQueue: kit.taskQueue,
      workflowId: welcomeEmailWorkflowId(userId),
      args: [input(userId)],
      signal: unsubscribeSignal,
      signalArgs: [],
    });
    return handle.result();
  });

  expect(sent.map((m) => m.template)).toEqual(['welcome']);
  expect(result.followUp).toEqual({ sent: false, reason: 'unsubscribed' });
});

test('a failing send is retried and the job still completes once', async () => {
  failFirstAttempts = 2;
  const userId = uniqueTag('u');
  const result = await kit.execute(welcomeEmailJob, input(userId));

  // The fault really fired: each email went out on its third attempt, and only then.
  expect(sent.map((m) => [m.template, m.attempt])).toEqual([
    ['welcome', 3],
    ['getting-started', 3],
  ]);
  expect(result.followUp.sent).toBe(true);
});
