/**
 * Schedules over HTTP, on Temporal Schedules (through the gateway): a registered job type started
 * by cron or at an interval, with the input its own submit route validates. Schedule IDs are the
 * client's business keys: creating one twice is 409, never a second schedule.
 */
import { createHash } from 'node:crypto';
import { Router } from 'express';
import type { ScheduleDescription } from '@temporalio/client';
import { z } from 'zod';
import type { Config } from '../platform/config';
import { businessId, text } from '../platform/schemas';
import type { TemporalGateway } from '../platform/temporal';
import { grpcCause } from '../platform/temporal-jobs';
import type { JobDeclaration } from '../workflows/declaration';
import { requireScope } from './auth';
import { jsonIfAny, requireJson } from './hygiene';
import { badCursorProblem, decodeCursor, encodeCursor } from './job-management';
import { HttpProblem, parseOrThrow, type InvalidParam } from './problem';
import { MAX_START_DELAY_MS, millisOf } from './start-options';

export const OVERLAP_POLICIES = ['SKIP', 'BUFFER_ONE', 'BUFFER_ALL', 'CANCEL_OTHER', 'TERMINATE_OTHER', 'ALLOW_ALL'] as const;
const MAX_SCHEDULES_PAGE = 100;

/** A cron field: digits, names, `*`, ranges, steps, lists (and Temporal's `?` `L` `W` `#`); the server parses the rest. */
const CRON_FIELD = /^[0-9A-Za-z*?/,#-]+$/;
const CRON_MACRO = /^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$/;
const cron = z
  .string()
  .max(120)
  .refine((s) => CRON_MACRO.test(s.trim()) || ((n) => n.length >= 5 && n.length <= 7 && n.every((f) => CRON_FIELD.test(f)))(s.trim().split(/\s+/)), {
    message: "must be a cron expression of 5 fields (minute hour day-of-month month day-of-week, e.g. '0 9 * * MON-FRI') or a macro such as '@daily'",
  });
const interval = z
  .string()
  .max(32)
  .refine((s) => {
    const millis = millisOf(s);
    return millis !== undefined && millis >= 1000 && millis <= MAX_START_DELAY_MS;
  }, "must be a duration from 1s to 366d, such as '15m' or '1h'");

export const scheduleIdPath = z.object({ scheduleId: businessId });

export const createScheduleBody = (jobNames: [string, ...string[]]) =>
  z
    .strictObject({
      scheduleId: businessId.meta({ description: 'Your business key for this schedule.' }),
      jobType: z.enum(jobNames).meta({ description: 'A job type that has a submit route.' }),
      params: z.record(z.string(), z.string()).optional().meta({ description: "The job submit route's path parameters, if it has any (e.g. `{ \"sku\": \"widget\" }` for restock)." }),
      input: z.unknown().meta({ description: "The job's submit body, validated by that job's own schema." }),
      cron: cron.optional(),
      interval: interval.optional(),
      overlap: z.enum(OVERLAP_POLICIES).default('SKIP').meta({ description: 'What happens when a run is due while the previous one still runs.' }),
      paused: z.boolean().default(false),
      note: text(200).optional(),
    })
    .superRefine((b, ctx) => {
      if ((b.cron === undefined) === (b.interval === undefined)) ctx.addIssue({ code: 'custom', path: ['cron'], message: 'give exactly one of cron or interval' });
    });

export const pauseBody = z.strictObject({ note: text(200).optional() });

/** Validate a nested value with its own schema, naming fields under `prefix` (e.g. /input/email). */
function parseNested<S extends z.ZodType>(schema: S, value: unknown, prefix: string): z.output<S> {
  try {
    return parseOrThrow(schema, value, 'body');
  } catch (err) {
    if (!(err instanceof HttpProblem)) throw err;
    const errors = ((err.extra.errors as InvalidParam[]) ?? []).map((e) => ({ ...e, pointer: `${prefix}${e.pointer === '/' ? '' : e.pointer}` }));
    throw new HttpProblem(422, 'validation-error', 'The request is not valid', errors.map((e) => `${e.pointer}: ${e.detail}`).join('; '), { errors });
  }
}

const notFound = (scheduleId: string) => new HttpProblem(404, 'schedule-not-found', 'No such schedule', `There is no schedule '${scheduleId}'.`);
export const scheduleUrl = (scheduleId: string) => `/v1/schedules/${encodeURIComponent(scheduleId)}`;

function scheduleView(scheduleId: string, d: ScheduleDescription) {
  const memo = (d.memo ?? {}) as { jobType?: string; cron?: string; interval?: string };
  return {
    scheduleId,
    jobType: memo.jobType ?? null,
    cron: memo.cron ?? null,
    interval: memo.interval ?? null,
    overlap: d.policies.overlap,
    paused: d.state.paused,
    note: d.state.note ?? null,
    actionsTaken: d.info.numActionsTaken,
    nextRuns: d.info.nextActionTimes.slice(0, 5).map((t) => t.toISOString()),
    recentRuns: d.info.recentActions.map((a) => ({
      scheduledAt: a.scheduledAt.toISOString(),
      takenAt: a.takenAt.toISOString(),
      jobId: a.action.workflow.workflowId,
      statusUrl: `/v1/jobs/${encodeURIComponent(a.action.workflow.workflowId)}`,
    })),
    runningJobs: d.info.runningActions.map((a) => a.workflow.workflowId),
    url: scheduleUrl(scheduleId),
  };
}

export function schedulesRouter(gateway: TemporalGateway, jobs: JobDeclaration[], config: Config): Router {
  const router = Router();
  const submittable = jobs.filter((j) => j.submit);
  const byName = new Map(submittable.map((j) => [j.name, j]));
  const createBody = createScheduleBody(submittable.map((j) => j.name) as [string, ...string[]]);

  router.post('/v1/schedules', requireScope('operate'), requireJson, async (req, res) => {
    const body = parseOrThrow(createBody, req.body, 'body');
    const job = byName.get(body.jobType)!;
    const submit = job.submit!;
    const params = submit.params ? parseNested(submit.params, body.params ?? {}, '/params') : {};
    const input = submit.toInput({
      params,
      body: parseNested(submit.body, body.input, '/input'),
      // One operation ID per schedule: every run's job ID is this schedule's, plus the run's time (Temporal appends it).
      operationId: createHash('sha256').update(`schedule:${body.scheduleId}`).digest('hex').slice(0, 32),
      config,
    });
    const created = await gateway.schedules.create({
        scheduleId: body.scheduleId,
        start: job.start(input),
        spec: body.cron !== undefined ? { cron: body.cron.trim() } : { intervalMs: millisOf(body.interval!)! },
        overlap: body.overlap,
        paused: body.paused,
        note: body.note,
        memo: { jobType: job.name, ...(body.cron !== undefined ? { cron: body.cron.trim() } : { interval: body.interval }) },
      });
    if (typeof created === 'object') {
      // The server parses the cron string; what it refuses (e.g. minute 61) is the client's field.
      const pointer = body.cron !== undefined ? '/cron' : '/interval';
      throw new HttpProblem(422, 'validation-error', 'The request is not valid', `${pointer}: ${created.invalidSpec}`, { errors: [{ pointer, detail: created.invalidSpec }] });
    }
    if (created === 'exists') {
      throw new HttpProblem(409, 'schedule-exists', 'A schedule with this ID exists', `Schedule '${body.scheduleId}' already exists; delete it first to replace it.`, {
        url: scheduleUrl(body.scheduleId),
      });
    }
    const described = await gateway.schedules.describe(body.scheduleId);
    res.status(201).location(scheduleUrl(body.scheduleId)).json(described ? scheduleView(body.scheduleId, described) : { scheduleId: body.scheduleId, url: scheduleUrl(body.scheduleId) });
  });

  router.get('/v1/schedules', requireScope('jobs:read'), async (req, res) => {
    const q = parseOrThrow(
      z.strictObject({
        pageSize: z.coerce.number().int().min(1).max(MAX_SCHEDULES_PAGE).default(20),
        next: z.string().max(4096).regex(/^[A-Za-z0-9_-]+$/).optional(),
      }),
      req.query,
      'query',
    );
    // The cursor is bound to its listing, so a forged one is refused here, never parsed by the server.
    const listing = `schedules\n${q.pageSize}`;
    const listed = await gateway.schedules.list(q.pageSize, decodeCursor(listing, q.next)).catch((err: unknown) => {
      if (q.next && grpcCause(err)?.code === 3) throw badCursorProblem();
      throw err;
    });
    res.json({
      schedules: listed.schedules.map((s) => ({ ...s, url: scheduleUrl(s.scheduleId) })),
      next: encodeCursor(listing, listed.nextPageToken),
    });
  });

  router.get('/v1/schedules/:scheduleId', requireScope('jobs:read'), async (req, res) => {
    const { scheduleId } = parseOrThrow(scheduleIdPath, req.params, 'path');
    const described = await gateway.schedules.describe(scheduleId);
    if (!described) throw notFound(scheduleId);
    res.json(scheduleView(scheduleId, described));
  });

  for (const action of ['pause', 'unpause', 'trigger'] as const) {
    router.post(`/v1/schedules/:scheduleId/${action}`, requireScope('operate'), jsonIfAny, async (req, res) => {
      const { scheduleId } = parseOrThrow(scheduleIdPath, req.params, 'path');
      const { note } = parseOrThrow(pauseBody, req.body ?? {}, 'body');
      if ((await gateway.schedules.act(scheduleId, action, note)) === 'not-found') throw notFound(scheduleId);
      res.status(202).location(scheduleUrl(scheduleId)).json({ scheduleId, [action]: 'accepted', url: scheduleUrl(scheduleId) });
    });
  }

  router.delete('/v1/schedules/:scheduleId', requireScope('operate'), async (req, res) => {
    const { scheduleId } = parseOrThrow(scheduleIdPath, req.params, 'path');
    if ((await gateway.schedules.act(scheduleId, 'delete')) === 'not-found') throw notFound(scheduleId);
    res.status(204).end();
  });

  return router;
}
