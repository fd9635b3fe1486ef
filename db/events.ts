import type { Transaction } from 'kysely';
import type { Database } from './database';
import { appendToOutbox } from './outbox';
import { currentTenant, DEFAULT_TENANT } from '../platform/tenancy';
import type { DatabaseSchema } from './schema';

export interface DomainEvent {
  stream: string;
  eventId: string;
  type: string;
  payload: Record<string, unknown>;
  correlationId: string;
  causationId?: string;
  /** The owning tenant; by default the one this code runs for (the request's, or the workflow's in an activity). */
  tenantId?: string;
}

export interface StoredEvent extends Required<Omit<DomainEvent, 'tenantId'>> {
  offset: number;
  createdAt: string;
}

/**
 * Append an event to its stream, in the caller's transaction (next to the change it records), once:
 * a second append with the same event ID returns the stored event. The stream's counter row is
 * bumped with one atomic UPDATE, which serialises appenders per stream, so offsets have no gaps or
 * duplicates. The same transaction writes an outbox row: the relay then delivers the event to
 * subscribers and wakes consumer groups, so producers never talk to consumers.
 */
export async function appendEvent(trx: Transaction<DatabaseSchema>, event: DomainEvent): Promise<StoredEvent> {
  const existing = await trx.selectFrom('events').selectAll().where('event_id', '=', event.eventId).executeTakeFirst();
  if (existing) return toStoredEvent(existing);
  await trx.insertInto('streams').values({ stream: event.stream, last_offset: 0 }).onConflict((oc) => oc.column('stream').doNothing()).execute();
  const { last_offset } = await trx
    .updateTable('streams')
    .set((eb) => ({ last_offset: eb('last_offset', '+', 1) }))
    .where('stream', '=', event.stream)
    .returning('last_offset')
    .executeTakeFirstOrThrow();
  const row = {
    stream: event.stream,
    stream_offset: Number(last_offset),
    event_id: event.eventId,
    type: event.type,
    payload: JSON.stringify(event.payload),
    correlation_id: event.correlationId,
    causation_id: event.causationId ?? null,
    created_at: new Date().toISOString(),
    tenant_id: event.tenantId ?? currentTenant() ?? DEFAULT_TENANT,
  };
  await trx.insertInto('events').values(row).execute();
  const stored = toStoredEvent(row);
  // Each event is its own outbox aggregate: deliveries need no order (the log has it), so they fan out in parallel.
  await appendToOutbox(trx, { aggregateType: 'event', aggregateId: event.eventId, eventType: 'EventAppended', payload: { ...stored }, correlationId: event.correlationId, tenantId: row.tenant_id });
  return stored;
}

export function toStoredEvent(row: DatabaseSchema['events']): StoredEvent {
  return {
    stream: row.stream,
    offset: Number(row.stream_offset),
    eventId: row.event_id,
    type: row.type,
    payload: JSON.parse(row.payload) as Record<string, unknown>,
    correlationId: row.correlation_id,
    causationId: row.causation_id ?? '',
    createdAt: row.created_at,
  };
}

/** A stream's events after an offset; with `tenantId`, only that tenant's (offsets then have gaps: the others'). */
export async function readEvents(db: Database, stream: string, afterOffset: number, limit: number, tenantId?: string): Promise<StoredEvent[]> {
  let query = db.selectFrom('events').selectAll();
  if (tenantId !== undefined) query = query.where('tenant_id', '=', tenantId);
  const rows = await query
    .where('stream', '=', stream)
    .where('stream_offset', '>', afterOffset)
    .orderBy('stream_offset')
    .limit(limit)
    .execute();
  return rows.map(toStoredEvent);
}

/** The stream's last offset; with `tenantId`, the offset of that tenant's last event (so nobody learns the others' volume). */
export async function lastOffset(db: Database, stream: string, tenantId?: string): Promise<number> {
  if (tenantId !== undefined) {
    const own = await db.selectFrom('events').select(({ fn }) => fn.max('stream_offset').as('last')).where('tenant_id', '=', tenantId).where('stream', '=', stream).executeTakeFirst();
    return Number(own?.last ?? 0);
  }
  const row = await db.selectFrom('streams').select('last_offset').where('stream', '=', stream).executeTakeFirst();
  return Number(row?.last_offset ?? 0);
}

/** Consumer groups run per tenant: each tenant's instance of a group has its own offset. */
export interface GroupOf {
  tenantId: string;
  stream: string;
  group: string;
}

export async function committedOffset(db: Database, { tenantId, stream, group }: GroupOf): Promise<number> {
  const row = await db
    .selectFrom('consumer_offsets')
    .select('committed_offset')
    .where('tenant_id', '=', tenantId)
    .where('stream', '=', stream)
    .where('group_name', '=', group)
    .executeTakeFirst();
  return Number(row?.committed_offset ?? 0);
}

/** Set a group's offset (forwards after a batch, or anywhere on a seek): a plain idempotent write. */
export async function commitOffset(db: Database, { tenantId, stream, group }: GroupOf, offset: number): Promise<void> {
  const now = new Date().toISOString();
  await db
    .insertInto('consumer_offsets')
    .values({ tenant_id: tenantId, stream, group_name: group, committed_offset: offset, updated_at: now })
    .onConflict((oc) => oc.columns(['tenant_id', 'stream', 'group_name']).doUpdateSet({ committed_offset: offset, updated_at: now }))
    .execute();
}

/** How many of the tenant's events of a stream come after an offset (a tenant's offsets have gaps: the others' events). */
export async function eventsAfter(db: Database, tenantId: string, stream: string, offset: number): Promise<number> {
  const row = await db
    .selectFrom('events')
    .select(({ fn }) => fn.countAll().as('n'))
    .where('tenant_id', '=', tenantId)
    .where('stream', '=', stream)
    .where('stream_offset', '>', offset)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** The tenants that have events (of a stream): the consumer group instances there are to run. */
export async function tenantsWithEvents(db: Database, stream?: string): Promise<string[]> {
  let query = db.selectFrom('events').select('tenant_id').distinct();
  if (stream !== undefined) query = query.where('stream', '=', stream);
  return (await query.orderBy('tenant_id').execute()).map((r) => r.tenant_id);
}
