/**
 * Managing jobs as a queue user expects: list them (the failed-job view included), retry a failed
 * one, cancel a running one, retry the failed jobs that match a filter. All of it reads Temporal
 * (visibility and history) through the gateway; only the registry's job types are jobs.
 */
import { createHash } from 'node:crypto';
import { Router } from 'express';
import { isGrpcServiceError } from '@temporalio/client';
import { z } from 'zod';
import { correlationId } from '../platform/schemas';
import type { TemporalGateway } from '../platform/temporal';
import { JOB_STATUSES, RETRYABLE_STATUSES, type JobFilter, type JobSummary } from '../platform/temporal-jobs';
import type { JobDeclaration } from '../workflows/declaration';
import { requireScope } from './auth';
import { jsonIfAny, requireJson } from './hygiene';
import { jobIdPath, jobStatusUrl } from './jobs';
import { HttpProblem, parseOrThrow } from './problem';

/** The most jobs one page (or one bulk retry) covers. */
export const MAX_PAGE_SIZE = 100;
/** Closed runs whose failure is read at the same time (one history page each). */
const FAILURE_READS = 10;

const timestamp = z.iso.datetime({ offset: true });
const nextToken = z.string().max(4096).regex(/^[A-Za-z0-9_-]+$/, 'must be the `next` value of a previous page');

/** The filter both the list and the bulk retry take. */
const filterFields = (jobNames: [string, ...string[]]) => ({
  type: z.enum(jobNames).optional().meta({ description: 'A job type (the registry name, e.g. `order`).' }),
  correlationId: correlationId.optional(),
  startedAfter: timestamp.optional().meta({ description: 'Jobs started at or after this time (RFC 3339).' }),
  startedBefore: timestamp.optional().meta({ description: 'Jobs started before this time (RFC 3339).' }),
});

export const listJobsQuery = (jobNames: [string, ...string[]]) =>
  z.strictObject({
    ...filterFields(jobNames),
    status: z.enum(JOB_STATUSES).optional(),
    pageSize: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(20).meta({ description: `Jobs per page, 1-${MAX_PAGE_SIZE}.` }),
    next: nextToken.optional().meta({ description: 'The cursor from the previous page.' }),
  });

export const bulkRetryBody = (jobNames: [string, ...string[]]) =>
  z.strictObject({
    ...filterFields(jobNames),
    status: z.enum(RETRYABLE_STATUSES as ['FAILED', 'TIMED_OUT', 'TERMINATED']).default('FAILED'),
    limit: z.number().int().min(1).max(MAX_PAGE_SIZE).default(20).meta({ description: `How many matching runs this request looks at, 1-${MAX_PAGE_SIZE}.` }),
    next: nextToken.optional().meta({ description: 'Continue after the runs a previous bulk retry looked at.' }),
  });

/**
 * The cursor: Temporal's nextPageToken, bound to the query it belongs to (a token replayed with
 * another filter is refused as 400 instead of reaching the server), base64url-encoded.
 */
const queryTag = (query: string) => createHash('sha256').update(query).digest().subarray(0, 8);
export const encodeCursor = (query: string, token: Uint8Array | null) => (token ? Buffer.concat([queryTag(query), token]).toString('base64url') : null);
export function decodeCursor(query: string, cursor: string | undefined): Uint8Array | undefined {
  if (cursor === undefined) return undefined;
  const raw = Buffer.from(cursor, 'base64url');
  if (raw.length <= 8 || !raw.subarray(0, 8).equals(queryTag(query))) throw badCursorProblem();
  return raw.subarray(8);
}
export const badCursorProblem = () =>
  new HttpProblem(400, 'validation-error', 'The request is not valid', 'next: not a cursor of this listing (use the `next` of the previous page, with the same filters)', {
    errors: [{ pointer: 'next', detail: 'not a cursor of this listing' }],
  });

/** Run `fn` over `items`, `limit` at a time. */
async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += limit) out.push(...(await Promise.all(items.slice(i, i + limit).map(fn))));
  return out;
}

const notFound = (jobId: string) => new HttpProblem(404, 'job-not-found', 'No such job', `There is no job '${jobId}'.`);

export function jobManagementRouter(gateway: TemporalGateway, jobs: JobDeclaration[]): Router {
  const router = Router();
  const names = jobs.map((j) => j.name) as [string, ...string[]];
  const byName = new Map(jobs.map((j) => [j.name, j]));
  const nameOfType = new Map(jobs.map((j) => [j.workflowType, j.name]));
  const listQuery = listJobsQuery(names);
  const retryBody = bulkRetryBody(names);

  const filterOf = (q: { type?: string; correlationId?: string; startedAfter?: string; startedBefore?: string; status?: (typeof JOB_STATUSES)[number] }): JobFilter => ({
    workflowTypes: q.type ? [byName.get(q.type)!.workflowType] : jobs.map((j) => j.workflowType),
    status: q.status,
    correlationId: q.correlationId,
    startedAfter: q.startedAfter ? new Date(q.startedAfter) : undefined,
    startedBefore: q.startedBefore ? new Date(q.startedBefore) : undefined,
  });

  /** One page of the listing; a token the server does not take (expired, forged) is the client's 400. */
  async function page(filter: JobFilter, pageSize: number, cursor: string | undefined) {
    const query = `${pageSize}\n${JSON.stringify(filter)}`;
    try {
      const listed = await gateway.listJobs(filter, pageSize, decodeCursor(query, cursor));
      return { jobs: listed.jobs, next: encodeCursor(query, listed.nextPageToken) };
    } catch (err) {
      if (cursor !== undefined && isGrpcServiceError(err) && err.code === 3) throw badCursorProblem();
      throw err;
    }
  }

  const view = (job: JobSummary) => ({ ...job, type: nameOfType.get(job.type) ?? job.type, statusUrl: jobStatusUrl(job.jobId) });

  /** A job of a registered type, or 404 (internal workflows of tests and benchmarks are not jobs). */
  async function registeredJob(jobId: string) {
    const job = await gateway.describeJob(jobId);
    if (!job || !nameOfType.has(job.type)) throw notFound(jobId);
    return job;
  }

  router.get('/v1/jobs', requireScope('jobs:read'), async (req, res) => {
    const q = parseOrThrow(listQuery, req.query, 'query');
    const { jobs: listed, next } = await page(filterOf(q), q.pageSize, q.next);
    // The dead-letter view: each job that ended without finishing says why, and how often its failing step was tried.
    const failures = await mapLimited(listed, FAILURE_READS, (job) =>
      RETRYABLE_STATUSES.includes(job.status as (typeof RETRYABLE_STATUSES)[number]) ? gateway.failureOf(job.jobId, job.runId) : Promise.resolve(undefined),
    );
    res.json({ jobs: listed.map((job, i) => ({ ...view(job), ...(failures[i] !== undefined ? { failure: failures[i] } : {}) })), next });
  });

  router.post('/v1/jobs/:jobId/retry', requireScope('operate'), jsonIfAny, async (req, res) => {
    const job = await registeredJob(parseOrThrow(jobIdPath, req.params, 'path').jobId);
    const { jobId } = job;
    const statusUrl = jobStatusUrl(jobId);
    if (!RETRYABLE_STATUSES.includes(job.status as (typeof RETRYABLE_STATUSES)[number])) {
      throw new HttpProblem(409, 'job-not-retryable', 'Only a failed, timed-out or terminated job can be retried', `Job '${jobId}' is ${job.status}.`, { jobStatus: job.status, statusUrl });
    }
    const retried = await gateway.retryJob(jobId, job.runId);
    if (retried === 'not-retryable') {
      throw new HttpProblem(409, 'job-not-retryable', 'The job was retried or changed meanwhile', `Job '${jobId}' has a newer run; read its status.`, { statusUrl });
    }
    res.status(202).location(statusUrl).json({ jobId, runId: retried.runId, retryOf: job.runId, status: 'RUNNING', statusUrl });
  });

  router.post('/v1/jobs/:jobId/cancel', requireScope('operate'), jsonIfAny, async (req, res) => {
    const job = await registeredJob(parseOrThrow(jobIdPath, req.params, 'path').jobId);
    const { jobId } = job;
    const statusUrl = jobStatusUrl(jobId);
    if (job.status !== 'RUNNING') {
      throw new HttpProblem(409, 'job-closed', 'The job has already ended', `Job '${jobId}' is ${job.status}; there is nothing to cancel.`, { statusUrl });
    }
    await gateway.cancelJob(jobId);
    res.status(202).location(statusUrl).json({ jobId, cancel: 'requested', statusUrl });
  });

  /**
   * Retry the failed jobs that match a filter: one bounded page per request (`limit` ≤ 100, then
   * `next`), so no request can fan out without bound. Idempotent: a run is retried only while it is
   * still its job's latest run, so repeating the request (or racing it) retries nothing twice; with
   * an Idempotency-Key the first answer is replayed.
   */
  router.post('/v1/jobs/retries', requireScope('operate'), requireJson, async (req, res) => {
    const body = parseOrThrow(retryBody, req.body, 'body');
    const { jobs: listed, next } = await page(filterOf(body), body.limit, body.next);
    const outcomes = await mapLimited(listed, FAILURE_READS, async (run) => {
      const latest = await gateway.describeJob(run.jobId);
      if (!latest || latest.runId !== run.runId) return { jobId: run.jobId, outcome: 'skipped', reason: 'already retried (it has a newer run)' };
      const retried = await gateway.retryJob(run.jobId, run.runId);
      return retried === 'not-retryable'
        ? { jobId: run.jobId, outcome: 'skipped', reason: 'retried meanwhile' }
        : { jobId: run.jobId, outcome: 'retried', runId: retried.runId, statusUrl: jobStatusUrl(run.jobId) };
    });
    res.json({
      retried: outcomes.filter((o) => o.outcome === 'retried').length,
      skipped: outcomes.filter((o) => o.outcome === 'skipped').length,
      jobs: outcomes,
      next,
    });
  });

  return router;
}
