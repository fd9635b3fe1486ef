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

export interface DatabaseSchema {
  sent_emails: SentEmailsTable;
  operations: OperationsTable;
  accounts: AccountsTable;
  ledger_entries: LedgerEntriesTable;
  idempotency_keys: IdempotencyKeysTable;
  telemetry_events: TelemetryEventsTable;
  inventory: InventoryTable;
  orders: OrdersTable;
  shipments: ShipmentsTable;
}
