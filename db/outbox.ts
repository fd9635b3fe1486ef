import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './database';
import { isPostgres } from './dialect';
import { currentTenant, DEFAULT_TENANT } from '../platform/tenancy';
import type { DatabaseSchema, OutboxTable } from './schema';

/** PostgreSQL channel the writers NOTIFY and the relays LISTEN on, to wake without polling delay. */
export const OUTBOX_CHANNEL = 'conveyor_outbox';

export interface OutboxMessage {
  aggregateType: string;
  aggregateId: string;
  eventType: string;
  payload: Record<string, unknown>;
  correlationId: string;
  /** The tenant on whose behalf the relay publishes it; by default the one this code runs for. */
  tenantId?: string;
}

export type OutboxRow = Omit<OutboxTable, 'seq'> & { seq: number };

/**
 * Write a message in the caller's transaction, next to the data change it announces: either
 * both commit or neither. On PostgreSQL the NOTIFY is delivered only if the transaction commits.
 */
export async function appendToOutbox(trx: Transaction<DatabaseSchema>, message: OutboxMessage): Promise<void> {
  const now = new Date().toISOString();
  await trx
    .insertInto('outbox')
    .values({
      aggregate_type: message.aggregateType,
      aggregate_id: message.aggregateId,
      event_type: message.eventType,
      payload: JSON.stringify(message.payload),
      correlation_id: message.correlationId,
      tenant_id: message.tenantId ?? currentTenant() ?? DEFAULT_TENANT,
      created_at: now,
      attempts: 0,
      next_attempt_at: now,
      claimed_by: null,
      claimed_until: null,
      published_at: null,
      published_by: null,
      last_error: null,
      parked_at: null,
    })
    .execute();
  if (isPostgres(trx)) await sql`select pg_notify(${OUTBOX_CHANNEL}, '')`.execute(trx);
}

/**
 * Claim up to `limit` rows for one relay: due, unpublished, not parked, not claimed by a live
 * relay, and each the oldest unpublished row of its aggregate (so per-aggregate order holds even
 * with several relays). On PostgreSQL, SKIP LOCKED lets concurrent relays claim disjoint rows
 * without waiting on each other; on SQLite the single writer lock serialises claims.
 */
export async function claimOutboxBatch(db: Database, relay: string, limit: number, claimTtlMs: number): Promise<OutboxRow[]> {
  const now = new Date();
  const nowIso = now.toISOString();
  let heads = db
    .selectFrom('outbox as o')
    .select('o.seq')
    .where('o.published_at', 'is', null)
    .where('o.parked_at', 'is', null)
    .where('o.next_attempt_at', '<=', nowIso)
    .where((eb) => eb.or([eb('o.claimed_until', 'is', null), eb('o.claimed_until', '<', nowIso)]))
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('outbox as earlier')
            .select('earlier.seq')
            .whereRef('earlier.aggregate_type', '=', 'o.aggregate_type')
            .whereRef('earlier.aggregate_id', '=', 'o.aggregate_id')
            .where('earlier.published_at', 'is', null)
            .whereRef('earlier.seq', '<', 'o.seq'),
        ),
      ),
    )
    .orderBy('o.seq')
    .limit(limit);
  if (isPostgres(db)) heads = heads.forUpdate().skipLocked();
  const rows = await db
    .updateTable('outbox')
    .set({ claimed_by: relay, claimed_until: new Date(now.getTime() + claimTtlMs).toISOString() })
    .where('seq', 'in', heads)
    .returningAll()
    .execute();
  return rows.map((r) => ({ ...r, seq: Number(r.seq) })).sort((a, b) => a.seq - b.seq);
}

/** Only the relay holding the claim may settle a row; a relay whose claim expired changes nothing. */
const claimed = (db: Kysely<DatabaseSchema>, seq: number, relay: string) =>
  db.updateTable('outbox').where('seq', '=', seq).where('claimed_by', '=', relay);

export async function markPublished(db: Database, seq: number, relay: string): Promise<void> {
  await claimed(db, seq, relay)
    .set((eb) => ({ published_at: new Date().toISOString(), published_by: relay, claimed_until: null, attempts: eb('attempts', '+', 1), last_error: null }))
    .execute();
}

/** A failed attempt: try again after `retryInMs`, or park the row when a retry cannot help. */
export async function markFailed(db: Database, seq: number, relay: string, error: string, retryInMs: number | 'park'): Promise<void> {
  const now = Date.now();
  await claimed(db, seq, relay)
    .set((eb) => ({
      attempts: eb('attempts', '+', 1),
      last_error: error.slice(0, 2_000),
      claimed_until: null,
      next_attempt_at: new Date(now + (retryInMs === 'park' ? 0 : retryInMs)).toISOString(),
      parked_at: retryInMs === 'park' ? new Date(now).toISOString() : null,
    }))
    .execute();
}

/** Release claims without counting an attempt (the relay is backing off from an outage). */
export async function releaseClaims(db: Database, seqs: number[], relay: string): Promise<void> {
  if (seqs.length === 0) return;
  await db.updateTable('outbox').set({ claimed_until: null }).where('seq', 'in', seqs).where('claimed_by', '=', relay).where('published_at', 'is', null).execute();
}

/** The outbox's state; with `tenantId`, of that tenant's rows only. */
export async function outboxStatus(db: Database, tenantId?: string) {
  const counts = await db
    .selectFrom('outbox')
    .$if(tenantId !== undefined, (q) => q.where('tenant_id', '=', tenantId!))
    .select(({ fn }) => [
      fn.count<number>('seq').filterWhere('published_at', 'is', null).filterWhere('parked_at', 'is', null).as('pending'),
      fn.count<number>('seq').filterWhere('parked_at', 'is not', null).filterWhere('published_at', 'is', null).as('parked'),
      fn.count<number>('seq').filterWhere('published_at', 'is not', null).as('published'),
      fn.min('created_at').filterWhere('published_at', 'is', null).filterWhere('parked_at', 'is', null).as('oldest_pending_at'),
    ])
    .executeTakeFirstOrThrow();
  const parked = await db
    .selectFrom('outbox')
    .selectAll()
    .$if(tenantId !== undefined, (q) => q.where('tenant_id', '=', tenantId!))
    .where('parked_at', 'is not', null).where('published_at', 'is', null).orderBy('seq').limit(100).execute();
  return { ...counts, parked: parked.map((r) => ({ ...r, seq: Number(r.seq) })), parkedCount: Number(counts.parked) };
}

/** An operator's retry of a parked row: due now, attempts kept for the record. */
export async function retryParked(db: Database, seq: number, tenantId?: string): Promise<boolean> {
  const result = await db
    .updateTable('outbox')
    .$if(tenantId !== undefined, (q) => q.where('tenant_id', '=', tenantId!))
    .set({ parked_at: null, next_attempt_at: new Date().toISOString() })
    .where('seq', '=', seq)
    .where('parked_at', 'is not', null)
    .where('published_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** What a published row's payload becomes after OUTBOX_PII_RETENTION: the row stays for the audit, its content goes. */
export const SCRUBBED_PAYLOAD = '{"scrubbed":"past OUTBOX_PII_RETENTION"}';

/**
 * Blank the payloads of rows published before `publishedBefore` (at most `limit` per call). Once
 * published, a payload is never read again (only unpublished rows are claimed or retried), but a
 * UserSignedUp payload holds an email and a name that the users table already keeps: the outbox
 * must not become a second, forgotten copy. Idempotent, so several relays may run it at once.
 */
export async function scrubPublishedPayloads(db: Database, publishedBefore: Date, limit = 500): Promise<number> {
  const due = db
    .selectFrom('outbox')
    .select('seq')
    .where('published_at', '<', publishedBefore.toISOString())
    .where('payload', '<>', SCRUBBED_PAYLOAD)
    .limit(limit);
  const result = await db.updateTable('outbox').set({ payload: SCRUBBED_PAYLOAD }).where('seq', 'in', due).executeTakeFirst();
  return Number(result.numUpdatedRows);
}
