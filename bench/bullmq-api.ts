/**
 * The peer a user might pick instead of Conveyor: the same POST /v1/welcome-emails, validated
 * with Conveyor's own schema, enqueued as a BullMQ job on Redis and answered 202. The job ID is
 * derived from the user ID, so BullMQ deduplicates a repeat POST while the job is kept, the way
 * the welcome workflow's ID does.
 */
import type { Server } from 'node:http';
import express from 'express';
import { Queue } from 'bullmq';
import { welcomeEmailWorkflowId } from '../workflows/welcome-email/definition';
import { newUser } from '../workflows/welcome-email/job';

export interface WelcomeJob {
  userId: string;
  email: string;
  name: string;
}

process.on('disconnect', () => process.exit(1));

async function main() {
  const queue = new Queue<WelcomeJob>('welcome-emails', {
    connection: { host: '127.0.0.1', port: Number(process.env.BENCH_REDIS_PORT), maxRetriesPerRequest: null },
    // Retries like the Temporal activity's (1 s, doubling), a bounded number of times as BullMQ requires.
    defaultJobOptions: { attempts: 10, backoff: { type: 'exponential', delay: 1_000 } },
  });
  await queue.waitUntilReady();
  const app = express();
  app.use(express.json({ limit: '16kb', strict: true }));
  app.post('/v1/welcome-emails', async (req, res) => {
    const parsed = newUser.safeParse(req.body);
    if (!parsed.success) {
      res.status(422).json({ errors: parsed.error.issues });
      return;
    }
    // BullMQ job IDs may not contain ':', so '/' (which a user ID cannot hold) stands in for it.
    const jobId = welcomeEmailWorkflowId(parsed.data.userId).replace(':', '/');
    try {
      await queue.add('welcome-email', parsed.data, { jobId });
      res.status(202).json({ jobId });
    } catch (err) {
      res.status(503).json({ detail: (err as Error).message });
    }
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(Number(process.env.PORT), '127.0.0.1', () => resolve(s));
  });
  process.send?.({ type: 'ready' });
  process.on('SIGTERM', () => {
    server.close();
    server.closeIdleConnections();
    void queue.close().then(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`bench BullMQ API failed: ${(err as Error)?.stack ?? err}\n`);
  process.exit(1);
});
