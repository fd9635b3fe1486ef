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
import type { Activities } from '../../activities';
import {
  consumerProgressQuery,
  deliverSignal,
  reactionStart,
  seekSignal,
  wakeSignal,
  type ConsumerGroupInstance,
  type StreamEvent,
  type SubscriberInput,
} from './definition';

const { processConsumerBatch } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '10 seconds',
});
const { applyDeposit, orderContact, sendEmail } = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds' });

const BATCH_SIZE = 100;
/** Bounded history: a consumer continues as new after this many batches, a subscriber after this many events. */
const BATCHES_PER_RUN = 200;
const EVENTS_PER_RUN = 200;
/** With no wake signal, look at the log this often anyway (a lost signal only delays). */
const IDLE_CHECK = '1 minute';
const RECENT_IDS_KEPT = 1_000;

/**
 * A consumer group (Kafka-style), one instance per tenant: reads its tenant's events of its stream
 * after its committed offset in batches, handles each event once, commits the offset. New events
 * wake it by signal; a seek moves it.
 */
export async function streamConsumer(input: Pick<ConsumerGroupInstance, 'tenantId' | 'stream' | 'group'>): Promise<never> {
  let woken = false;
  let seekTo: number | undefined;
  const progress = { applied: 0, duplicatesSkipped: 0, committedOffset: 0 };
  setHandler(wakeSignal, () => void (woken = true));
  setHandler(seekSignal, (offset) => {
    seekTo = offset;
    woken = true;
  });
  setHandler(consumerProgressQuery, () => progress);

  for (let batches = 0; batches < BATCHES_PER_RUN && !workflowInfo().continueAsNewSuggested; batches++) {
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

  /** React once per event: the child's ID is derived from the event, so a second start is refused. */
  async function react(event: StreamEvent): Promise<void> {
    const child = reactionStart(input.subscriber, event);
    try {
      await executeChild(reaction, { workflowId: child.workflowId, args: [{ subscriber: input.subscriber, event }], typedSearchAttributes: child.searchAttributes, staticSummary: child.summary });
    } catch (err) {
      // Reacted before (e.g. before a continue-as-new forgot the ID): the child ID makes it once.
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }

  for (let handled = 0; handled < EVENTS_PER_RUN && !workflowInfo().continueAsNewSuggested; ) {
    await condition(() => queue.length > 0, IDLE_CHECK, { summary: 'Wait for events' });
    for (; queue.length > 0; handled++) await react(queue.shift()!);
  }
  // The queue is empty here and nothing was awaited since, so no delivered event is left behind
  // (a queued one is already in `seen`: the next run would drop it as a redelivery).
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
