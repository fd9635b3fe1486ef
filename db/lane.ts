/**
 * The lane's storage (`lane_items`): bulk enqueue in one transaction, claims in order per
 * partition, outcomes settled only by the batch that holds the claim, and the views (by ID, by
 * correlation ID, failed) with their retry.
 */
import { randomUUID } from 'node:crypto';
import type { Insertable, Selectable } from 'kysely';
import type { Database } from './database';
import { isPostgres } from './dialect';
import type { LaneItemsTable } from './schema';

export type LaneItem = Omit<Selectable<LaneItemsTable>, 'seq'> & { seq: number };

export interface NewLaneItem {
  key: string;
  partition: number;
  input: unknown;
}

export interface EnqueuedItem {
  itemId: string;
  key: string;
  partition: number;
  /** True when the key named an item that already existed (or came earlier in the same batch). */
  duplicate: boolean;
  status: LaneItem['status'];
  /** The stored row (the existing one for a duplicate). */
  item: LaneItem;
}

/** Rows per INSERT: keeps each statement well below SQLite's and PostgreSQL's bound-parameter limits. */
const INSERT_CHUNK = 250;
const READ_CHUNK = 500;

const chunks = <T>(list: T[], size: number) => Array.from({ length: Math.ceil(list.length / size) }, (_, i) => list.slice(i * size, (i + 1) * size));

const toItem = (row: Selectable<LaneItemsTable>): LaneItem => ({ ...row, seq: Number(row.seq), lane_partition: Number(row.lane_partition) });

/**
 * Commit a whole batch of items in one transaction, or none of it. A key that already names an
 * item (from an earlier batch, a concurrent one, or earlier in this one) returns that item
 * instead of a new one: INSERT … ON CONFLICT DO NOTHING RETURNING the rows it inserted, then a
 * read of the keys it did not (none, usually: the common enqueue is one statement).
 */
export async function enqueueLaneItems(db: Database, tenantId: string, jobType: string, items: NewLaneItem[], correlationId: string): Promise<EnqueuedItem[]> {
  const now = new Date().toISOString();
  const proposed = new Map<string, string>(); // key -> the ID a new row gets (first occurrence wins)
  const rows: Array<Insertable<LaneItemsTable>> = [];
  for (const item of items) {
    if (proposed.has(item.key)) continue;
    const itemId = `li_${randomUUID()}`;
    proposed.set(item.key, itemId);
    rows.push({
      item_id: itemId,
      tenant_id: tenantId,
      job_type: jobType,
      lane_partition: item.partition,
      item_key: item.key,
      input: JSON.stringify(item.input),
      status: 'pending' as const,
      attempts: 0,
      next_attempt_at: now,
      correlation_id: correlationId,
      created_at: now,
      updated_at: now,
    });
  }
  const stored = await db.transaction().execute(async (trx) => {
    const found = new Map<string, LaneItem>();
    for (const chunk of chunks(rows, INSERT_CHUNK)) {
      const inserted = await trx
        .insertInto('lane_items')
        .values(chunk)
        .onConflict((oc) => oc.columns(['tenant_id', 'job_type', 'item_key']).doNothing())
        .returningAll()
        .execute();
      for (const r of inserted) found.set(r.item_key, toItem(r));
    }
    const existing = [...proposed.keys()].filter((key) => !found.has(key));
    for (const keys of chunks(existing, READ_CHUNK)) {
      const read = await trx.selectFrom('lane_items').selectAll().where('tenant_id', '=', tenantId).where('job_type', '=', jobType).where('item_key', 'in', keys).execute();
      for (const r of read) found.set(r.item_key, toItem(r));
    }
    return found;
  });
  const seen = new Set<string>();
  return items.map(({ key }) => {
    const item = stored.get(key)!;
    const duplicate = seen.has(key) || item.item_id !== proposed.get(key);
    seen.add(key);
    return { itemId: item.item_id, key, partition: item.lane_partition, duplicate, status: item.status, item };
  });
}

/**
 * Claim a batch for one partition, for batch `batchId`. A retried batch (its activity ran again
 * after a crash) first takes back the items it had claimed, so they are finished before anything
 * new; otherwise the due pending items (and those whose claim was abandoned), oldest first. On
 * PostgreSQL the candidates are locked SKIP LOCKED, so a late attempt of an old batch never
 * blocks or shares rows with the current one.
 */
export async function claimLaneItems(db: Database, claim: { jobType: string; partition: number; batchId: string; limit: number; leaseMs: number }): Promise<LaneItem[]> {
  const now = new Date();
  const nowIso = now.toISOString();
  const partition = () => db.selectFrom('lane_items').where('job_type', '=', claim.jobType).where('lane_partition', '=', claim.partition);
  const mine = await partition().selectAll().where('status', '=', 'running').where('claimed_by', '=', claim.batchId).orderBy('seq').execute();
  if (mine.length > 0) return mine.map(toItem);

  // Two claims rather than one with an OR, so each reads the (job type, partition, status, seq)
  // index in order and stops at the limit, however long the backlog.
  const take = async (status: 'running' | 'pending', limit: number) => {
    let candidates = partition().select('seq').where('status', '=', status);
    candidates = status === 'running' ? candidates.where('claimed_until', '<', nowIso) : candidates.where('next_attempt_at', '<=', nowIso);
    candidates = candidates.orderBy('seq').limit(limit);
    if (isPostgres(db)) candidates = candidates.forUpdate().skipLocked();
    return db
      .updateTable('lane_items')
      .set({ status: 'running', claimed_by: claim.batchId, claimed_until: new Date(now.getTime() + claim.leaseMs).toISOString(), updated_at: nowIso })
      .where('seq', 'in', candidates)
      .returningAll()
      .execute();
  };
  const abandoned = await take('running', claim.limit);
  const rows = abandoned.length < claim.limit ? [...abandoned, ...(await take('pending', claim.limit - abandoned.length))] : abandoned;
  return rows.map(toItem).sort((a, b) => a.seq - b.seq);
}

export type LaneOutcome =
  | { itemId: string; ok: true; result: unknown }
  | { itemId: string; ok: false; error: string; /** No retry can help (a non-retryable failure). */ final: boolean };

export interface SettlePolicy {
  maxAttempts: number;
  backoffMs: number;
  maxBackoffMs: number;
}

/**
 * Record a batch's outcomes in one transaction. Only the batch holding the claim settles an
 * item (a late attempt of an abandoned batch changes nothing). A failure is retried after an
 * exponential backoff, until its attempts run out: then it is `failed`, listed in the failed view.
 */
export async function settleLaneItems(db: Database, batchId: string, outcomes: LaneOutcome[], policy: SettlePolicy): Promise<{ succeeded: number; retrying: number; failed: number }> {
  const counts = { succeeded: 0, retrying: 0, failed: 0 };
  if (outcomes.length === 0) return counts;
  await db.transaction().execute(async (trx) => {
    const attempts = new Map(
      (await trx.selectFrom('lane_items').select(['item_id', 'attempts']).where('item_id', 'in', outcomes.map((o) => o.itemId)).execute()).map((r) => [r.item_id, Number(r.attempts)]),
    );
    const now = Date.now();
    const nowIso = new Date(now).toISOString();
    for (const outcome of outcomes) {
      const attempt = (attempts.get(outcome.itemId) ?? 0) + 1;
      const held = trx.updateTable('lane_items').where('item_id', '=', outcome.itemId).where('claimed_by', '=', batchId).where('status', '=', 'running');
      if (outcome.ok) {
        await held.set({ status: 'succeeded', attempts: attempt, result: JSON.stringify(outcome.result ?? null), last_error: null, claimed_until: null, updated_at: nowIso, completed_at: nowIso }).execute();
        counts.succeeded++;
      } else if (outcome.final || attempt >= policy.maxAttempts) {
        await held.set({ status: 'failed', attempts: attempt, last_error: outcome.error.slice(0, 2_000), claimed_until: null, updated_at: nowIso }).execute();
        counts.failed++;
      } else {
        const backoff = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (attempt - 1));
        await held
          .set({ status: 'pending', attempts: attempt, last_error: outcome.error.slice(0, 2_000), claimed_until: null, next_attempt_at: new Date(now + backoff).toISOString(), updated_at: nowIso })
          .execute();
        counts.retrying++;
      }
    }
  });
  return counts;
}

/** Whether the partition has a pending item that is due now (a cheap read, for a batch waiting for more). */
export async function laneItemDue(db: Database, jobType: string, partition: number): Promise<boolean> {
  const row = await db
    .selectFrom('lane_items')
    .select('seq')
    .where('job_type', '=', jobType)
    .where('lane_partition', '=', partition)
    .where('status', '=', 'pending')
    .where('next_attempt_at', '<=', new Date().toISOString())
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** When the partition's next pending item is due: ms from now (0 if one is due already), null when none is pending. */
export async function nextLaneItemDueInMs(db: Database, jobType: string, partition: number): Promise<number | null> {
  const row = await db
    .selectFrom('lane_items')
    .select(({ fn }) => fn.min('next_attempt_at').as('due'))
    .where('job_type', '=', jobType)
    .where('lane_partition', '=', partition)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return row?.due ? Math.max(0, Date.parse(row.due) - Date.now()) : null;
}

export async function laneItemById(db: Database, tenantId: string, jobType: string, itemId: string): Promise<LaneItem | undefined> {
  const row = await db.selectFrom('lane_items').selectAll().where('item_id', '=', itemId).where('tenant_id', '=', tenantId).where('job_type', '=', jobType).executeTakeFirst();
  return row && toItem(row);
}

export async function laneItemsByCorrelation(db: Database, tenantId: string, jobType: string, correlationId: string, limit: number): Promise<LaneItem[]> {
  const rows = await db.selectFrom('lane_items').selectAll().where('correlation_id', '=', correlationId).where('tenant_id', '=', tenantId).where('job_type', '=', jobType).orderBy('seq').limit(limit).execute();
  return rows.map(toItem);
}

export async function failedLaneItems(db: Database, tenantId: string, jobType: string, limit: number): Promise<{ count: number; items: LaneItem[] }> {
  const failed = db.selectFrom('lane_items').where('tenant_id', '=', tenantId).where('job_type', '=', jobType).where('status', '=', 'failed');
  const { count } = await failed.select(({ fn }) => fn.countAll<number>().as('count')).executeTakeFirstOrThrow();
  const rows = await failed.selectAll().orderBy('seq').limit(limit).execute();
  return { count: Number(count), items: rows.map(toItem) };
}

/** Items per status for one job type (the lane's summary). */
export async function laneCounts(db: Database, tenantId: string, jobType: string): Promise<Record<LaneItem['status'], number>> {
  const rows = await db.selectFrom('lane_items').select(['status', ({ fn }) => fn.countAll<number>().as('count')]).where('tenant_id', '=', tenantId).where('job_type', '=', jobType).groupBy('status').execute();
  const counts = { pending: 0, running: 0, succeeded: 0, failed: 0 };
  for (const r of rows) counts[r.status] = Number(r.count);
  return counts;
}

/**
 * An operator's retry of a failed item: pending and due now, with a fresh set of attempts (the
 * last error is kept until the next attempt). Undefined when there is no such failed item.
 */
export async function retryFailedLaneItem(db: Database, tenantId: string, jobType: string, itemId: string): Promise<LaneItem | undefined> {
  const nowIso = new Date().toISOString();
  const row = await db
    .updateTable('lane_items')
    .set({ status: 'pending', attempts: 0, next_attempt_at: nowIso, claimed_by: null, claimed_until: null, updated_at: nowIso })
    .where('item_id', '=', itemId)
    .where('tenant_id', '=', tenantId)
    .where('job_type', '=', jobType)
    .where('status', '=', 'failed')
    .returningAll()
    .executeTakeFirst();
  return row && toItem(row);
}

/**
 * Partitions with items that have been due for longer than `overdueMs`: a live partition
 * workflow would have claimed them by then (it looks at least every idle check), so its wake was
 * lost before it ever started (the API died between commit and wake). The relay wakes these.
 */
export async function overdueLanePartitions(db: Database, overdueMs: number): Promise<Array<{ jobType: string; partition: number }>> {
  const rows = await db
    .selectFrom('lane_items')
    .select(['job_type', 'lane_partition'])
    .distinct()
    .where('status', '=', 'pending')
    .where('next_attempt_at', '<', new Date(Date.now() - overdueMs).toISOString())
    .execute();
  return rows.map((r) => ({ jobType: r.job_type, partition: Number(r.lane_partition) }));
}
