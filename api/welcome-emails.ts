import { Router, type RequestHandler } from 'express';
import type { Client } from '@temporalio/client';
import type { Config } from '../platform/config';
import {
  unsubscribeSignal,
  welcomeEmailWorkflowId,
  welcomeEmailJob,
} from '../workflows/definitions';
import { jobStatusUrl, startJob, withOpenJob } from './jobs';
import { HttpProblem, parseOrThrow } from './problem';
import { userPath, welcomeEmailRequest } from './schemas';

/**
 * The task-queue pattern: validate, enqueue the welcome-email workflow, answer 202 at once.
 * The worker does the slow part (SMTP) off the request path.
 */
export function welcomeEmailsRouter(client: Client, config: Config, requireJson: RequestHandler): Router {
  const { temporal } = config;
  const router = Router();

  router.post('/v1/welcome-emails', requireJson, async (req, res) => {
    const body = parseOrThrow(welcomeEmailRequest, req.body, 'body');
    // One welcome per user, ever: the job ID is the user's.
    await startJob(client, temporal, res, welcomeEmailJob({ ...body, followUpDelayMs: config.welcomeFollowUpDelayMs }));
  });

  router.post('/v1/welcome-emails/:userId/unsubscribe', async (req, res) => {
    const { userId } = parseOrThrow(userPath, req.params, 'path');
    const jobId = welcomeEmailWorkflowId(userId);
    await withOpenJob(client, temporal, jobId, (handle) => handle.signal(unsubscribeSignal), (job) =>
      new HttpProblem(409, 'job-closed', 'The welcome job has already finished', `Job '${jobId}' is ${job.status}; there is no follow-up left to stop.`, {
        statusUrl: job.statusUrl,
      }),
    );
    res.status(202).location(jobStatusUrl(jobId)).json({ jobId, statusUrl: jobStatusUrl(jobId) });
  });

  return router;
}
