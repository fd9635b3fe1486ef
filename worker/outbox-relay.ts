import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import pg from 'pg';
import { z } from 'zod';
import type { Database } from '../db/database';
import { isPostgres } from '../db/dialect';
import { claimOutboxBatch, markFailed, markPublished, OUTBOX_CHANNEL, releaseClaims, scrubPublishedPayloads, type OutboxRow } from '../db/outbox';
import type { Config } from '../platform/config';
import { withCorrelationId } from '../platform/correlation';
import { withTenant } from '../platform/tenancy';
import { failpoint } from '../platform/failpoint';
import type { Logger } from '../platform/logger';
import { liveEvents } from '../platform/live-events';
import { createTemporalGateway, isTemporalUnavailable } from '../platform/temporal';
import { jobs } from '../workflows/registry';
import { deliverToSubscribers, deliverToWebhooks, startConsumerGroups, wakeConsumerGroups } from './event-delivery';
import { wakeOverdueLanes } from './lane-wakeup';

/**
 * The outbox relay: publishes committed outbox rows to Temporal, then marks them published.
 * Publishing is idempotent (each row maps to a workflow ID derived from its content), so the
 * crash window between "published" and "marked" only ever causes a harmless republish.
 */

const BATCH_SIZE = 50;
const MAX_ATTEMPTS = 5;
const MAX_BACKOFF_MS = 30_000;
/** Rows of one batch published at the same time. */
const CONCURRENCY = 16;

/** A failure no retry can fix (a malformed payload, an unknown event): the row is parked. */
class PermanentPublishError extends Error {}
class TemporalUnavailableError extends Error {
  override message = 'Temporal is unavailable';
}

const streamEvent = z.object({
  stream: z.string(),
  offset: z.number().int().positive(),
  eventId: z.string(),
  type: z.string(),
  payload: z.record(z.string(), z.unknown()),
  correlationId: z.string(),
  causationId: z.string(),
  createdAt: z.string(),
});

function parsePayload<T>(schema: z.ZodType<T>, row: OutboxRow): T {
  const parsed = schema.safeParse(JSON.parse(row.payload));
  if (!parsed.success) throw new PermanentPublishError(`invalid ${row.event_type} payload: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

export interface RelayDeps {
  config: Config;
  db: Database;
  client: Client;
  logger: Logger;
  identity?: string;
}

export function createOutboxRelay({ config, db, client, logger, identity = `relay-${randomUUID().slice(0, 8)}` }: RelayDeps) {
  const log = logger.child({ component: 'outbox-relay', relay: identity });
  const stats = { published: 0, retried: 0, parked: 0, outages: 0 };
  const gateway = createTemporalGateway(client, config.temporal);

  /** What each outbox message means in Temporal: a job declared to start on it, or the event log's delivery. */
  const publishers: Record<string, (row: OutboxRow) => Promise<void>> = {
    /** A domain event was appended to its stream: wake the stream's consumer groups, deliver it to subscribers, broadcast it live. */
    async EventAppended(row) {
      const event = parsePayload(streamEvent, row);
      const owned = { ...event, tenantId: row.tenant_id };
      await wakeConsumerGroups(gateway, row.tenant_id, event.stream);
      await deliverToSubscribers(gateway, owned);
      await deliverToWebhooks(gateway, db, config, owned);
      liveEvents.publish(owned);
    },
  };
  for (const job of jobs) {
    const trigger = job.outbox;
    if (!trigger) continue;
    // The job's ID comes from the row's content, so publishing a row twice starts it once.
    publishers[trigger.eventType] = async (row) => {
      const started = await gateway.startOnce(job.start(trigger.toInput(parsePayload(trigger.payload, row), config)), row.correlation_id);
      if (started === 'taken') throw new PermanentPublishError(`job ID taken by another tenant's ${job.name} job`);
    };
  }

  /** Publish one row and settle it; 'unavailable' leaves it untouched for after the outage. */
  async function publishRow(row: OutboxRow): Promise<'done' | 'unavailable'> {
    try {
      const publish = publishers[row.event_type];
      if (!publish) throw new PermanentPublishError(`no publisher for event type ${row.event_type}`);
      // On behalf of the tenant whose request wrote the row: the job it starts is that tenant's.
      await withTenant(row.tenant_id, () => withCorrelationId(row.correlation_id, () => publish(row)));
      failpoint(`relay-after-publish:${row.event_type}`);
      await markPublished(db, row.seq, identity);
      stats.published++;
    } catch (err) {
      if (isTemporalUnavailable(err)) return 'unavailable';
      const message = (err as Error).message;
      const park = err instanceof PermanentPublishError || row.attempts + 1 >= MAX_ATTEMPTS;
      await markFailed(db, row.seq, identity, message, park ? 'park' : 1_000 * 2 ** row.attempts);
      if (park) stats.parked++;
      else stats.retried++;
      log.warn({ seq: row.seq, eventType: row.event_type, correlationId: row.correlation_id, err: message, parked: park }, park ? 'outbox row parked' : 'outbox row will be retried');
    }
    return 'done';
  }

  /**
   * Publish one claimed batch; returns how many rows it claimed. A batch holds at most one row per
   * aggregate (the claim takes only each aggregate's oldest), so its rows can go out concurrently
   * without breaking per-aggregate order. Throws when Temporal is unavailable.
   */
  async function publishBatch(): Promise<number> {
    const rows = await claimOutboxBatch(db, identity, BATCH_SIZE, config.outbox.claimTtlMs);
    const waiting: number[] = [];
    for (let i = 0; i < rows.length; i += CONCURRENCY) {
      const chunk = rows.slice(i, i + CONCURRENCY);
      const outcomes = await Promise.all(chunk.map(publishRow));
      waiting.push(...chunk.filter((_, j) => outcomes[j] === 'unavailable').map((r) => r.seq));
      if (waiting.length > 0) {
        // An outage is nobody's row's fault: hand the rest back untouched and back off.
        await releaseClaims(db, [...waiting, ...rows.slice(i + CONCURRENCY).map((r) => r.seq)], identity);
        throw new TemporalUnavailableError();
      }
    }
    return rows.length;
  }

  let running: Promise<void> | undefined;
  let stopping = false;
  let wake: () => void = () => undefined;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  /** PostgreSQL: a dedicated connection LISTENs so a commit wakes the relay at once. */
  async function listen(): Promise<pg.Client | undefined> {
    if (config.database.kind !== 'postgres' || !config.outbox.listen) return undefined;
    const listener = new pg.Client({ connectionString: config.database.url });
    listener.on('notification', () => wake());
    listener.on('error', (err) => log.warn({ err: err.message }, 'outbox LISTEN connection failed; polling only'));
    await listener.connect();
    await listener.query(`LISTEN ${OUTBOX_CHANNEL}`);
    return listener;
  }

  // Published payloads past OUTBOX_PII_RETENTION lose their PII; checked at most once a minute.
  let nextScrubAt = 0;
  async function scrubWhenDue(): Promise<void> {
    if (Date.now() < nextScrubAt) return;
    nextScrubAt = Date.now() + Math.min(60_000, config.outbox.piiRetentionMs);
    const scrubbed = await scrubPublishedPayloads(db, new Date(Date.now() - config.outbox.piiRetentionMs));
    if (scrubbed > 0) log.info({ rows: scrubbed }, 'published outbox payloads past retention scrubbed');
  }

  async function loop(): Promise<void> {
    const listener = await listen().catch((err: Error) => void log.warn({ err: err.message }, 'outbox LISTEN unavailable; polling only'));
    let backoffMs = config.outbox.pollIntervalMs;
    let consumerGroupsStarted = false;
    let lanesCheckedAt = 0;
    try {
      while (!stopping) {
        try {
          // Every tenant's instance of every consumer group defined in code runs: a new one starts at offset 0 and catches up.
          if (!consumerGroupsStarted) {
            await startConsumerGroups(gateway, db);
            consumerGroupsStarted = true;
          }
          if (Date.now() - lanesCheckedAt >= config.lane.idleCheckMs) {
            lanesCheckedAt = Date.now();
            await wakeOverdueLanes(gateway, db, config);
          }
          const handled = await publishBatch();
          await scrubWhenDue();
          backoffMs = config.outbox.pollIntervalMs;
          if (handled < BATCH_SIZE) await pause(config.outbox.pollIntervalMs);
        } catch (err) {
          if (err instanceof TemporalUnavailableError || isTemporalUnavailable(err)) {
            stats.outages++;
            log.warn({ retryInMs: backoffMs }, 'Temporal unavailable; outbox rows wait');
          } else {
            log.error({ err }, 'outbox relay error');
          }
          await pause(backoffMs);
          backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
        }
      }
    } finally {
      await listener?.end().catch(() => undefined);
    }
  }

  return {
    identity,
    stats,
    /** Handle whatever is due now, once (tests and benchmarks). */
    publishBatch,
    start() {
      if (isPostgres(db)) log.info({ listen: config.outbox.listen }, 'outbox relay started (PostgreSQL, SKIP LOCKED)');
      else log.info('outbox relay started (SQLite)');
      running = loop();
    },
    async stop() {
      stopping = true;
      wake();
      await running;
    },
  };
}

export type OutboxRelay = ReturnType<typeof createOutboxRelay>;
