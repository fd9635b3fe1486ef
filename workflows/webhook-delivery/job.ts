/** The webhook-delivery job type: each domain event, signed, to each endpoint subscribed to its type. */
import { createHash } from 'node:crypto';
import type { Database } from '../../db/database';
import type { Config } from '../../platform/config';
import { declareJob } from '../declaration';
import type { StreamEvent } from '../streams/definition';
import { createWebhookActivities, webhookEndpoints } from './activities';
import { webhookDeliveryStart, type WebhookDeliveryInput } from './definition';

export const webhookDeliveryJob = declareJob<WebhookDeliveryInput>({
  name: 'webhook-delivery',
  description:
    'POSTs one domain event to one subscribed endpoint, signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature), ' +
    'retried with backoff over hours on workflow timers; the webhook-id is the same on every attempt and retry. After the last attempt the job fails (the failed-job view, where retry works).',
  workflowType: 'webhookDelivery',
  start: webhookDeliveryStart,
  activities: createWebhookActivities,
  startedBy: 'the outbox relay, for each EventAppended and each endpoint subscribed to its type',
});

/** The stable webhook-id of one event for one endpoint (receivers dedupe by it). */
export const webhookIdOf = (endpointId: string, eventId: string) => `msg_${createHash('sha256').update(`${endpointId}\n${eventId}`).digest('hex').slice(0, 32)}`;

/**
 * The deliveries an appended event calls for: one per endpoint of the event's tenant subscribed to
 * its type, each a job keyed by (endpoint, event). Another tenant's endpoints never see it.
 */
export async function webhookDeliveriesFor(db: Database, event: StreamEvent & { tenantId: string }, config: Config): Promise<WebhookDeliveryInput[]> {
  const endpoints = await webhookEndpoints.subscribedTo(db, event.tenantId, event.type);
  return endpoints.map((endpoint) => ({
    endpointId: endpoint.endpointId,
    webhookId: webhookIdOf(endpoint.endpointId, event.eventId),
    eventId: event.eventId,
    eventType: event.type,
    occurredAt: event.createdAt,
    data: { ...event.payload, eventId: event.eventId, stream: event.stream, offset: event.offset },
    backoffMs: config.webhooks.retryBackoffMs,
    timeoutMs: config.webhooks.timeoutMs,
    allowPrivateNetworks: config.webhooks.allowPrivateNetworks,
  }));
}
