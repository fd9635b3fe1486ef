/** The webhook-delivery job, as callers and the workflow share it (bundle-safe). */

/** One event for one endpoint: delivered at least once, always under the same webhook-id. */
export interface WebhookDeliveryInput {
  endpointId: string;
  /** Standard Webhooks' `webhook-id`: the same on every attempt and every retry, so receivers dedupe by it. */
  webhookId: string;
  eventId: string;
  eventType: string;
  /** When the event happened (ISO 8601): the payload's `timestamp`. */
  occurredAt: string;
  data: Record<string, unknown>;
  /** The waits between attempts (ms): one attempt more than waits, then the job fails (the failed-job view; retry works). */
  backoffMs: number[];
  /** How long one attempt waits for the receiver's answer. */
  timeoutMs: number;
  /** Configuration at the time of publishing (WEBHOOK_ALLOW_PRIVATE_NETWORKS): may the URL resolve to loopback or private ranges. */
  allowPrivateNetworks: boolean;
}

export type WebhookDeliveryResult =
  | { delivered: true; attempts: number; status: number }
  | { delivered: false; attempts: number; reason: string };

/** One delivery per (endpoint, event); the event ID is hashed into `webhookId` by the Node side, which is also the job's key. */
export const webhookDeliveryWorkflowId = (endpointId: string, webhookId: string) => `webhook-delivery:${endpointId}:${webhookId}`;

export function webhookDeliveryStart(input: WebhookDeliveryInput) {
  return {
    workflowType: 'webhookDelivery',
    workflowId: webhookDeliveryWorkflowId(input.endpointId, input.webhookId),
    args: [input] as const,
    summary: `Webhook ${input.eventType} to endpoint ${input.endpointId}`,
    details: `Delivers event \`${input.eventId}\` (${input.eventType}) signed per Standard Webhooks, retrying ${input.backoffMs.length} times with backoff.`,
  };
}
