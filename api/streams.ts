import { Router } from 'express';
import { z } from 'zod';
import type { Database } from '../db/database';
import { committedOffset, eventsAfter, lastOffset, readEvents, toStoredEvent } from '../db/events';
import { liveEvents, type LiveEvent } from '../platform/live-events';
import { correlationId as correlationIdSchema } from '../platform/schemas';
import type { TemporalGateway } from '../platform/temporal';
import { CorrelationIdKey } from '../platform/temporal-keys';
import { currentTenant, DEFAULT_TENANT } from '../platform/tenancy';
import { requireScope } from './auth';
import { CONSUMER_GROUPS, seekSignal, streamConsumerStart, streamConsumerWorkflowId, STREAMS } from '../workflows/streams/definition';
import { jobStatusUrl } from './jobs';
import { requireJson } from './hygiene';
import { HttpProblem, parseOrThrow } from './problem';

export const streamPath = z.object({ stream: z.enum(STREAMS) });
export const groupPath = streamPath.extend({ group: z.string() });
export const eventsQuery = z.object({
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1_000).default(100),
});
export const seekBody = z.strictObject({ offset: z.number().int().min(0) });

/** The correlation view shows at most this many workflows and this many events: never an unbounded read. */
const CORRELATION_VIEW_LIMIT = 500;

/** How often an idle live feed sends a comment line, so proxies keep the connection open. */
const KEEPALIVE_MS = 15_000;

/**
 * Event streams (the replayable log, its consumer groups), the live pub/sub feed and the
 * correlation view that ties workflows and events together.
 */
export function streamsRouter(gateway: TemporalGateway, db: Database): Router {
  const router = Router();
  const tenantOf = () => currentTenant() ?? DEFAULT_TENANT;

  // A tenant reads its own events: offsets are the stream's, so its events have gaps where others' are.
  router.get('/v1/streams/:stream/events', requireScope('jobs:read'), async (req, res) => {
    const { stream } = parseOrThrow(streamPath, req.params, 'path');
    const { after, limit } = parseOrThrow(eventsQuery, req.query, 'query');
    const events = await readEvents(db, stream, after, limit, tenantOf());
    res.json({ stream, lastOffset: await lastOffset(db, stream, tenantOf()), events, nextAfter: events.at(-1)?.offset ?? after });
  });

  // Consumer groups run per tenant: the caller's own instances, their offsets and lag (in the
  // tenant's events: its offsets have gaps), and moving them. Another tenant's instance cannot even
  // be named: the path's group is always the caller's.
  router.get('/v1/streams/:stream/consumers', requireScope('jobs:read'), async (req, res) => {
    const { stream } = parseOrThrow(streamPath, req.params, 'path');
    const tenantId = tenantOf();
    const consumers = await Promise.all(
      CONSUMER_GROUPS.filter((g) => g.stream === stream).map(async ({ group, description }) => {
        const committed = await committedOffset(db, { tenantId, stream, group });
        const workflowId = streamConsumerWorkflowId(tenantId, stream, group);
        return { group, description, committedOffset: committed, lag: await eventsAfter(db, tenantId, stream, committed), workflowId, webUiUrl: gateway.webUiLink(workflowId) };
      }),
    );
    res.json({ stream, lastOffset: await lastOffset(db, stream, tenantId), consumers });
  });

  router.post('/v1/streams/:stream/consumers/:group/seek', requireScope('operate'), requireJson, async (req, res) => {
    const { stream, group } = parseOrThrow(groupPath, req.params, 'path');
    const consumerGroup = CONSUMER_GROUPS.find((g) => g.stream === stream && g.group === group);
    if (!consumerGroup) {
      throw new HttpProblem(404, 'consumer-group-not-found', 'No such consumer group', `Stream '${stream}' has no consumer group '${group}'.`);
    }
    const { offset } = parseOrThrow(seekBody, req.body, 'body');
    const tenantId = tenantOf();
    const last = await lastOffset(db, stream, tenantId);
    if (offset > last) {
      throw new HttpProblem(422, 'validation-error', 'The request is not valid', `/offset: must be at most the stream's last offset (${last})`, {
        errors: [{ pointer: '/offset', detail: `must be at most ${last}` }],
      });
    }
    // The group applies the seek between batches, so no batch in flight can overwrite it.
    await gateway.signalWithStart(streamConsumerStart({ ...consumerGroup, tenantId }), seekSignal, [offset]);
    res.status(202).json({ stream, group, seekTo: offset, consumersUrl: `/v1/streams/${stream}/consumers` });
  });

  // Pub/sub as the article means it: a live broadcast, nothing stored. A client that is not
  // connected misses events; one that reads too slowly has events dropped while its buffer is full.
  router.get('/v1/topics/:stream/live', requireScope('jobs:read'), (req, res) => {
    const { stream } = parseOrThrow(streamPath, req.params, 'path');
    const tenant = tenantOf();
    res.status(200).set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    res.flushHeaders();
    res.write(': connected; events published from now on will follow\n\n');
    let slow = false;
    let dropped = 0;
    res.on('drain', () => {
      slow = false;
    });
    const unsubscribe = liveEvents.subscribe((event: LiveEvent) => {
      if (event.stream !== stream || event.tenantId !== tenant) return;
      if (slow) {
        dropped++;
        return;
      }
      slow = !res.write(`id: ${event.eventId}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    });
    const keepalive = setInterval(() => res.write(`: keepalive${dropped ? `; ${dropped} events dropped while you were slow` : ''}\n\n`), KEEPALIVE_MS);
    req.on('close', () => {
      clearInterval(keepalive);
      unsubscribe();
    });
  });

  // The forensic view: everything that carries one correlation ID, in time order.
  // The caller's workflows and events only (correlation IDs are chosen by clients, so they can collide).
  router.get('/v1/correlations/:correlationId', requireScope('jobs:read'), async (req, res) => {
    const { correlationId } = parseOrThrow(z.object({ correlationId: correlationIdSchema }), req.params, 'path');
    const workflows = await gateway.listOwn(`${CorrelationIdKey.name} = "${correlationId}"`, CORRELATION_VIEW_LIMIT);
    const workflowEntries = workflows.map((wf) => ({
      kind: 'workflow' as const,
      at: wf.startTime.toISOString(),
      workflowId: wf.workflowId,
      runId: wf.runId,
      type: wf.type,
      status: wf.status.name,
      closedAt: wf.closeTime?.toISOString() ?? null,
      statusUrl: jobStatusUrl(wf.workflowId),
      webUiUrl: gateway.webUiLink(wf.workflowId, wf.runId),
    }));
    const events = (await db.selectFrom('events').selectAll().where('correlation_id', '=', correlationId).where('tenant_id', '=', tenantOf()).orderBy('created_at').limit(CORRELATION_VIEW_LIMIT).execute()).map((row) => ({
      kind: 'event' as const,
      at: row.created_at,
      ...toStoredEvent(row),
    }));
    const timeline = [...workflowEntries, ...events].sort((a, b) => a.at.localeCompare(b.at));
    res.json({
      correlationId,
      webUiQuery: `${CorrelationIdKey.name}="${correlationId}"`,
      workflows: workflows.length,
      events: events.length,
      timeline,
    });
  });

  return router;
}
