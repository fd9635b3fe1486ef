/**
 * Test speed: the welcome workflow with a 30-day follow-up on the time-skipping test server, the
 * way test/workflows/welcome-email.test.ts runs its 3-day case (mocked activity, real bundle).
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { SendEmailInput, SendEmailResult } from '../activities/email';
import { sdkExecutable, TEMPORAL_TEST_SERVER } from '../platform/temporal-binaries';
import { welcomeEmailWorkflowId, type WelcomeEmailInput } from '../workflows/welcome-email/definition';
import type { welcomeEmail } from '../workflows/welcome-email/workflow';
import { round } from './lib/procs';

const THIRTY_DAYS_MS = 30 * 24 * 3_600_000;

export async function timeSkippingThirtyDays(bundlePath: string) {
  const t0 = performance.now();
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: sdkExecutable(TEMPORAL_TEST_SERVER) } });
  const serverStartSeconds = (performance.now() - t0) / 1000;
  try {
    const sent: string[] = [];
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'bench-time-skipping',
      workflowBundle: { codePath: bundlePath },
      activities: {
        async sendEmail(input: SendEmailInput): Promise<SendEmailResult> {
          sent.push(input.template);
          return { messageId: `<${input.idempotencyKey}@bench>`, sentNow: true };
        },
      },
    });
    const input: WelcomeEmailInput = { userId: 'u-30d', email: 'u-30d@bench.example', name: 'Bench', followUpDelayMs: THIRTY_DAYS_MS };
    const t1 = performance.now();
    const result = await worker.runUntil(
      env.client.workflow.execute<typeof welcomeEmail>('welcomeEmail', { taskQueue: 'bench-time-skipping', workflowId: welcomeEmailWorkflowId('u-30d'), args: [input] }),
    );
    const workflowSeconds = (performance.now() - t1) / 1000;
    if (!result.followUp.sent || sent.length !== 2) throw new Error(`30-day workflow did not send both emails: ${JSON.stringify(sent)}`);
    return { serverStartSeconds: round(serverStartSeconds, 2), workflowSeconds: round(workflowSeconds, 2), followUpDays: 30 };
  } finally {
    await env.teardown();
  }
}
