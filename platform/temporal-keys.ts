/**
 * Conveyor's names in Temporal that every layer shares: its search attributes and the header that
 * carries correlation IDs. Bundle-safe (no Node imports): the one platform module workflow code
 * may import (eslint.config.mjs holds that rule).
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Keyword search attributes, registered by the embedded dev server and by `npm run temporal:setup`.
// Never put PII (emails, names) in them: they are indexed and never encrypted.
export const CorrelationIdKey = defineSearchAttributeKey('CorrelationId', SearchAttributeType.KEYWORD);
export const CustomerIdKey = defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD);
export const OrderIdKey = defineSearchAttributeKey('OrderId', SearchAttributeType.KEYWORD);
export const EventTypeKey = defineSearchAttributeKey('EventType', SearchAttributeType.KEYWORD);
/** The tenant that owns a job: set by the gateway on every start, compared on every read; internal workflows have none. */
export const TenantIdKey = defineSearchAttributeKey('TenantId', SearchAttributeType.KEYWORD);
export const searchAttributeKeys = [CorrelationIdKey, CustomerIdKey, OrderIdKey, EventTypeKey, TenantIdKey];

/** Temporal header that carries the correlation ID through clients, workflows and activities. */
export const CORRELATION_HEADER = 'correlation-id';
/** Temporal header that carries the owning tenant from a workflow to its activities. */
export const TENANT_HEADER = 'tenant-id';
