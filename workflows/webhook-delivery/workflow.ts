import { ActivityFailure, ApplicationFailure, proxyActivities, sleep } from '@temporalio/workflow';
import { trackSteps } from '../steps';
import type { WebhookActivities } from './activities';
import type { WebhookDeliveryInput, WebhookDeliveryResult } from './definition';

/**
 * Deliver one event to one endpoint: POST it, and on failure wait (a durable workflow timer: no
 * worker holds anything while it waits, and a restart loses nothing) and try again, up to
 * 1 + backoffMs.length attempts over hours. After the last one the job fails, so it shows in the
 * failed-job view, where POST /v1/jobs/<id>/retry runs the whole schedule again, same webhook-id.
 */
export async function webhookDelivery(input: WebhookDeliveryInput): Promise<WebhookDeliveryResult> {
  // One HTTP attempt per activity run: the waits between attempts are this workflow's timers.
  const { deliverWebhook } = proxyActivities<WebhookActivities>({
    startToCloseTimeout: input.timeoutMs + 5_000,
    retry: { maximumAttempts: 1 },
  });
  const enterStep = trackSteps('delivering');
  const attempts = input.backoffMs.length + 1;
  let lastError = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    enterStep(`attempt ${attempt} of ${attempts}`);
    try {
      const outcome = await deliverWebhook.executeWithOptions({ summary: `Deliver, attempt ${attempt}` }, [input, attempt]);
      if (outcome.skipped !== undefined) return { delivered: false, attempts: attempt, reason: outcome.skipped };
      return { delivered: true, attempts: attempt, status: outcome.status };
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      // A refusal no retry can fix (the URL is not allowed) fails at once.
      if (err.cause instanceof ApplicationFailure && err.cause.nonRetryable) throw err.cause;
      lastError = err.cause?.message ?? err.message;
    }
    const wait = input.backoffMs[attempt - 1];
    if (wait !== undefined) {
      enterStep(`waiting ${Math.round(wait / 1000)}s before attempt ${attempt + 1} (last: ${lastError})`);
      await sleep(wait);
    }
  }
  throw ApplicationFailure.nonRetryable(`gave up after ${attempts} attempts; last: ${lastError}`, 'WebhookDeliveryFailed');
}
