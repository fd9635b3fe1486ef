import { WorkflowNotFoundError } from '@temporalio/client';
import type { Database } from '../db/database';
import { tenantsWithEvents } from '../db/events';
import type { Config } from '../platform/config';
import type { TemporalGateway } from '../platform/temporal';
import { webhookDeliveryJob, webhookDeliveriesFor } from '../workflows/webhook-delivery/job';
import {
  CONSUMER_GROUPS,
  deliverSignal,
  retiredConsumerWorkflowId,
  streamConsumerStart,
  SUBSCRIPTIONS,
  topicSubscriberStart,
  wakeSignal,
  type StreamEvent,
} from '../workflows/streams/definition';

/**
 * How an appended event reaches its readers, by signal-with-start: the signal reaches the
 * long-running workflow, starting it first if it is not running (a new consumer group or
 * subscriber comes to life on its first event).
 */

/** Wake a tenant's consumer groups of a stream (all its groups when no stream is given); the first event of a tenant starts them. */
export async function wakeConsumerGroups(gateway: TemporalGateway, tenantId: string, stream?: string): Promise<void> {
  for (const consumerGroup of CONSUMER_GROUPS.filter((g) => !stream || g.stream === stream)) {
    await gateway.signalWithStart(streamConsumerStart({ ...consumerGroup, tenantId }), wakeSignal, []);
  }
}

/**
 * At a relay's start: every tenant's groups run (a group added to CONSUMER_GROUPS starts at offset
 * 0 and catches up), and the platform-wide groups of before (every tenant's events in one group)
 * are terminated if they still run: their successors are the per-tenant instances.
 */
export async function startConsumerGroups(gateway: TemporalGateway, db: Database): Promise<void> {
  for (const { stream, group } of CONSUMER_GROUPS) {
    await gateway
      .withinRpcTimeout(() => gateway.client.workflow.getHandle(retiredConsumerWorkflowId(stream, group)).terminate('consumer groups run per tenant now'))
      .catch((err: unknown) => {
        if (!(err instanceof WorkflowNotFoundError)) throw err; // never existed, or already closed
      });
  }
  for (const tenantId of await tenantsWithEvents(db)) await wakeConsumerGroups(gateway, tenantId);
}

/** Deliver an event to each durable subscriber of its topic; a subscriber dedupes redeliveries by event ID. */
export async function deliverToSubscribers(gateway: TemporalGateway, event: StreamEvent): Promise<void> {
  for (const subscription of SUBSCRIPTIONS.filter((s) => s.topic === event.stream && s.eventTypes.includes(event.type))) {
    await gateway.signalWithStart(topicSubscriberStart(subscription), deliverSignal, [event]);
  }
}

/**
 * Start a webhook delivery per endpoint of the event's tenant subscribed to its type. Each is a job
 * keyed by (endpoint, event), so the relay republishing a row starts nothing twice; the job runs
 * with the event's correlation ID, as the event's tenant's job (the relay publishes as that tenant).
 */
export async function deliverToWebhooks(gateway: TemporalGateway, db: Database, config: Config, event: StreamEvent & { tenantId: string }): Promise<void> {
  for (const input of await webhookDeliveriesFor(db, event, config)) {
    await gateway.startOnce(webhookDeliveryJob.start(input), event.correlationId);
  }
}
