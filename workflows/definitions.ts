/**
 * What callers (the API, tests, other workflows) share with the workflows: names, signals,
 * queries, search-attribute keys and input/output types. Imports nothing with I/O, so both the
 * workflow bundle and ordinary Node code can use it.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';

// Search attributes: registered on the embedded dev server at start, Keyword type.
// Never put PII (emails, names) in them: they are indexed and never encrypted.
export const CorrelationIdKey = defineSearchAttributeKey('CorrelationId', SearchAttributeType.KEYWORD);
export const CustomerIdKey = defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD);
export const OrderIdKey = defineSearchAttributeKey('OrderId', SearchAttributeType.KEYWORD);
export const EventTypeKey = defineSearchAttributeKey('EventType', SearchAttributeType.KEYWORD);
export const searchAttributeKeys = [CorrelationIdKey, CustomerIdKey, OrderIdKey, EventTypeKey];

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
