import type { Client } from '@temporalio/client';
import type { Config } from '../platform/config';
import {
  CONSUMER_GROUPS,
  deliverSignal,
  streamConsumerWorkflowId,
  SUBSCRIPTIONS,
  subscriberWorkflowId,
  wakeSignal,
  type StreamEvent,
} from '../workflows/definitions';

/**
 * Signal-with-start: the signal reaches the long-running workflow, starting it first if it is not
 * running (a new consumer group or subscriber comes to life on its first event).
 */

/** Wake the consumer groups of a stream (all groups when no stream is given, e.g. at start-up). */
export async function wakeConsumerGroups(client: Client, temporal: Config['temporal'], stream?: string): Promise<void> {
  for (const { stream: s, group, description } of CONSUMER_GROUPS.filter((g) => !stream || g.stream === stream)) {
    await client.withDeadline(Date.now() + temporal.rpcTimeoutMs, () =>
      client.workflow.signalWithStart('streamConsumer', {
        taskQueue: temporal.taskQueue,
        workflowId: streamConsumerWorkflowId(s, group),
        args: [{ stream: s, group }],
        signal: wakeSignal,
        signalArgs: [],
        staticSummary: `Consumer group ${group} on stream ${s}: ${description}`,
      }),
    );
  }
}

/** Deliver an event to each durable subscriber of its topic; a subscriber dedupes redeliveries by event ID. */
export async function deliverToSubscribers(client: Client, temporal: Config['temporal'], event: StreamEvent): Promise<void> {
  for (const { topic, subscriber, description } of SUBSCRIPTIONS.filter((s) => s.topic === event.stream && s.eventTypes.includes(event.type))) {
    await client.withDeadline(Date.now() + temporal.rpcTimeoutMs, () =>
      client.workflow.signalWithStart('topicSubscriber', {
        taskQueue: temporal.taskQueue,
        workflowId: subscriberWorkflowId(topic, subscriber),
        args: [{ topic, subscriber }],
        signal: deliverSignal,
        signalArgs: [event],
        staticSummary: `Subscriber ${subscriber} on topic ${topic}: ${description}`,
      }),
    );
  }
}
