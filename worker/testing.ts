/**
 * The workflow test kit, for anyone who writes a job: a workflow test on Temporal's time-skipping
 * test server (timers of days pass in milliseconds), with real or overridden activities.
 *
 *   let kit: WorkflowTestKit;
 *   beforeAll(async () => (kit = await workflowTestKit({ activities: { sendEmail: fakeSend } })));
 *   afterAll(() => kit.teardown());
 *   test('…', async () => {
 *     const result = await kit.execute(welcomeEmailJob, input);
 *   });
 */
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type { UntypedActivities } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundlePath } from '@temporalio/worker';
import nodemailer from 'nodemailer';
import type { Database } from '../db/database';
import { sdkExecutable, TEMPORAL_TEST_SERVER } from '../platform/temporal-binaries';
import { searchAttributeKeys } from '../platform/temporal-keys';
import type { JobDeclaration } from '../workflows/declaration';
import { createAllActivities } from '../workflows/registry';
import { installTemporalRuntime, workflowBundleOptions } from './worker';

export interface WorkflowTestKitOptions {
  /** The activities the workflows call. Default: the real ones on `db` when given (mail goes to a JSON transport). */
  activities?: UntypedActivities;
  /** A real database for the real activities (`activities` overrides some of them). */
  db?: Database;
  /** A prebuilt workflow bundle (Conveyor's jest setup builds one per run); bundled from workflows/ otherwise. */
  workflowBundle?: WorkflowBundlePath;
}

export type WorkflowTestKit = Awaited<ReturnType<typeof workflowTestKit>>;

export async function workflowTestKit(options: WorkflowTestKitOptions = {}) {
  try {
    installTemporalRuntime(); // quiet: errors only
  } catch {
    // a Runtime is installed once per process; an earlier test file did it
  }
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: sdkExecutable(TEMPORAL_TEST_SERVER) } });
  // Jobs start with Conveyor's search attributes, as in production: the test server must know them.
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(searchAttributeKeys.map((key) => [key.name, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
  });
  const taskQueue = `test-${randomUUID().slice(0, 8)}`;
  const bundlePath = options.workflowBundle?.codePath ?? process.env.CONVEYOR_TEST_WORKFLOW_BUNDLE;
  const real = options.db ? createAllActivities({ db: options.db, mailer: nodemailer.createTransport({ jsonTransport: true }), from: 'Conveyor <hello@conveyor.localhost>' }) : {};
  const defaultActivities = { ...real, ...options.activities };

  /** Start a job the way production does: its declared workflow type, ID, arguments and summary. */
  function start<Input>(job: JobDeclaration<Input>, input: Input): Promise<WorkflowHandle> {
    const { workflowType, workflowId, args, summary, searchAttributes } = job.start(input);
    return env.client.workflow.start(workflowType, { taskQueue, workflowId, args: [...args], staticSummary: summary, typedSearchAttributes: searchAttributes });
  }

  /** Run `fn` while a worker runs Conveyor's workflows on this kit's task queue, with `activities`. */
  async function withWorker<T>(fn: () => Promise<T>, activities: UntypedActivities = defaultActivities): Promise<T> {
    const { workflowsPath, workflowInterceptorModules } = workflowBundleOptions();
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      activities,
      ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : { workflowsPath, interceptors: { workflowModules: workflowInterceptorModules } }),
    });
    return worker.runUntil(fn);
  }

  return {
    env,
    client: env.client,
    taskQueue,
    /** The activities workers get by default: the real ones on `db` with `activities` over them. */
    activities: defaultActivities,
    start,
    withWorker,
    /** Start a job and wait for its result, with a worker running meanwhile. */
    execute: <Input>(job: JobDeclaration<Input>, input: Input, activities?: UntypedActivities) =>
      withWorker(async () => (await start(job, input)).result(), activities),
    /** The test server's clock (ms): it jumps when the workflows only wait on timers. */
    now: () => env.currentTimeMs(),
    teardown: () => env.teardown(),
  };
}
