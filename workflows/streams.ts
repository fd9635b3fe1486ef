import {
  condition,
  continueAsNew,
  executeChild,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Activities } from '../activities';
import {
  consumerProgressQuery,
  CorrelationIdKey,
  deliverSignal,
  EventTypeKey,
  reactionWorkflowId,
  seekSignal,
  wakeSignal,
  type StreamConsumerInput,
  type StreamEvent,
  type SubscriberInput,
} from './definitions';

const { processConsumerBatch } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '10 seconds',
});
const { applyDeposit, orderContact, sendEmail } = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds' });

const BATCH_SIZE = 100;
/** Bounded history: after this many loop turns the workflow continues as new. */
const TURNS_PER_RUN = 200;
/** With no wake signal, look at the log this often anyway (a lost signal only delays). */
const IDLE_CHECK = '1 minute';
const RECENT_IDS_KEPT = 1_000;

/**
 * A consumer group (Kafka-style): reads its stream after its committed offset in batches,
 * handles each event once, commits the offset. New events wake it by signal; a seek moves it.
 */
export async function streamConsumer(input: StreamConsumerInput): Promise<never> {
  let woken = false;
  let seekTo: number | undefined;
  const progress = { applied: 0, duplicatesSkipped: 0, committedOffset: 0 };
  setHandler(wakeSignal, () => void (woken = true));
  setHandler(seekSignal, (offset) => {
    seekTo = offset;
    woken = true;
  });
  setHandler(consumerProgressQuery, () => progress);

  for (let turn = 0; turn < TURNS_PER_RUN && !workflowInfo().continueAsNewSuggested; turn++) {
    const seeking = seekTo;
    seekTo = undefined;
    const batch = await processConsumerBatch.executeWithOptions({ summary: `Read ${input.stream} for ${input.group}` }, [
      { ...input, limit: BATCH_SIZE, seekTo: seeking },
    ]);
    progress.applied += batch.applied;
    progress.duplicatesSkipped += batch.duplicatesSkipped;
    progress.committedOffset = batch.committedOffset;
    setCurrentDetails(`**${input.group}** on \`${input.stream}\`: committed offset ${batch.committedOffset}`);
    if (batch.read < BATCH_SIZE && seekTo === undefined) {
      woken = false;
      await condition(() => woken, IDLE_CHECK, { summary: 'Wait for new events' });
    }
  }
  // The offset lives in the database, so the new run starts exactly where this one stopped.
  return continueAsNew<typeof streamConsumer>(input);
}

/**
 * A durable subscriber: receives events of its topic by signal, at least once (a publisher may
 * retry), and reacts once per event ID by starting a child workflow whose ID is derived from it.
 */
export async function topicSubscriber(input: SubscriberInput): Promise<never> {
  const seen = new Set(input.recentlySeen ?? []);
  const queue: StreamEvent[] = [];
  setHandler(deliverSignal, (event) => {
    if (seen.has(event.eventId)) return; // a redelivery: already queued or handled
    seen.add(event.eventId);
    queue.push(event);
  });

  for (let handled = 0; handled < TURNS_PER_RUN && !workflowInfo().continueAsNewSuggested; ) {
    await condition(() => queue.length > 0, IDLE_CHECK, { summary: 'Wait for events' });
    while (queue.length > 0) {
      const event = queue.shift()!;
      try {
        await executeChild(reaction, {
          workflowId: reactionWorkflowId(input.subscriber, event.eventId),
          args: [{ subscriber: input.subscriber, event }],
          typedSearchAttributes: [
            { key: CorrelationIdKey, value: event.correlationId },
            { key: EventTypeKey, value: event.type },
          ],
          staticSummary: `${input.subscriber} reacts to ${event.type} ${event.eventId}`,
        });
      } catch (err) {
        // Reacted before (e.g. before a continue-as-new forgot the ID): the child ID makes it once.
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
      handled++;
    }
  }
  // Drain whatever arrived meanwhile before handing over; carry recent IDs so redeliveries stay cheap.
  return continueAsNew<typeof topicSubscriber>({ ...input, recentlySeen: [...seen].slice(-RECENT_IDS_KEPT) });
}

/** One subscriber's reaction to one event: a one-off job, exactly once in effect. */
export async function reaction({ subscriber, event }: { subscriber: string; event: StreamEvent }): Promise<string> {
  const { workflowId } = workflowInfo();
  switch (subscriber) {
    case 'loyalty': {
      const { accountId, amount } = event.payload as { accountId: string; amount: number };
      const points = Math.floor(amount / 100);
      if (points === 0) return 'no points for this payment';
      const credit = await applyDeposit.executeWithOptions({ summary: `Credit ${points} loyalty points` }, [
        { operationKey: `${workflowId}/credit`, accountId: `${accountId}.points`, amount: points, currency: 'PTS' },
      ]);
      return `credited ${points} points (balance ${credit.balance})`;
    }
    case 'shipping-notice': {
      const { orderId } = event.payload as { orderId: string };
      const { email, name } = await orderContact.executeWithOptions({ summary: 'Look up where to send the notice' }, [{ orderId }]);
      if (!email) return `no email on file for order ${orderId}`;
      await sendEmail.executeWithOptions({ summary: 'Send shipping notice' }, [
        { idempotencyKey: `${workflowId}/email`, to: email, template: 'shipping-notice', name, orderId },
      ]);
      return `shipping notice sent for ${orderId}`;
    }
    default:
      throw new Error(`no reaction for subscriber ${subscriber}`);
  }
}
