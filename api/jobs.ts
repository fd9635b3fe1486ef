import { randomUUID } from 'node:crypto';
import { Router, type RequestHandler, type Response } from 'express';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { z } from 'zod';
import type { Config } from '../platform/config';
import { jobsAccepted } from '../platform/metrics';
import { ownJobId } from '../platform/tenant-ids';
import type { JobView, StartOptions, TemporalGateway, WorkflowStart } from '../platform/temporal';
import type { JobDeclaration, MessageRoute, ProblemSpec, StatusRoute } from '../workflows/declaration';
import { progressQuery, type Progress } from '../workflows/steps';
import { requireScope } from './auth';
import { jsonIfAny, requireJson } from './hygiene';
import { operationIdFor, type IdempotencyContext } from './idempotency';
import { HttpProblem, parseOrThrow } from './problem';
import { startOptionsFrom } from './start-options';

export const jobStatusUrl = (jobId: string) => `/v1/jobs/${encodeURIComponent(jobId)}`;

/** A job ID as the client wrote it (`order:o-1`), made internal: its business key qualified by the caller's tenant. */
export const jobIdPath = z.object({ jobId: z.string().min(1).max(300).transform(ownJobId) });

const problem = (spec: ProblemSpec, statusUrl?: string) =>
  new HttpProblem(spec.status, spec.slug, spec.title, spec.detail, { ...(statusUrl ? { statusUrl } : {}), ...spec.extra });

/** The generic view of a job (GET /v1/jobs/<id>): its step while it runs, its result or failure once closed. */
function genericView(job: JobView) {
  const { current, ...rest } = job;
  return { ...rest, step: (current as Progress | null)?.step ?? null, statusUrl: jobStatusUrl(job.jobId) };
}

async function readJobOr404(gateway: TemporalGateway, jobId: string, query = progressQuery, notFound?: ProblemSpec): Promise<JobView> {
  const job = await gateway.readJob(jobId, query);
  if (!job) throw problem(notFound ?? { status: 404, slug: 'job-not-found', title: 'No such job', detail: `There is no job '${jobId}'.` });
  return job;
}

/**
 * Enqueue a job and answer 202 + Location. If the job already ran to the end, answer 200 with
 * the finished job: nothing new was accepted, and a client retrying a lost response still learns
 * the outcome.
 */
async function startJob(gateway: TemporalGateway, res: Response, start: WorkflowStart, statusUrl: string, options: StartOptions = {}): Promise<void> {
  const correlationId: string = res.locals.correlationId;
  const started = await gateway.startOnce(start, correlationId, options);
  if (started === 'taken') {
    // Another tenant's job holds this business key; say nothing more about it.
    throw new HttpProblem(409, 'id-taken', 'This ID is taken', `The ID '${start.workflowId}' cannot be used; choose another (or leave it to the server where the route allows).`);
  }
  if (started === 'already-closed') {
    res.status(200).location(statusUrl).json(genericView(await readJobOr404(gateway, start.workflowId)));
    return;
  }
  jobsAccepted.inc({ workflow_type: start.workflowType });
  res.status(202).location(statusUrl).json({
    jobId: start.workflowId,
    status: 'RUNNING',
    statusUrl,
    correlationId,
    ...(options.startDelayMs ? { startsAt: new Date(Date.now() + options.startDelayMs).toISOString() } : {}),
    webUiUrl: gateway.webUiLink(start.workflowId, started.runId),
  });
}

/** Running: the workflow's own status query answers. Closed: its result is the final view. */
async function statusView(gateway: TemporalGateway, status: StatusRoute<unknown>, params: unknown) {
  const job = await readJobOr404(gateway, status.jobId(params), status.query, status.notFound(params));
  const view = job.status === 'RUNNING' ? job.current : job.result;
  if (job.status === 'RUNNING' && view === null && !job.startsAt) {
    throw new HttpProblem(503, 'status-unavailable', 'No worker answered for this job', 'The job is running but no worker answered its status query in time; retry shortly.', {
      retryAfterSeconds: 1,
    });
  }
  return { ...(view as object), workflowStatus: job.status, startsAt: job.startsAt, startedAt: job.startedAt, closedAt: job.closedAt, correlationId: job.correlationId, webUiUrl: job.webUiUrl };
}

/**
 * Signal or update a running job. When it is not running, the answer names why: 404 when it never
 * existed, the declaration's 409 when it has closed (or its validator refused the update).
 */
async function sendMessage(gateway: TemporalGateway, message: MessageRoute<unknown, unknown>, params: unknown, body: unknown, statusUrl: string): Promise<void> {
  const jobId = message.jobId(params);
  const sent = await gateway.sendToOpen(jobId, (handle) => message.send(handle, body)).catch((err: unknown) => {
    if (err instanceof WorkflowUpdateFailedError && message.refused) throw problem(message.refused(params, err.cause?.message ?? err.message), statusUrl);
    throw err;
  });
  if (sent === 'not-open') throw problem(message.closed(params, await readJobOr404(gateway, jobId)), statusUrl);
}

/**
 * The routes of every registered job type (workflows/registry.ts): its submit route, its own
 * status view, its messages; and GET /v1/jobs/<id> for any job.
 */
export function jobsRouter(gateway: TemporalGateway, jobs: JobDeclaration[], config: Config, { submitLimit }: { submitLimit: RequestHandler }): Router {
  const router = Router();

  for (const job of jobs) {
    const { submit, status } = job;
    if (submit) {
      router.post(submit.path, requireScope('jobs:submit'), submitLimit, requireJson, async (req, res) => {
        const params = submit.params ? parseOrThrow(submit.params, req.params, 'path') : {};
        const options = startOptionsFrom(req.query);
        const body = parseOrThrow(submit.body, req.body, 'body');
        const idempotency: IdempotencyContext | undefined = res.locals.idempotency;
        const input = submit.toInput({ params, body, operationId: idempotency ? operationIdFor(idempotency) : randomUUID(), config });
        const start = job.start(input);
        await startJob(gateway, res, start, status ? status.url(input) : jobStatusUrl(start.workflowId), options);
      });
    }
    if (status) {
      router.get(status.path, requireScope('jobs:read'), async (req, res) => {
        res.json(await statusView(gateway, status, parseOrThrow(status.params, req.params, 'path')));
      });
    }
    for (const message of job.messages ?? []) {
      router.post(message.path, requireScope(message.scope ?? 'operate'), jsonIfAny, async (req, res) => {
        const params = parseOrThrow(message.params, req.params, 'path');
        const body = message.body ? parseOrThrow(message.body, req.body ?? {}, 'body') : undefined;
        const statusUrl = message.statusUrl ? message.statusUrl(params) : jobStatusUrl(message.jobId(params));
        await sendMessage(gateway, message, params, body, statusUrl);
        res.status(202).location(statusUrl).json({ ...message.accepted(params, body), statusUrl });
      });
    }
  }

  router.get('/v1/jobs/:jobId', requireScope('jobs:read'), async (req, res) => {
    // The caller's job ID made internal (`order:o-1` → its tenant's order), as on every job route.
    const { jobId } = parseOrThrow(jobIdPath, req.params, 'path');
    res.json(genericView(await readJobOr404(gateway, jobId)));
  });
  return router;
}
