import { condition, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { trackSteps } from '../steps';
import { unsubscribeSignal, type WelcomeEmailInput, type WelcomeEmailResult } from './definition';

// Sending mail is idempotent (keyed by workflow ID and step), so retries are safe: at-least-once.
const { sendEmail } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

/**
 * Welcome a new user: a welcome email now, a "getting started" follow-up later,
 * unless they unsubscribe first.
 */
export async function welcomeEmail(input: WelcomeEmailInput): Promise<WelcomeEmailResult> {
  const { workflowId } = workflowInfo();
  const enterStep = trackSteps('sending welcome email');
  let unsubscribed = false;
  setHandler(unsubscribeSignal, () => void (unsubscribed = true), {
    description: 'Stop the follow-up email; the welcome email is not affected.',
  });

  const welcome = await sendEmail.executeWithOptions(
    { summary: 'Send welcome email' },
    [{ idempotencyKey: `${workflowId}/welcome`, to: input.email, template: 'welcome', name: input.name }],
  );

  enterStep('waiting to send the getting-started follow-up');
  await condition(() => unsubscribed, input.followUpDelayMs, { summary: 'Wait for follow-up time or unsubscribe' });
  if (unsubscribed) {
    enterStep('done: unsubscribed, no follow-up');
    return { welcomeMessageId: welcome.messageId, followUp: { sent: false, reason: 'unsubscribed' } };
  }

  enterStep('sending getting-started follow-up');
  const followUp = await sendEmail.executeWithOptions(
    { summary: 'Send getting-started follow-up' },
    [{ idempotencyKey: `${workflowId}/follow-up`, to: input.email, template: 'getting-started', name: input.name }],
  );
  enterStep('done');
  return { welcomeMessageId: welcome.messageId, followUp: { sent: true, messageId: followUp.messageId } };
}
