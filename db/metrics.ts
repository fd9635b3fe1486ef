/**
 * Gauges read from the database when Prometheus scrapes (not on every write): the outbox backlog
 * and every consumer group's lag. A scrape costs two small queries; the roles with a database
 * handle (API, relay) call watchDatabase() once.
 */
import { Gauge } from 'prom-client';
import { registry } from '../platform/metrics';
import type { Database } from './database';
import { outboxStatus } from './outbox';

let watched: Database | undefined;

/** Report this database's outbox and consumer lag (the last one given wins: one per process). */
export function watchDatabase(db: Database): void {
  watched = db;
}

/** Bounds the series count even if someone defines streams and groups in bulk. */
const MAX_LAG_SERIES = 100;

// The three outbox gauges share one read: prom-client collects every metric of a scrape at once.
const CACHE_MS = 1_000;
let outboxRead: { at: number; status: Promise<Awaited<ReturnType<typeof outboxStatus>> | undefined> } | undefined;
function readOutbox() {
  if (!outboxRead || Date.now() - outboxRead.at > CACHE_MS) {
    outboxRead = { at: Date.now(), status: watched ? outboxStatus(watched) : Promise.resolve(undefined) };
  }
  return outboxRead.status;
}

new Gauge({
  name: 'conveyor_outbox_pending',
  help: 'Outbox rows committed but not yet published to Temporal (parked rows excluded).',
  registers: [registry],
  async collect() {
    const status = await readOutbox();
    if (status) this.set(Number(status.pending));
  },
});
new Gauge({
  name: 'conveyor_outbox_oldest_pending_age_seconds',
  help: 'Age of the oldest unpublished outbox row; 0 when none is pending. Growing means the relay is stuck or down.',
  registers: [registry],
  async collect() {
    const status = await readOutbox();
    if (!status) return;
    const oldest = status.oldest_pending_at ? new Date(status.oldest_pending_at as string).getTime() : undefined;
    this.set(oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest) / 1000));
  },
});
new Gauge({
  name: 'conveyor_outbox_parked',
  help: 'Outbox rows the relay gave up on (permanent errors); they wait for an operator (POST /v1/outbox/:seq/retry).',
  registers: [registry],
  async collect() {
    const status = await readOutbox();
    if (status) this.set(status.parkedCount);
  },
});
new Gauge({
  name: 'conveyor_consumer_group_lag_events',
  help: 'Events a consumer group has not committed yet, summed over its per-tenant instances (each counts its own tenant\'s events after its offset).',
  labelNames: ['stream', 'group'] as const,
  registers: [registry],
  async collect() {
    if (!watched) return;
    // No tenant label: tenant IDs stay out of metrics, and the series count stays that of the groups.
    const rows = await watched
      .selectFrom('consumer_offsets as c')
      .leftJoin('events as e', (join) => join.onRef('e.tenant_id', '=', 'c.tenant_id').onRef('e.stream', '=', 'c.stream').onRef('e.stream_offset', '>', 'c.committed_offset'))
      .select(({ fn }) => ['c.stream', 'c.group_name', fn.count('e.event_id').as('lag')])
      .groupBy(['c.stream', 'c.group_name'])
      .orderBy('c.stream')
      .orderBy('c.group_name')
      .limit(MAX_LAG_SERIES)
      .execute();
    this.reset(); // a group that is gone stops being reported
    for (const row of rows) this.set({ stream: row.stream, group: row.group_name }, Number(row.lag));
  },
});
