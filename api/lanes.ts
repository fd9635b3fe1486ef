/**
 * The lane's routes, for every job type that declares one (workflows/registry.ts): bulk and
 * single-item enqueue (committed in one transaction before the 202), per-item status by ID and
 * by correlation ID, the failed view and its retry. After each commit the touched partitions'
 * workflows are woken; a lost wake only delays (they also look on a timer).
 */
import { AsyncResource } from 'node:async_hooks';
import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import type { Database } from '../db/database';
import {
  enqueueLaneItems,
  failedLaneItems,
  laneCounts,
  laneItemById,
  laneItemsByCorrelation,
  retryFailedLaneItem,
  type EnqueuedItem,
  type LaneItem,
} from '../db/lane';
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import { currentTenant, DEFAULT_TENANT } from '../platform/tenancy';
import { correlationId as correlationIdSchema } from '../platform/schemas';
import type { TemporalGateway, WorkflowStart } from '../platform/temporal';
import type { JobDeclaration } from '../workflows/declaration';
import { lanePartitionOf, laneWakeSignal } from '../workflows/lane/definition';
import { lanePartitionStart, laneSettings } from '../workflows/lane/job';
import { requireScope } from './auth';
import { requireJson } from './hygiene';
import { HttpProblem, parseOrThrow } from './problem';

/** At most this many items per bulk request (the body limit below fits them). */
export const MAX_ITEMS_PER_REQUEST = 1_000;
/** The lane's body limit: 1,000 items of a few hundred bytes each. */
export const LANE_BODY_LIMIT = '1mb';

/** An item's key: the client's name for it, unique per job type (printable, no spaces). */
const itemKey = z.string().regex(/^[\x21-\x7e]{1,200}$/, 'must be 1-200 printable ASCII characters without spaces');
export const laneItemId = z.string().regex(/^li_[0-9a-f-]{36}$/, 'is not an item ID');

/** A lane job's request bodies: one item `{ key, input }`, or a batch `{ items: [...] }`. */
export function laneBodies(job: JobDeclaration) {
  const item = z.strictObject({ key: itemKey, input: job.lane!.item });
  return { item, bulk: z.strictObject({ items: z.array(item).min(1).max(MAX_ITEMS_PER_REQUEST) }) };
}

/** Wake attempts per partition before the API gives up and leaves it to the relay's overdue sweep. */
const WAKE_ATTEMPTS = 8;

const itemUrl = (jobType: string, id: string) => `/v1/lanes/${encodeURIComponent(jobType)}/items/${id}`;

function itemView(item: LaneItem) {
  return {
    itemId: item.item_id,
    jobType: item.job_type,
    key: item.item_key,
    partition: item.lane_partition,
    status: item.status,
    attempts: item.attempts,
    nextAttemptAt: item.status === 'pending' ? item.next_attempt_at : null,
    lastError: item.last_error,
    result: item.result === null ? null : JSON.parse(item.result),
    correlationId: item.correlation_id,
    createdAt: item.created_at,
    updatedAt: item.updated_at,
    completedAt: item.completed_at,
    statusUrl: itemUrl(item.job_type, item.item_id),
  };
}

/**
 * The least time between two wakes of one partition. A busy partition takes new items without
 * a wake (its activity keeps claiming, and lingers LINGER_MS > this after its last item), so
 * under load a wake per enqueue would only cost a workflow task each; an idle partition's first
 * wake goes at once.
 */
export const WAKE_INTERVAL_MS = 100;

/**
 * Wakes partition workflows, off the request path. Per partition: the first wake goes at once;
 * wakes asked for within WAKE_INTERVAL_MS of the last one (or while it is in flight) become one
 * more, sent when the interval is over. So every commit is followed by a signal that started
 * after it, and a burst of requests costs a few signals per partition per second. A failed wake
 * is retried with backoff a few times, then left to the relay's overdue sweep. The signals run
 * outside any request's context, so they are not bound by the deadline of the request that
 * asked for them.
 */
export function createLaneWaker(gateway: TemporalGateway, logger: Logger, intervalMs = WAKE_INTERVAL_MS) {
  interface Partition {
    start: WorkflowStart;
    /** A commit is waiting for a signal that starts after it. */
    wanted: boolean;
    sending: boolean;
    timer?: NodeJS.Timeout;
    /** When the next signal may start. */
    notBefore: number;
    failures: number;
  }
  const partitions = new Map<string, Partition>();

  const send = AsyncResource.bind((p: Partition) => {
    p.wanted = false;
    p.sending = true;
    p.notBefore = Date.now() + intervalMs;
    gateway
      .signalWithStart(p.start, laneWakeSignal, [])
      .then(
        () => void (p.failures = 0),
        (err: Error) => {
          p.failures++;
          logger.warn({ err: err.message, workflowId: p.start.workflowId, attempt: p.failures }, 'lane wake failed; retrying (the partition also looks on its timer)');
          if (p.failures < WAKE_ATTEMPTS) {
            p.wanted = true;
            p.notBefore = Date.now() + Math.min(30_000, 500 * 2 ** Math.min(6, p.failures));
          } else p.failures = 0; // the relay's overdue sweep takes over
        },
      )
      .finally(() => {
        p.sending = false;
        schedule(p);
      });
  });

  function schedule(p: Partition): void {
    if (!p.wanted || p.sending || p.timer) return;
    const wait = p.notBefore - Date.now();
    if (wait <= 0) send(p);
    else
      p.timer = setTimeout(() => {
        p.timer = undefined;
        schedule(p);
      }, wait).unref();
  }

  return {
    wake(starts: WorkflowStart[]): void {
      for (const start of starts) {
        let p = partitions.get(start.workflowId);
        if (!p) partitions.set(start.workflowId, (p = { start, wanted: false, sending: false, notBefore: 0, failures: 0 }));
        p.start = start;
        p.wanted = true;
        schedule(p);
      }
    },
  };
}

export function lanesRouter(
  gateway: TemporalGateway,
  db: Database,
  jobs: JobDeclaration[],
  config: Config,
  logger: Logger,
  { submitLimit }: { submitLimit: RequestHandler },
): Router {
  const router = Router();
  const waker = createLaneWaker(gateway, logger);
  const laneJobs = new Map(jobs.filter((job) => job.lane).map((job) => [job.name, job]));
  const jobPath = z.object({ jobType: z.string().max(100) });
  const itemPath = jobPath.extend({ itemId: laneItemId });
  /** Items belong to the caller's tenant: another tenant's item is 'no such item'. */
  const tenant = () => currentTenant() ?? DEFAULT_TENANT;

  function laneJobOr404(jobType: string): JobDeclaration {
    const job = laneJobs.get(jobType);
    if (!job) throw new HttpProblem(404, 'lane-not-found', 'No such lane', `No job type '${jobType}' runs on the lane; lanes: ${[...laneJobs.keys()].join(', ')}.`);
    return job;
  }

  const schemas = new Map([...laneJobs.values()].map((job) => [job.name, laneBodies(job)]));

  async function enqueue(job: JobDeclaration, items: Array<{ key: string; input: unknown }>, correlationId: string): Promise<EnqueuedItem[]> {
    const { partitions } = laneSettings(job.lane!, config);
    const enqueued = await enqueueLaneItems(db, tenant(), job.name, items.map((item) => ({ ...item, partition: lanePartitionOf(item.key, partitions) })), correlationId);
    // Committed: now wake the partitions that got new items.
    const touched = new Set(enqueued.filter((item) => !item.duplicate).map((item) => item.partition));
    waker.wake([...touched].map((partition) => lanePartitionStart(job, partition, config)));
    return enqueued;
  }

  /**
   * `{ items: [{ key, input }, …] }` (1 to 1,000) enqueues a batch: 202 with every item's ID, in
   * request order. `{ key, input }` enqueues one: 202 + Location, or 200 with the existing item
   * when the key was used before. Either is one job submission for the submission rate limit: a
   * batch is how a client sends many items in few requests.
   */
  router.post('/v1/lanes/:jobType/items', requireScope('jobs:submit'), submitLimit, requireJson, async (req, res) => {
    const job = laneJobOr404(parseOrThrow(jobPath, req.params, 'path').jobType);
    const schema = schemas.get(job.name)!;
    const correlationId: string = res.locals.correlationId;
    if (typeof req.body === 'object' && req.body !== null && 'items' in req.body) {
      const { items } = parseOrThrow(schema.bulk, req.body, 'body');
      const enqueued = await enqueue(job, items, correlationId);
      res.status(202).json({
        jobType: job.name,
        accepted: enqueued.filter((i) => !i.duplicate).length,
        duplicates: enqueued.filter((i) => i.duplicate).length,
        correlationId,
        items: enqueued.map((i) => ({ itemId: i.itemId, key: i.key, status: i.status, duplicate: i.duplicate, statusUrl: itemUrl(job.name, i.itemId) })),
      });
      return;
    }
    const item = parseOrThrow(schema.item, req.body, 'body');
    const [enqueued] = await enqueue(job, [item], correlationId);
    const view = itemView(enqueued!.item);
    res
      .status(enqueued!.duplicate ? 200 : 202)
      .location(view.statusUrl)
      .json({ ...view, duplicate: enqueued!.duplicate });
  });

  /** `GET …/items?correlationId=…`: the items enqueued under one correlation ID (at most 1,000, in order). */
  router.get('/v1/lanes/:jobType/items', requireScope('jobs:read'), async (req, res) => {
    const job = laneJobOr404(parseOrThrow(jobPath, req.params, 'path').jobType);
    const { correlationId } = parseOrThrow(z.object({ correlationId: correlationIdSchema }), req.query, 'query');
    const items = await laneItemsByCorrelation(db, tenant(), job.name, correlationId, MAX_ITEMS_PER_REQUEST);
    res.json({ jobType: job.name, correlationId, items: items.map(itemView) });
  });

  router.get('/v1/lanes/:jobType/items/:itemId', requireScope('jobs:read'), async (req, res) => {
    const params = parseOrThrow(itemPath, req.params, 'path');
    const job = laneJobOr404(params.jobType);
    const item = await laneItemById(db, tenant(), job.name, params.itemId);
    if (!item) throw new HttpProblem(404, 'item-not-found', 'No such item', `There is no ${job.name} item '${params.itemId}'.`);
    res.json(itemView(item));
  });

  /** The failed view: items whose attempts ran out (the oldest 100), each with its retry URL. */
  router.get('/v1/lanes/:jobType/failed', requireScope('operate'), async (req, res) => {
    const job = laneJobOr404(parseOrThrow(jobPath, req.params, 'path').jobType);
    const { count, items } = await failedLaneItems(db, tenant(), job.name, 100);
    res.json({ jobType: job.name, count, items: items.map((item) => ({ ...itemView(item), retryUrl: `${itemUrl(job.name, item.item_id)}/retry` })) });
  });

  router.post('/v1/lanes/:jobType/items/:itemId/retry', requireScope('operate'), async (req, res) => {
    const params = parseOrThrow(itemPath, req.params, 'path');
    const job = laneJobOr404(params.jobType);
    const retried = await retryFailedLaneItem(db, tenant(), job.name, params.itemId);
    if (!retried) {
      const item = await laneItemById(db, tenant(), job.name, params.itemId);
      if (!item) throw new HttpProblem(404, 'item-not-found', 'No such item', `There is no ${job.name} item '${params.itemId}'.`);
      throw new HttpProblem(409, 'item-not-failed', 'The item has not failed', `Item '${params.itemId}' is ${item.status}; only a failed item can be retried.`, { statusUrl: itemUrl(job.name, item.item_id) });
    }
    waker.wake([lanePartitionStart(job, retried.lane_partition, config)]);
    res.status(202).location(itemUrl(job.name, retried.item_id)).json(itemView(retried));
  });

  /** The lane's summary: its settings and items per status. */
  router.get('/v1/lanes/:jobType', requireScope('jobs:read'), async (req, res) => {
    const job = laneJobOr404(parseOrThrow(jobPath, req.params, 'path').jobType);
    const settings = laneSettings(job.lane!, config);
    res.json({ jobType: job.name, partitions: settings.partitions, batchSize: settings.batchSize, maxAttempts: job.lane!.maxAttempts, items: await laneCounts(db, tenant(), job.name) });
  });

  return router;
}
