import { Router, type RequestHandler } from 'express';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Config } from '../platform/config';
import { webUiLink } from '../platform/temporal';
import {
  CorrelationIdKey,
  unsubscribeSignal,
  welcomeEmailWorkflowId,
  type WelcomeEmailInput,
} from '../workflows/definitions';
import type { welcomeEmail } from '../workflows/welcome-email';
import { jobStatusUrl, readJob } from './jobs';
import { HttpProblem, parseOrThrow } from './problem';
import { userPath, welcomeEmailRequest } from './schemas';

/**
 * The task-queue pattern: validate, enqueue the welcome-email workflow, answer 202 at once.
 * The worker does the slow part (SMTP) off the request path.
 */
export function welcomeEmailsRouter(client: Client, config: Config, requireJson: RequestHandler): Router {
  const { temporal } = config;
  const router = Router();
  const withDeadline = <T>(fn: () => Promise<T>) => client.withDeadline(Date.now() + temporal.rpcTimeoutMs, fn);

  router.post('/v1/welcome-emails', requireJson, async (req, res) => {
    const body = parseOrThrow(welcomeEmailRequest, req.body, 'body');
    const correlationId: string = res.locals.correlationId;
    const jobId = welcomeEmailWorkflowId(body.userId);
    const input: WelcomeEmailInput = { ...body, followUpDelayMs: config.welcomeFollowUpDelayMs };
    try {
      const handle = await withDeadline(() =>
        client.workflow.start<typeof welcomeEmail>('welcomeEmail', {
          taskQueue: temporal.taskQueue,
          workflowId: jobId,
          args: [input],
          // One welcome per user, ever: while a run is open a repeat POST joins it; once it has
          // closed, the server refuses a new run with this ID (answered below).
          workflowIdConflictPolicy: 'USE_EXISTING',
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          typedSearchAttributes: [{ key: CorrelationIdKey, value: correlationId }],
          staticSummary: `Welcome email for user ${body.userId}`,
          staticDetails:
            'Sends the welcome email at once, then waits and sends a getting-started follow-up, ' +
            'unless the user unsubscribes first (signal `unsubscribe`).',
        }),
      );
      res
        .status(202)
        .location(jobStatusUrl(jobId))
        .json({
          jobId,
          status: 'RUNNING',
          statusUrl: jobStatusUrl(jobId),
          correlationId,
          webUiUrl: webUiLink(temporal, jobId, handle.firstExecutionRunId) ?? null,
        });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      // The user's welcome job already ran to the end. 200, not 202: nothing new was accepted;
      // the body is that finished job, so a client retrying a lost response still learns the outcome.
      const job = await readJob(client, temporal, jobId);
      res.status(200).location(job.statusUrl).json(job);
    }
  });

  router.post('/v1/welcome-emails/:userId/unsubscribe', async (req, res) => {
    const { userId } = parseOrThrow(userPath, req.params, 'path');
    const jobId = welcomeEmailWorkflowId(userId);
    try {
      await withDeadline(() => client.workflow.getHandle(jobId).signal(unsubscribeSignal));
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      // Not running: either it never existed (404) or it has finished (409, with its status).
      const job = await readJob(client, temporal, jobId);
      throw new HttpProblem(409, 'job-closed', 'The welcome job has already finished', `Job '${jobId}' is ${job.status}; there is no follow-up left to stop.`, {
        statusUrl: job.statusUrl,
      });
    }
    res.status(202).location(jobStatusUrl(jobId)).json({ jobId, statusUrl: jobStatusUrl(jobId) });
  });

  return router;
}
