/**
 * Fan-out cost on the embedded dev server: events/s delivered to 1, 10 and 50 durable subscribers,
 * by signal (one long-running workflow per subscriber) and by child workflows (one per subscriber
 * and event); and a consumer group's throughput reading the `users` stream.
 *
 *   npm run bench:fanout [-- --quick]
 */
import '../platform/node-version'; // first: a clear error on an unsupported Node
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker } from '@temporalio/worker';
import { openDatabase } from '../db/database';
import { appendEvent, committedOffset } from '../db/events';
import { loadConfig } from '../platform/config';
import { DEFAULT_TENANT } from '../platform/tenancy';
import { startDevServer } from '../platform/dev-server';
import { freePort } from '../platform/ports';
import { createTemporalClient, createTemporalGateway } from '../platform/temporal';
import { ensureTemporalBinaries, requireBinary, TEMPORAL_CLI } from '../platform/temporal-binaries';
import { wakeConsumerGroups } from '../worker/event-delivery';
import { createWorker, workflowBundleOptions, installTemporalRuntime } from '../worker/worker';
import { bundleToFile } from './systems';
import { eventSignal, receivedQuery } from './workflows/fanout';

const quick = process.argv.includes('--quick');
const EVENTS = quick ? 20 : 100;
const STREAM_EVENTS = quick ? 300 : 3_000;
const FAN_OUTS = [1, 10, 50];
const CONCURRENCY = 8;

async function main() {
  installTemporalRuntime();
  ensureTemporalBinaries([TEMPORAL_CLI]);
  const devServer = await startDevServer({ executable: requireBinary(TEMPORAL_CLI), ip: '127.0.0.1', port: await freePort() });
  const results: Record<string, unknown>[] = [];
  try {
    const connection = await Connection.connect({ address: devServer.address });
    const taskQueue = 'bench-fanout';
    const client = createTemporalClient(loadConfig({ TEMPORAL_ADDRESS: devServer.address, TEMPORAL_TASK_QUEUE: taskQueue }).temporal, connection);
    const worker = await Worker.create({
      connection: await NativeConnection.connect({ address: devServer.address }),
      taskQueue,
      workflowBundle: await bundleWorkflowCode({ workflowsPath: require.resolve('./workflows/fanout'), logger: new DefaultLogger('WARN') }),
    });
    const running = worker.run();
    const inParallel = async (count: number, fn: (i: number) => Promise<unknown>) => {
      let next = 0;
      await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
        while (next < count) await fn(next++);
      }));
    };

    for (const subscribers of FAN_OUTS) {
      // Signals: the publisher signals each subscriber's long-running workflow.
      const tag = `s${subscribers}-${Date.now()}`;
      const ids = Array.from({ length: subscribers }, (_, i) => `${tag}-subscriber-${i}`);
      for (const id of ids) await client.workflow.start('benchSubscriber', { taskQueue, workflowId: id });
      let started = performance.now();
      await inParallel(EVENTS, async (e) => {
        for (const id of ids) await client.workflow.getHandle(id).signal(eventSignal, `${tag}-event-${e}`);
      });
      for (const id of ids) {
        while ((await client.workflow.getHandle(id).query(receivedQuery)) < EVENTS) await sleep(20);
      }
      const signalSeconds = (performance.now() - started) / 1000;
      for (const id of ids) await client.workflow.getHandle(id).terminate('bench done');

      // Child workflows: one workflow per event starts one child per subscriber.
      started = performance.now();
      await inParallel(EVENTS, (e) => client.workflow.execute('benchFanOut', { taskQueue, workflowId: `${tag}-fanout-${e}`, args: [`${tag}-event-${e}`, subscribers] }));
      const childSeconds = (performance.now() - started) / 1000;
      const row = {
        subscribers,
        events: EVENTS,
        signalEventsPerSecond: EVENTS / signalSeconds,
        signalDeliveriesPerSecond: (EVENTS * subscribers) / signalSeconds,
        childEventsPerSecond: EVENTS / childSeconds,
        childDeliveriesPerSecond: (EVENTS * subscribers) / childSeconds,
      };
      results.push(row);
      console.log(`${String(subscribers).padStart(3)} subscribers: signals ${row.signalEventsPerSecond.toFixed(1)} events/s (${row.signalDeliveriesPerSecond.toFixed(0)} deliveries/s), children ${row.childEventsPerSecond.toFixed(1)} events/s (${row.childDeliveriesPerSecond.toFixed(0)} deliveries/s)`);
    }
    worker.shutdown();
    await running;

    // A consumer group catching up on a stream: Conveyor's own worker and workflow.
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-bench-fanout-'));
    const bundlePath = await bundleToFile(workflowBundleOptions(), path.join(dataDir, 'workflows.js'));
    const config = loadConfig({ TEMPORAL_ADDRESS: devServer.address, TEMPORAL_TASK_QUEUE: 'bench-stream', CONVEYOR_DATA_DIR: dataDir, WORKFLOW_BUNDLE_PATH: bundlePath, LOG_LEVEL: 'silent' });
    const db = await openDatabase(config.database);
    for (let i = 0; i < STREAM_EVENTS; i++) {
      await db.transaction().execute((trx) => appendEvent(trx, { stream: 'users', eventId: `bench-${i}`, type: 'UserSignedUp', payload: { userId: `u-${i}` }, correlationId: 'bench' }));
    }
    const conveyor = await createWorker({ config, db });
    const conveyorRunning = conveyor.run();
    const started = performance.now();
    // The events are the default tenant's (no request made them): its instance of the group reads them.
    await wakeConsumerGroups(createTemporalGateway(client, config.temporal), DEFAULT_TENANT, 'users');
    while ((await committedOffset(db, { tenantId: DEFAULT_TENANT, stream: 'users', group: 'signup-stats' })) < STREAM_EVENTS) await sleep(20);
    const streamEventsPerSecond = STREAM_EVENTS / ((performance.now() - started) / 1000);
    console.log(`consumer group signup-stats: ${streamEventsPerSecond.toFixed(0)} events/s over ${STREAM_EVENTS} events (batches of 100, each event exactly once)`);
    results.push({ consumerGroup: 'signup-stats', events: STREAM_EVENTS, eventsPerSecond: streamEventsPerSecond });
    conveyor.worker.shutdown();
    await conveyorRunning;
    await conveyor.close();
    await db.destroy();
    await connection.close();

    const out = path.resolve(__dirname, 'results');
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, `fanout${quick ? '-quick' : ''}.json`), `${JSON.stringify({ machine: `${os.cpus().length} cores, node ${process.version}`, concurrency: CONCURRENCY, results }, null, 2)}\n`);
  } finally {
    await devServer.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
