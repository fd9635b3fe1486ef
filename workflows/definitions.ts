/**
 * What callers (the API, tests, other workflows) share with the workflows: names, signals,
 * queries, search-attribute keys and input/output types. Imports nothing with I/O, so both the
 * workflow bundle and ordinary Node code can use it.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

// Search attributes: registered on the embedded dev server at start, Keyword type.
// Never put PII (emails, names) in them: they are indexed and never encrypted.
export const CorrelationIdKey = defineSearchAttributeKey('CorrelationId', SearchAttributeType.KEYWORD);
export const CustomerIdKey = defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD);
export const OrderIdKey = defineSearchAttributeKey('OrderId', SearchAttributeType.KEYWORD);
export const EventTypeKey = defineSearchAttributeKey('EventType', SearchAttributeType.KEYWORD);
export const searchAttributeKeys = [CorrelationIdKey, CustomerIdKey, OrderIdKey, EventTypeKey];

/** Temporal header that carries the correlation ID through clients, workflows and activities. */
export const CORRELATION_HEADER = 'correlation-id';

/** Every workflow answers this query with the step it is on, for the job status endpoint. */
export interface Progress {
  step: string;
}
export const progressQuery = defineQuery<Progress>('progress');

// ---- Welcome email: the task-queue pattern ----

/** A user ID becomes part of a workflow ID, so it may not hold ':' '/' or spaces. */
export const USER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export const welcomeEmailWorkflowId = (userId: string) => `welcome-email:${userId}`;

export interface WelcomeEmailInput {
  userId: string;
  email: string;
  name: string;
  /** How long after the welcome email the "getting started" follow-up goes out. */
  followUpDelayMs: number;
}

export interface WelcomeEmailResult {
  welcomeMessageId: string;
  followUp: { sent: true; messageId: string } | { sent: false; reason: 'unsubscribed' };
}

export const unsubscribeSignal = defineSignal('unsubscribe');

/** How a welcome job is started, by the API (POST /v1/welcome-emails) and by the outbox relay (UserSignedUp). */
export function welcomeEmailJob(input: WelcomeEmailInput) {
  return {
    workflowType: 'welcomeEmail',
    workflowId: welcomeEmailWorkflowId(input.userId),
    args: [input],
    summary: `Welcome email for user ${input.userId}`,
    details:
      'Sends the welcome email at once, then waits and sends a getting-started follow-up, ' +
      'unless the user unsubscribes first (signal `unsubscribe`).',
  };
}

// ---- Deposits: exactly-once effect ----

/** Account IDs, like user IDs, become part of workflow IDs. */
export const ACCOUNT_ID_PATTERN = USER_ID_PATTERN;

/** `operationId` comes from the client's Idempotency-Key when there is one, so a retry maps to the same workflow. */
export const depositWorkflowId = (accountId: string, operationId: string) => `deposit:${accountId}:${operationId}`;

export interface DepositRequest {
  accountId: string;
  /** Minor units (cents), a positive safe integer. */
  amount: number;
  /** ISO 4217, e.g. 'EUR'. */
  currency: string;
}

export interface DepositResult {
  entryId: string;
  balance: number;
  /** True when this run applied the deposit; false when a retry found it already applied. */
  appliedNow: boolean;
  /** Attempts the apply step took: 2 or more means a retry happened (and did not double it). */
  attempts: number;
  /** At-most-once telemetry: 'lost' is acceptable and counted, never retried. */
  telemetry: 'recorded' | 'lost';
}

// ---- Orders: the saga pattern ----

/** Order and customer IDs, like user IDs, become part of workflow IDs. */
export const ORDER_ID_PATTERN = USER_ID_PATTERN;
export const SKU_PATTERN = USER_ID_PATTERN;

export const orderWorkflowId = (orderId: string) => `order:${orderId}`;
export const shipmentWorkflowId = (orderId: string) => `shipment:${orderId}`;

/** The business rules with a clock: both are workflow timers, so tests skip them. */
export const PAYMENT_WINDOW = '15 minutes';
export const PICK_UP_WINDOW = '2 days';

export interface OrderItem {
  sku: string;
  quantity: number;
}

/** How many units an order holds, as the summary and the steps say it ("3 items"). */
export const itemCount = (items: OrderItem[]) => items.reduce((sum, item) => sum + item.quantity, 0);

export interface OrderInput {
  orderId: string;
  customerId: string;
  items: OrderItem[];
  paymentAccountId: string;
}

/** Running states while the saga works, then exactly one of the three final ones. */
export type OrderStatus = 'RUNNING' | 'COMPENSATING' | 'COMPLETED' | 'CANCELED' | 'FAILED';
export const finalOrderStatuses: OrderStatus[] = ['COMPLETED', 'CANCELED', 'FAILED'];

export type StepName = 'reserve inventory' | 'charge payment' | 'ship' | 'send confirmation';
export type StepState = 'pending' | 'running' | 'done' | 'skipped' | 'failed' | 'canceled';

export interface StepView {
  name: StepName;
  state: StepState;
  startedAt: string | null;
  finishedAt: string | null;
  /** What happened, in a few words ("reserved 3 items for 7500 USD", "out of stock: gadget"). */
  detail: string | null;
}

export interface CompensationView {
  name: 'cancel shipment' | 'refund payment' | 'release inventory';
  /** 'nothing to undo' when the step had not taken effect (it failed, or never ran to completion). */
  outcome: 'undone' | 'nothing to undo';
  finishedAt: string;
}

/** What `GET /v1/orders/<id>` shows: the `orderStatus` query while running, the result once closed. */
export interface OrderView {
  orderId: string;
  customerId: string;
  paymentAccountId: string;
  items: OrderItem[];
  status: OrderStatus;
  /** Why the order was canceled or failed; null otherwise. */
  reason: string | null;
  /** Minor units, known once the inventory is reserved (prices come from the inventory). */
  amount: number | null;
  currency: string | null;
  /** True once the carrier picked the parcel up: from then on the order cannot be canceled. */
  pickedUp: boolean;
  steps: StepView[];
  /** The compensations that ran, in the order they ran (the reverse of the steps). */
  compensations: CompensationView[];
}

export const orderStatusQuery = defineQuery<OrderView>('orderStatus');

/** Accepted until the parcel is picked up; the validator rejects it after (and once the order is closing). */
export const cancelOrderUpdate = defineUpdate<OrderView, [{ reason: string }]>('cancelOrder');

export type CarrierEventType = 'picked_up' | 'delivered' | 'lost';
export const carrierEventTypes: CarrierEventType[] = ['picked_up', 'delivered', 'lost'];

/** Sent to the shipment workflow by `POST /v1/shipments/<orderId>/events`. */
export const carrierEventSignal = defineSignal<[{ type: CarrierEventType }]>('carrierEvent');

/** Sent by the shipment to its order when the parcel is picked up, which ends the cancel window. */
export const shipmentPickedUpSignal = defineSignal('shipmentPickedUp');

export interface ShipmentInput {
  orderId: string;
  items: OrderItem[];
}

/** How a shipment ended: only 'delivered' lets the order complete. */
export type ShipmentOutcome = 'delivered' | 'lost' | 'not picked up';

// ---- Event streams, consumer groups and durable subscriptions ----

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
}

/** One stream per aggregate kind. */
export const STREAMS = ['users', 'orders', 'payments', 'shipments'] as const;

/**
 * Consumer groups, defined in code. Each reads its stream at its own committed offset. Adding a
 * group here is all it takes: it starts at offset 0 and catches up; no producer changes.
 */
export const CONSUMER_GROUPS: Array<{ stream: string; group: string; description: string }> = [
  { stream: 'users', group: 'signup-stats', description: 'counts sign-ups' },
  { stream: 'payments', group: 'revenue-stats', description: 'counts payments and sums them per currency' },
  { stream: 'orders', group: 'order-stats', description: 'counts order events by type' },
];

export const streamConsumerWorkflowId = (stream: string, group: string) => `stream-consumer:${stream}:${group}`;

export interface StreamConsumerInput {
  stream: string;
  group: string;
}

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

/**
 * Durable subscriptions: a topic (a stream's name) maps to subscriber workflows; each event of the
 * listed types is delivered by signal to each subscriber, which reacts once per event ID with a
 * one-off child workflow.
 */
export const SUBSCRIPTIONS: Array<{ topic: string; subscriber: string; eventTypes: string[]; description: string }> = [
  { topic: 'payments', subscriber: 'loyalty', eventTypes: ['PaymentProcessed'], description: 'credits 1 loyalty point per 100 minor units paid' },
  { topic: 'shipments', subscriber: 'shipping-notice', eventTypes: ['OrderShipped'], description: 'emails the customer that the order is on its way' },
];

export const subscriberWorkflowId = (topic: string, subscriber: string) => `subscriber:${topic}:${subscriber}`;
export const reactionWorkflowId = (subscriber: string, eventId: string) => `reaction:${subscriber}:${eventId}`;

export interface SubscriberInput {
  topic: string;
  subscriber: string;
  /** Event IDs already handled, carried across continue-as-new (the child ID still dedupes beyond it). */
  recentlySeen?: string[];
}

export const deliverSignal = defineSignal<[event: StreamEvent]>('deliver');
