/**
 * Do high-priority jobs start first under a backlog, on the dev server Conveyor embeds (the
 * `temporal` CLI 1.9.1)? 20 jobs at priority 5, then 5 at priority 1, all queued before any worker
 * polls; then one worker starts and we record the order in which the jobs' first activity ran.
 * Measured on the dev server with Conveyor's settings (DEV_SERVER_SETTINGS) and one task-queue
 * partition, against a control run where the late jobs have the same priority. The worker takes
 * one task at a time.
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { conveyorDataConverter } from '../../platform/codec';
import { startDevServer, DEV_SERVER_SETTINGS } from '../../platform/dev-server';
import { freePort } from '../../platform/ports';
import { requireBinary, TEMPORAL_CLI } from '../../platform/temporal-binaries';
import { postJson, uniqueTag, waitFor, workflowBundle } from '../support/env';
import { startTestDeployment } from '../support/deployment';

async function measure(dynamicConfig: Record<string, string | number | boolean>, latePriority: number) {
  const server = await startDevServer({ executable: requireBinary(TEMPORAL_CLI), ip: '127.0.0.1', port: await freePort(), settings: { dynamicConfig: { ...DEV_SERVER_SETTINGS.dynamicConfig, ...dynamicConfig } } });
  const d = await startTestDeployment({ env: { TEMPORAL_ADDRESS: server.address, WELCOME_FOLLOW_UP_DELAY: '1h' } });
  try {
    const order: string[] = [];
    const submit = async (priority: number, late: boolean) => {
      const userId = uniqueTag(late ? 'late' : 'early');
      const res = await postJson(`${d.url}/v1/welcome-emails?priority=${priority}`, { userId, email: `${userId}@example.com`, name: 'Pat' });
      expect(res.status).toBe(202);
    };
    for (let i = 0; i < 20; i++) await submit(5, false);
    for (let i = 0; i < 5; i++) await submit(latePriority, true);
    // One workflow task and one activity at a time, one poller each: the worker takes tasks in the order the server hands them out.
    const connection = await NativeConnection.connect({ address: server.address });
    const worker = await Worker.create({
      connection,
      taskQueue: d.config.temporal.taskQueue,
      workflowBundle: workflowBundle(),
      dataConverter: conveyorDataConverter(d.config.temporal.codec), // the jobs' inputs are encrypted
      activities: {
        sendEmail: async (request: { idempotencyKey: string }) => {
          order.push(request.idempotencyKey.startsWith('welcome-email:late-') ? 'late' : 'early');
          return { messageId: 'm', sentNow: true };
        },
      },
      maxConcurrentWorkflowTaskExecutions: 2,
      maxConcurrentActivityTaskExecutions: 1,
      workflowTaskPollerBehavior: { type: 'simple-maximum', maximum: 2 },
      activityTaskPollerBehavior: { type: 'simple-maximum', maximum: 1 },
    });
    const running = worker.run();
    d.onStop(async () => {
      worker.shutdown();
      await running;
      await connection.close();
    });
    await waitFor('all 25 jobs to start', async () => (order.length >= 25 ? true : undefined));
    // Positions (0-based) of the five high-priority jobs among the 25 starts.
    return order.flatMap((p, i) => (p === 'late' ? [i] : []));
  } finally {
    await d.stop();
    await server.stop();
  }
}

test('priority under a backlog: high-priority jobs queued last start among the first', async () => {
  // Control: the five jobs queued last have the same priority as the rest, so they start last.
  // One partition: a task queue has 4 by default, each ordered on its own and polled in turn, so
  // across partitions even equal-priority tasks start in a mixed order (measured: the control's
  // late jobs then start anywhere, mean ~8-20 in repeated runs); one partition isolates priority.
  const onePartition = { 'matching.numTaskqueueReadPartitions': 1, 'matching.numTaskqueueWritePartitions': 1 };
  const control = await measure(onePartition, 5);
  const prioritised = await measure(onePartition, 1);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(
    `start positions (0 = first of 25) of the 5 jobs queued last: same priority ${JSON.stringify(control)} (mean ${mean(control)}); ` +
      `priority 1 ${JSON.stringify(prioritised)} (mean ${mean(prioritised)})`,
  );
  expect(control).toEqual([20, 21, 22, 23, 24]); // first in, first out
  expect(prioritised).toEqual([0, 1, 2, 3, 4]); // queued last, started first
}, 180_000);
