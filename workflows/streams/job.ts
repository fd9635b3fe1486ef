/**
 * The event-stream workflows as job types: long-lived consumer groups and durable subscribers,
 * started by the outbox relay's signal-with-start on the first event, and the one-off reactions
 * they start. None is submitted over HTTP; their declarations give them their IDs, Web UI text
 * and a place in the docs.
 */
import { declareJob } from '../declaration';
import { reactionStart, streamConsumerStart, topicSubscriberStart, type ConsumerGroupInstance, type StreamEvent, type Subscription } from './definition';

export const streamConsumerJob = declareJob<ConsumerGroupInstance>({
  name: 'stream-consumer',
  description: "A consumer group: reads its tenant's events of its stream after its committed offset in batches and applies each event exactly once. One per (tenant, stream, group), long-lived.",
  workflowType: 'streamConsumer',
  start: streamConsumerStart,
  startedBy: 'the outbox relay (signal-with-start `wake`), and POST /v1/streams/<stream>/consumers/<group>/seek',
});

export const topicSubscriberJob = declareJob<Subscription>({
  name: 'topic-subscriber',
  description: 'A durable subscriber: receives the events of its topic by signal and reacts once per event ID. One per (topic, subscriber), long-lived.',
  workflowType: 'topicSubscriber',
  start: topicSubscriberStart,
  startedBy: 'the outbox relay (signal-with-start `deliver`)',
});

export const reactionJob = declareJob<{ subscriber: string; event: StreamEvent }>({
  name: 'reaction',
  description: "One subscriber's reaction to one event (a loyalty credit, a shipping notice), exactly once in effect.",
  workflowType: 'reaction',
  start: ({ subscriber, event }) => reactionStart(subscriber, event),
  startedBy: 'its subscriber, as a child workflow',
});
