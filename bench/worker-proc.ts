/**
 * One worker process for the benchmark, so the harness can measure its CPU and RSS and SIGKILL it.
 * BENCH_WORKER_MODE picks what it runs:
 *   conveyor  Conveyor's own createWorker() on a pre-built bundle of workflows/ (a restart
 *             after SIGKILL must not spend seconds re-bundling);
 *   floor     the bench-only floor workflow with a no-op activity that reports to the harness;
 *   bullmq    the welcome email as a BullMQ job, with Conveyor's own idempotent sendEmail.
 * Everything else comes from the environment, as for `npm run worker`.
 */
import { Worker as BullWorker } from 'bullmq';
import nodemailer from 'nodemailer';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createEmailActivities } from '../activities/email';
import { openDatabase } from '../db/database';
import { loadConfig } from '../platform/config';
import { createWorker, installTemporalRuntime, pooledSmtpUrl } from '../worker/worker';
import { welcomeEmailWorkflowId } from '../workflows/welcome-email/definition';
import type { WelcomeJob } from './bullmq-api';
import type { FloorActivities } from './workflows/floor';

const send = (message: object) => process.send?.(message);
// The harness died (even by SIGKILL): do not outlive it.
process.on('disconnect', () => process.exit(1));

async function main() {
  const mode = process.env.BENCH_WORKER_MODE;
  const config = loadConfig(process.env);
  installTemporalRuntime();
  let stop: () => Promise<void>;

  if (mode === 'conveyor') {
    const db = await openDatabase(config.database);
    const worker = await createWorker({ config, db }); // WORKFLOW_BUNDLE_PATH: the prebuilt Conveyor bundle
    const running = worker.run();
    send({ type: 'ready', maxCachedWorkflows: worker.worker.options.maxCachedWorkflows });
    stop = async () => {
      worker.worker.shutdown();
      await running;
      await worker.close();
      await db.destroy();
    };
    running.catch(fail);
  } else if (mode === 'floor') {
    const connection = await NativeConnection.connect({ address: config.temporal.address });
    const activities: FloorActivities = {
      async noop(id) {
        send({ type: 'done', id, at: performance.timeOrigin + performance.now() });
      },
    };
    const worker = await Worker.create({
      connection,
      taskQueue: config.temporal.taskQueue,
      workflowBundle: { codePath: required('BENCH_BUNDLE') },
      activities,
    });
    const running = worker.run();
    send({ type: 'ready', maxCachedWorkflows: worker.options.maxCachedWorkflows });
    stop = async () => {
      worker.shutdown();
      await running;
      await connection.close();
    };
    running.catch(fail);
  } else if (mode === 'bullmq') {
    const db = await openDatabase(config.database);
    // Pooled SMTP connections, as Conveyor's worker has them: the same sink, the same cost per email.
    const mailer = nodemailer.createTransport(pooledSmtpUrl(config.mail.smtpUrl));
    const { sendEmail } = createEmailActivities({ db, mailer, from: config.mail.from });
    const worker = new BullWorker<WelcomeJob>(
      'welcome-emails',
      async (job) => {
        // The very key Conveyor's workflow uses, in the same sent_emails table.
        await sendEmail({ idempotencyKey: `${welcomeEmailWorkflowId(job.data.userId)}/welcome`, to: job.data.email, template: 'welcome', name: job.data.name });
      },
      {
        connection: { host: '127.0.0.1', port: Number(required('BENCH_REDIS_PORT')), maxRetriesPerRequest: null },
        // BullMQ's default is 1 job at a time; Temporal's worker runs up to 100 activities at once.
        concurrency: Number(process.env.BENCH_BULLMQ_CONCURRENCY ?? 50),
      },
    );
    worker.on('error', () => undefined); // connection errors are retried by ioredis
    await worker.waitUntilReady();
    send({ type: 'ready' });
    stop = async () => {
      await worker.close();
      mailer.close();
      await db.destroy();
    };
  } else {
    throw new Error(`BENCH_WORKER_MODE must be conveyor, floor or bullmq, got ${mode}`);
  }

  let stopping = false;
  process.on('SIGTERM', () => {
    if (stopping) return;
    stopping = true;
    stop().then(() => process.exit(0), fail);
  });
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is unset`);
  return value;
}

function fail(err: unknown): never {
  process.stderr.write(`bench worker failed: ${(err as Error)?.stack ?? err}\n`);
  process.exit(1);
}

main().catch(fail);
