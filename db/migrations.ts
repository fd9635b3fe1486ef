import type { Kysely, Migration } from 'kysely';
import { isPostgres } from './dialect';

/**
 * Migrations in order; names sort lexically. Written with Kysely's schema builder and portable
 * types only (text, integer), so the same list serves SQLite and PostgreSQL.
 */
export const migrations: Record<string, Migration> = {
  '0001_sent_emails': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('sent_emails')
        .addColumn('idempotency_key', 'text', (c) => c.primaryKey())
        .addColumn('message_id', 'text', (c) => c.notNull())
        .addColumn('recipient', 'text', (c) => c.notNull())
        .addColumn('template', 'text', (c) => c.notNull())
        .addColumn('sent_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
};

migrations['0002_exactly_once'] = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('operations')
      .addColumn('operation_key', 'text', (c) => c.primaryKey())
      .addColumn('result', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('accounts')
      .addColumn('account_id', 'text', (c) => c.primaryKey())
      .addColumn('email', 'text')
      .addColumn('currency', 'text')
      .addColumn('balance', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('ledger_entries')
      .addColumn('entry_id', 'text', (c) => c.primaryKey())
      .addColumn('account_id', 'text', (c) => c.notNull())
      .addColumn('amount', 'bigint', (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('balance_after', 'bigint', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('ledger_entries_by_account').on('ledger_entries').columns(['account_id', 'created_at']).execute();
    await db.schema
      .createTable('idempotency_keys')
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('idempotency_key', 'text', (c) => c.notNull())
      .addColumn('request_hash', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('response_status', 'integer')
      .addColumn('response_headers', 'text')
      .addColumn('response_body', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('idempotency_keys_pk', ['scope', 'idempotency_key'])
      .execute();
    await db.schema.createIndex('idempotency_keys_by_expiry').on('idempotency_keys').column('expires_at').execute();
    await db.schema
      .createTable('telemetry_events')
      .addColumn('event_id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
  },
};


migrations['0003_outbox'] = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('users')
      .addColumn('user_id', 'text', (c) => c.primaryKey())
      .addColumn('email', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('outbox')
      .addColumn('seq', isPostgres(db) ? 'bigserial' : 'integer', (c) => (isPostgres(db) ? c.primaryKey() : c.primaryKey().autoIncrement()))
      .addColumn('aggregate_type', 'text', (c) => c.notNull())
      .addColumn('aggregate_id', 'text', (c) => c.notNull())
      .addColumn('event_type', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('correlation_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('claimed_by', 'text')
      .addColumn('claimed_until', 'text')
      .addColumn('published_at', 'text')
      .addColumn('published_by', 'text')
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('next_attempt_at', 'text', (c) => c.notNull())
      .addColumn('last_error', 'text')
      .addColumn('parked_at', 'text')
      .execute();
    // The relay's query: unpublished rows, oldest first, and the head of each aggregate.
    await db.schema.createIndex('outbox_unpublished').on('outbox').columns(['published_at', 'seq']).execute();
    await db.schema.createIndex('outbox_by_aggregate').on('outbox').columns(['aggregate_type', 'aggregate_id', 'seq']).execute();
  },
};

migrations['0004_orders'] = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('inventory')
      .addColumn('sku', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('stock', 'integer', (c) => c.notNull())
      .addColumn('price', 'bigint', (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('orders')
      .addColumn('order_id', 'text', (c) => c.primaryKey())
      .addColumn('customer_id', 'text', (c) => c.notNull())
      .addColumn('payment_account_id', 'text', (c) => c.notNull())
      .addColumn('items', 'text', (c) => c.notNull())
      .addColumn('amount', 'bigint')
      .addColumn('currency', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('orders_by_customer').on('orders').columns(['customer_id', 'created_at']).execute();
    await db.schema
      .createTable('shipments')
      .addColumn('order_id', 'text', (c) => c.primaryKey())
      .addColumn('carrier', 'text', (c) => c.notNull())
      .addColumn('tracking_number', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
  },
};

migrations['0005_streams'] = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('events')
      .addColumn('stream', 'text', (c) => c.notNull())
      .addColumn('stream_offset', 'bigint', (c) => c.notNull())
      .addColumn('event_id', 'text', (c) => c.notNull().unique())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('correlation_id', 'text', (c) => c.notNull())
      .addColumn('causation_id', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('events_pk', ['stream', 'stream_offset'])
      .execute();
    await db.schema.createIndex('events_by_correlation').on('events').column('correlation_id').execute();
    await db.schema
      .createTable('streams')
      .addColumn('stream', 'text', (c) => c.primaryKey())
      .addColumn('last_offset', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('consumer_offsets')
      .addColumn('stream', 'text', (c) => c.notNull())
      .addColumn('group_name', 'text', (c) => c.notNull())
      .addColumn('committed_offset', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('consumer_offsets_pk', ['stream', 'group_name'])
      .execute();
    await db.schema
      .createTable('stream_stats')
      .addColumn('group_name', 'text', (c) => c.notNull())
      .addColumn('stat_key', 'text', (c) => c.notNull())
      .addColumn('value', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('stream_stats_pk', ['group_name', 'stat_key'])
      .execute();
  },
};

migrations['0006_tenancy'] = {
  async up(db: Kysely<unknown>) {
    // API keys: only a hash of each key is stored; the key ID (part of the key) finds the row.
    await db.schema
      .createTable('api_keys')
      .addColumn('key_id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('key_hash', 'text', (c) => c.notNull())
      /** Space-separated scopes. */
      .addColumn('scopes', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('revoked_at', 'text')
      .execute();
    // Every tenant-owned row names its tenant; rows from before tenancy belong to the default one.
    for (const table of ['accounts', 'users', 'events', 'outbox', 'orders']) {
      await db.schema.alterTable(table).addColumn('tenant_id', 'text', (c) => c.notNull().defaultTo('default')).execute();
    }
    // The API's shared rate-limit counters on PostgreSQL (rate-limiter-flexible's own layout), so
    // limits hold across API processes; SQLite deployments run one API process and count in memory.
    if (isPostgres(db)) {
      await db.schema
        .createTable('rate_limits')
        .addColumn('key', 'varchar(255)', (c) => c.primaryKey())
        .addColumn('points', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('expire', 'bigint')
        .execute();
    }
    await db.schema.createIndex('events_by_tenant').on('events').columns(['tenant_id', 'stream', 'stream_offset']).execute();
  },
};

migrations['0007_webhook_endpoints'] = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('webhook_endpoints')
      .addColumn('endpoint_id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull().defaultTo('default'))
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('secret', 'text', (c) => c.notNull())
      .addColumn('event_types', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('webhook_endpoints_by_tenant').on('webhook_endpoints').columns(['tenant_id', 'created_at']).execute();
  },
};

migrations['0008_lane_items'] = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('lane_items')
      .addColumn('seq', isPostgres(db) ? 'bigserial' : 'integer', (c) => (isPostgres(db) ? c.primaryKey() : c.primaryKey().autoIncrement()))
      .addColumn('item_id', 'text', (c) => c.notNull().unique())
      .addColumn('tenant_id', 'text', (c) => c.notNull().defaultTo('default'))
      .addColumn('job_type', 'text', (c) => c.notNull())
      .addColumn('lane_partition', 'integer', (c) => c.notNull())
      .addColumn('item_key', 'text', (c) => c.notNull())
      .addColumn('input', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('next_attempt_at', 'text', (c) => c.notNull())
      .addColumn('claimed_by', 'text')
      .addColumn('claimed_until', 'text')
      .addColumn('last_error', 'text')
      .addColumn('result', 'text')
      .addColumn('correlation_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('completed_at', 'text')
      .execute();
    // A key names one item per job type (and tenant): a repeat returns the existing item.
    await db.schema.createIndex('lane_items_by_key').on('lane_items').columns(['tenant_id', 'job_type', 'item_key']).unique().execute();
    // The partition workflow's claim: its pending items, in order.
    await db.schema.createIndex('lane_items_claim').on('lane_items').columns(['job_type', 'lane_partition', 'status', 'seq']).execute();
    // The relay's sweep for overdue partitions.
    await db.schema.createIndex('lane_items_due').on('lane_items').columns(['status', 'next_attempt_at']).execute();
    await db.schema.createIndex('lane_items_by_correlation').on('lane_items').columns(['correlation_id']).execute();
  },
};

migrations['0009_tenant_consumer_groups'] = {
  async up(db: Kysely<unknown>) {
    // Consumer groups run per tenant (one instance of each declared group per tenant), so their
    // offsets and statistics are keyed by tenant. The old rows were the retired platform-wide
    // groups' (every tenant's events in one count): derived data, recomputed per tenant from the
    // event log, which is what a replayable log is for. A new primary key means new tables (SQLite
    // cannot alter one).
    await db.schema.dropTable('consumer_offsets').execute();
    await db.schema.dropTable('stream_stats').execute();
    await db.schema
      .createTable('consumer_offsets')
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('stream', 'text', (c) => c.notNull())
      .addColumn('group_name', 'text', (c) => c.notNull())
      .addColumn('committed_offset', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('consumer_offsets_pk', ['tenant_id', 'stream', 'group_name'])
      .execute();
    await db.schema
      .createTable('stream_stats')
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('group_name', 'text', (c) => c.notNull())
      .addColumn('stat_key', 'text', (c) => c.notNull())
      .addColumn('value', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('stream_stats_pk', ['tenant_id', 'group_name', 'stat_key'])
      .execute();
  },
};
