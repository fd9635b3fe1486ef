import type { Response } from 'express';
import { Router } from 'express';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Config } from '../platform/config';
import { jobsAccepted } from '../platform/metrics';
import { startOnce, webUiLink, withinRpcTimeout, type BusinessWorkflowStart } from '../platform/temporal';
import { CorrelationIdKey, progressQuery } from '../workflows/definitions';
import { HttpProblem } from './problem';

/** How long a status read waits for a worker to answer the progress query. */
const PROGRESS_QUERY_TIMEOUT_MS = 1_000;

export const jobStatusUrl = (jobId: string) => `/v1/jobs/${encodeURIComponent(jobId)}`;

export interface JobView {
  jobId: string;
  type: string;
  status: string;
  /** What the workflow is doing now; null once closed, or when no worker answered in time. */
  step: string | null;
  result: unknown;
  failure: { message: string } | null;
  correlationId: string | null;
  startedAt: string;
  closedAt: string | null;
  statusUrl: string;
  webUiUrl: string | null;
}

/** A job is a workflow execution; its ID is the workflow ID. Throws 404 for an unknown job. */
export async function readJob(client: Client, temporal: Config['temporal'], jobId: string): Promise<JobView> {
  const handle = client.workflow.getHandle(jobId);
  const description = await withinRpcTimeout(client, temporal, () => handle.describe())
    .catch((err: unknown) => {
      if (err instanceof WorkflowNotFoundError) throw new HttpProblem(404, 'job-not-found', 'No such job', `There is no job '${jobId}'.`);
      throw err;
    });
  const status = description.status.name;
  let step: string | null = null;
  let result: unknown = null;
  let failure: JobView['failure'] = null;
  if (status === 'RUNNING') {
    step = await client
      .withDeadline(Date.now() + PROGRESS_QUERY_TIMEOUT_MS, () => handle.query(progressQuery))
      .then((p) => p.step)
      .catch(() => null); // no worker polling right now: the job waits, its step is unknown
  } else {
    try {
      result = await withinRpcTimeout(client, temporal, () => handle.result());
    } catch (err) {
      const cause = (err as { cause?: Error }).cause;
      failure = { message: cause?.message || (err as Error).message };
    }
  }
  return {
    jobId,
    type: description.type,
    status,
    step,
    result,
    failure,
    correlationId: description.typedSearchAttributes.get(CorrelationIdKey) ?? null,
    startedAt: description.startTime.toISOString(),
    closedAt: description.closeTime?.toISOString() ?? null,
    statusUrl: jobStatusUrl(jobId),
    webUiUrl: webUiLink(temporal, jobId, description.runId) ?? null,
  };
}

/**
 * Enqueue a job and answer 202 + Location. If the job already ran to the end, answer 200 with
 * the finished job: nothing new was accepted, and a client retrying a lost response still learns
 * the outcome.
 */
export async function startJob(
  client: Client,
  temporal: Config['temporal'],
  res: Response,
  job: Omit<BusinessWorkflowStart, 'correlationId'> & { /** Where Location points; the generic job status by default. */ statusUrl?: string },
): Promise<void> {
  const correlationId: string = res.locals.correlationId;
  const statusUrl = job.statusUrl ?? jobStatusUrl(job.workflowId);
  const started = await startOnce(client, temporal, { ...job, correlationId });
  if (started === 'already-closed') {
    const finished = await readJob(client, temporal, job.workflowId);
    res.status(200).location(statusUrl).json(finished);
    return;
  }
  jobsAccepted.inc({ workflow_type: job.workflowType });
  res
    .status(202)
    .location(statusUrl)
    .json({
      jobId: job.workflowId,
      status: 'RUNNING',
      statusUrl,
      correlationId,
      webUiUrl: webUiLink(temporal, job.workflowId, started.runId) ?? null,
    });
}

/**
 * Signal or update a running job. When it is not running, the answer names why: 404 when it never
 * existed, or the problem `closed` builds from the finished job (typically a 409).
 */
export async function withOpenJob<T>(
  client: Client,
  temporal: Config['temporal'],
  jobId: string,
  call: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<T>,
  closed: (job: JobView) => HttpProblem,
): Promise<T> {
  try {
    return await withinRpcTimeout(client, temporal, () => call(client.workflow.getHandle(jobId)));
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    throw closed(await readJob(client, temporal, jobId));
  }
}

export function jobsRouter(client: Client, temporal: Config['temporal']): Router {
  const router = Router();
  router.get('/v1/jobs/:jobId', async (req, res) => {
    res.json(await readJob(client, temporal, req.params.jobId));
  });
  return router;
}
