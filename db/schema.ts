import type { Generated } from 'kysely';

/**
 * Table types for Kysely: the one description of the app database both dialects share.
 * Timestamps are ISO-8601 text and money is integer minor units (bigint), so SQLite and
 * PostgreSQL store and return the same values.
 */
export interface SentEmailsTable {
  /** `<workflowId>/<step>`: one row per email that must go out at most once. */
  idempotency_key: string;
  message_id: string;
  recipient: string;
  template: string;
  sent_at: string;
}

/** The exactly-once record: an operation key and the result of its one application. */
export interface OperationsTable {
  operation_key: string;
  /** JSON of the effect's result, returned again to any repeat of the operation. */
  result: string | null;
  created_at: string;
}

export interface AccountsTable {
  /** The owning tenant (platform/tenancy.ts). */
  tenant_id: Generated<string>;
  account_id: string;
  email: string | null;
  /** ISO 4217 code, fixed by the account's first deposit. */
  currency: string | null;
  /** Minor units; always the sum of the account's ledger entries. */
  balance: number;
  created_at: string;
  updated_at: string;
}

export interface LedgerEntriesTable {
  /** The operation key of the deposit that made it: one entry per operation, ever. */
  entry_id: string;
  account_id: string;
  amount: number;
  currency: string;
  balance_after: number;
  created_at: string;
}

/** HTTP Idempotency-Key records: one per (client scope, key) until it expires. */
export interface IdempotencyKeysTable {
  scope: string;
  idempotency_key: string;
  /** SHA-256 of method, path and body: the same key with another request is refused. */
  request_hash: string;
  state: 'in_flight' | 'completed';
  response_status: number | null;
  response_headers: string | null;
  response_body: string | null;
  created_at: string;
  expires_at: string;
}

/** At-most-once telemetry: a lost row is acceptable; nothing here is ever retried. */
export interface TelemetryEventsTable {
  event_id: string;
  name: string;
  payload: string;
  created_at: string;
}

export interface UsersTable {
  /** The owning tenant (platform/tenancy.ts). */
  tenant_id: Generated<string>;
  user_id: string;
  email: string;
  name: string;
  created_at: string;
}

/**
 * The transactional outbox: messages written in the same transaction as the data change they
 * announce, published to Temporal afterwards by the relay. Never deleted, so it is also an audit.
 */
export interface OutboxTable {
  /** The owning tenant (platform/tenancy.ts). */
  tenant_id: string;
  /** Commit order; the relay publishes in this order within each aggregate. */
  seq: Generated<number>;
  aggregate_type: string;
  aggregate_id: string;
  event_type: string;
  /** JSON. */
  payload: string;
  correlation_id: string;
  created_at: string;
  /** A relay's claim: the row is being published by `claimed_by` until `claimed_until`. */
  claimed_by: string | null;
  claimed_until: string | null;
  published_at: string | null;
  published_by: string | null;
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  /** Set when the row failed for a reason a retry cannot fix; an operator retries it through the API. */
  parked_at: string | null;
}

/**
 * The event log: append-only, one ordered stream per aggregate kind (users, orders, payments,
 * shipments). Consumers read it at their own offset and can replay it from any point.
 */
export interface EventsTable {
  /** The owning tenant (platform/tenancy.ts). */
  tenant_id: string;
  stream: string;
  /** 1, 2, 3… within the stream, without gaps. */
  stream_offset: number;
  /** Stable across retries of whatever caused the event: appending it again changes nothing. */
  event_id: string;
  type: string;
  /** JSON. */
  payload: string;
  correlation_id: string;
  /** The event or request that caused this one. */
  causation_id: string | null;
  created_at: string;
}

export interface StreamsTable {
  stream: string;
  last_offset: number;
}

/** A consumer group's committed position: every event at or before it has been handled. */
/** One row per (tenant, stream, group): consumer groups run per tenant. */
export interface ConsumerOffsetsTable {
  tenant_id: string;
  stream: string;
  group_name: string;
  committed_offset: number;
  updated_at: string;
}

/** What the demo consumer groups compute from the streams (counts and sums, each event once). */
export interface StreamStatsTable {
  tenant_id: string;
  group_name: string;
  stat_key: string;
  value: number;
}

/** Stock per SKU. Reservations take stock with one conditional UPDATE (`stock >= quantity`). */
export interface InventoryTable {
  sku: string;
  name: string;
  stock: number;
  /** Unit price in minor units. */
  price: number;
  currency: string;
  updated_at: string;
}

/** One row per order, written by the order workflow at its start and at its end. */
export interface OrdersTable {
  /** The owning tenant (platform/tenancy.ts). */
  tenant_id: Generated<string>;
  order_id: string;
  customer_id: string;
  payment_account_id: string;
  /** JSON array of { sku, quantity }. */
  items: string;
  amount: number | null;
  currency: string | null;
  /** RUNNING, then COMPLETED, CANCELED or FAILED. */
  status: string;
  reason: string | null;
  created_at: string;
  updated_at: string;
}

/** A carrier booking made by the shipment workflow. */
export interface ShipmentsTable {
  order_id: string;
  carrier: string;
  tracking_number: string;
  status: 'booked' | 'canceled';
  created_at: string;
  updated_at: string;
}

/** A receiver of webhooks: where to POST, the signing secret, the event types it subscribed to. */
export interface WebhookEndpointsTable {
  endpoint_id: string;
  tenant_id: Generated<string>;
  url: string;
  /** `whsec_<base64>`, as the Standard Webhooks spec writes it. */
  secret: string;
  /** JSON array of event type names, e.g. ["OrderCreated"]. */
  event_types: string;
  created_at: string;
}

/**
 * Items of the high-volume lane (docs/architecture.md, "The lane"): committed by bulk enqueue,
 * claimed in order per partition by that partition's workflow, each run once and settled here.
 */
export interface LaneItemsTable {
  /** Commit order: a partition claims its items in this order. */
  seq: Generated<number>;
  /** The item's public ID (random, so IDs are not guessable). */
  item_id: string;
  tenant_id: Generated<string>;
  job_type: string;
  lane_partition: number;
  /** The client's key: unique per (tenant, job type); a repeat returns the existing item. */
  item_key: string;
  /** JSON, validated against the job type's item schema at enqueue. */
  input: string;
  status: LaneItemStatus;
  attempts: number;
  /** A pending item is due at this time (later after a failed attempt: the backoff). */
  next_attempt_at: string;
  /** The batch that claimed it (`<runId>/<batch>`): a retried batch takes its own items back. */
  claimed_by: string | null;
  /** A claim that outlives this is abandoned (its workflow moved on): the item is claimable again. */
  claimed_until: string | null;
  last_error: string | null;
  /** JSON of the effect's result once it succeeded. */
  result: string | null;
  correlation_id: string;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
}

export type LaneItemStatus = 'pending' | 'running' | 'succeeded' | 'failed';

/** An API key: its ID (the lookup), the SHA-256 of the whole key, its tenant and scopes. */
export interface ApiKeysTable {
  key_id: string;
  tenant_id: string;
  key_hash: string;
  /** Space-separated, e.g. 'jobs:submit jobs:read'. */
  scopes: string;
  name: string;
  created_at: string;
  revoked_at: string | null;
}

/** PostgreSQL only: rate-limiter-flexible's counters (api/rate-limits.ts), in its own layout. */
export interface RateLimitsTable {
  key: string;
  points: number;
  expire: number | null;
}

export interface DatabaseSchema {
  rate_limits: RateLimitsTable;
  api_keys: ApiKeysTable;
  sent_emails: SentEmailsTable;
  operations: OperationsTable;
  accounts: AccountsTable;
  ledger_entries: LedgerEntriesTable;
  idempotency_keys: IdempotencyKeysTable;
  telemetry_events: TelemetryEventsTable;
  users: UsersTable;
  outbox: OutboxTable;
  events: EventsTable;
  streams: StreamsTable;
  consumer_offsets: ConsumerOffsetsTable;
  stream_stats: StreamStatsTable;
  inventory: InventoryTable;
  orders: OrdersTable;
  shipments: ShipmentsTable;
  webhook_endpoints: WebhookEndpointsTable;
  lane_items: LaneItemsTable;
}
