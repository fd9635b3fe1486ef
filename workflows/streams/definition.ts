/**
 * Event streams, consumer groups and durable subscriptions (bundle-safe): the long-lived workflows
 * that read the event log, and the one-off reactions they start.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import { CorrelationIdKey, EventTypeKey, TenantIdKey } from '../../platform/temporal-keys';

/** An event as stored in the log and delivered to consumers and subscribers. */
export interface StreamEvent {
  stream: string;
  offset: number;
  eventId: string;
  type: string;
  payload: Record<string, unknown>;
  correlationId: string;
  causationId: string;
  createdAt: string;
  /** The tenant whose event it is (set by the relay on delivery): its reactions are that tenant's jobs. */
  tenantId?: string;
}

/** One stream per aggregate kind. */
export const STREAMS = ['users', 'orders', 'payments', 'shipments'] as const;

/**
 * Consumer groups, defined in code. Each reads its stream at its own committed offset. Adding a
 * group here is all it takes: it starts at offset 0 and catches up; no producer changes.
 */
export const CONSUMER_GROUPS: ConsumerGroup[] = [
  { stream: 'users', group: 'signup-stats', description: 'counts sign-ups' },
  { stream: 'payments', group: 'revenue-stats', description: 'counts payments and sums them per currency' },
  { stream: 'orders', group: 'order-stats', description: 'counts order events by type' },
];

export interface ConsumerGroup {
  stream: string;
  group: string;
  description: string;
}

/**
 * A consumer group runs once per tenant: each tenant's instance reads only that tenant's events,
 * at its own offset, into its own statistics.
 */
export interface ConsumerGroupInstance extends ConsumerGroup {
  tenantId: string;
}

export const streamConsumerWorkflowId = (tenantId: string, stream: string, group: string) => `stream-consumer:${tenantId}:${stream}:${group}`;
/** The ID the platform-wide groups had before they ran per tenant: the relay retires them at start-up. */
export const retiredConsumerWorkflowId = (stream: string, group: string) => `stream-consumer:${stream}:${group}`;

export interface ConsumerProgress {
  /** Events whose effect this run applied. */
  applied: number;
  /** Events read again (after a seek or a retried batch) whose effect was already there. */
  duplicatesSkipped: number;
  committedOffset: number;
}

/** New events are in the log: read them now rather than at the next idle check. */
export const wakeSignal = defineSignal('wake');
/** Move the group's offset (back to replay, forward to skip), applied between batches. */
export const seekSignal = defineSignal<[offset: number]>('seek');
export const consumerProgressQuery = defineQuery<ConsumerProgress>('consumerProgress');

export function streamConsumerStart({ tenantId, stream, group, description }: ConsumerGroupInstance) {
  return {
    workflowType: 'streamConsumer',
    workflowId: streamConsumerWorkflowId(tenantId, stream, group),
    args: [{ tenantId, stream, group }],
    summary: `Consumer group ${group} of tenant ${tenantId} on stream ${stream}: ${description}`,
    details: 'Reads the stream after its committed offset in batches, applies each event once, commits the offset; woken by signal `wake`, moved by signal `seek`.',
  };
}

/**
 * Durable subscriptions: a topic (a stream's name) maps to subscriber workflows; each event of the
 * listed types is delivered by signal to each subscriber, which reacts once per event ID with a
 * one-off child workflow.
 */
export const SUBSCRIPTIONS: Subscription[] = [
  { topic: 'payments', subscriber: 'loyalty', eventTypes: ['PaymentProcessed'], description: 'credits 1 loyalty point per 100 minor units paid' },
  { topic: 'shipments', subscriber: 'shipping-notice', eventTypes: ['OrderShipped'], description: 'emails the customer that the order is on its way' },
];

export interface Subscription {
  topic: string;
  subscriber: string;
  eventTypes: string[];
  description: string;
}

export const subscriberWorkflowId = (topic: string, subscriber: string) => `subscriber:${topic}:${subscriber}`;
export const reactionWorkflowId = (subscriber: string, eventId: string) => `reaction:${subscriber}:${eventId}`;

export interface SubscriberInput {
  topic: string;
  subscriber: string;
  /** Event IDs already handled, carried across continue-as-new (the child ID still dedupes beyond it). */
  recentlySeen?: string[];
}

export const deliverSignal = defineSignal<[event: StreamEvent]>('deliver');

export function topicSubscriberStart({ topic, subscriber, description }: Subscription) {
  return {
    workflowType: 'topicSubscriber',
    workflowId: subscriberWorkflowId(topic, subscriber),
    args: [{ topic, subscriber }],
    summary: `Subscriber ${subscriber} on topic ${topic}: ${description}`,
    details: 'Receives events by signal `deliver`, drops redeliveries by event ID, and reacts once per event with a child workflow `reaction:<subscriber>:<eventId>`.',
  };
}

/**
 * One subscriber's reaction to one event, started by its subscriber as a child. It carries the
 * event's correlation ID and tenant (not those of whatever request first started the subscriber),
 * so the event's correlation view shows the reaction.
 */
export function reactionStart(subscriber: string, event: StreamEvent) {
  return {
    workflowType: 'reaction',
    workflowId: reactionWorkflowId(subscriber, event.eventId),
    args: [{ subscriber, event }],
    summary: `${subscriber} reacts to ${event.type} ${event.eventId}`,
    searchAttributes: [
      { key: CorrelationIdKey, value: event.correlationId },
      { key: EventTypeKey, value: event.type },
      // The event's tenant owns the reaction: it shows in the tenant's correlation view, and its
      // activities (a loyalty credit, a notice) act on that tenant's data.
      ...(event.tenantId ? [{ key: TenantIdKey, value: event.tenantId }] : []),
    ],
  };
}
