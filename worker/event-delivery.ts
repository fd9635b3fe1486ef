import type { Client } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/workflow';
import type { Config } from '../platform/config';
import { withinRpcTimeout } from '../platform/temporal';
import type { streamConsumer } from '../workflows/streams';
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

/** Signal one consumer group, starting its workflow if it is not running. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the SDK types signal arguments as any[]
export async function signalConsumerGroup<Args extends any[]>(
  client: Client,
  temporal: Config['temporal'],
  { stream, group, description }: (typeof CONSUMER_GROUPS)[number],
  signal: SignalDefinition<Args>,
  signalArgs: Args,
): Promise<void> {
  await withinRpcTimeout(client, temporal, () =>
    client.workflow.signalWithStart<typeof streamConsumer, unknown[]>('streamConsumer', {
      taskQueue: temporal.taskQueue,
      workflowId: streamConsumerWorkflowId(stream, group),
      args: [{ stream, group }],
      // By name: the caller's definition already checked the arguments' types.
      signal: signal.name,
      signalArgs,
      staticSummary: `Consumer group ${group} on stream ${stream}: ${description}`,
    }),
  );
}

/** Wake the consumer groups of a stream (all groups when no stream is given, e.g. at start-up). */
export async function wakeConsumerGroups(client: Client, temporal: Config['temporal'], stream?: string): Promise<void> {
  for (const consumerGroup of CONSUMER_GROUPS.filter((g) => !stream || g.stream === stream)) {
    await signalConsumerGroup(client, temporal, consumerGroup, wakeSignal, []);
  }
}

/** Deliver an event to each durable subscriber of its topic; a subscriber dedupes redeliveries by event ID. */
export async function deliverToSubscribers(client: Client, temporal: Config['temporal'], event: StreamEvent): Promise<void> {
  for (const { topic, subscriber, description } of SUBSCRIPTIONS.filter((s) => s.topic === event.stream && s.eventTypes.includes(event.type))) {
    await withinRpcTimeout(client, temporal, () =>
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
