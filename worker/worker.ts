import { DefaultLogger, NativeConnection, Runtime, Worker, type Logger as TemporalLogger } from '@temporalio/worker';
import nodemailer from 'nodemailer';
import type { UntypedActivities } from '@temporalio/common';
import type { Database } from '../db/database';
import { conveyorDataConverter, FAILURE_CONVERTER_PATH } from '../platform/codec';
import type { Config } from '../platform/config';
import { correlationActivityInterceptor } from '../platform/correlation';
import { addMetricsSource } from '../platform/metrics';
import { traceMailer, tracingPlugins } from '../platform/tracing';
import { tenantActivityInterceptor } from '../platform/tenancy';
import { connectionOptions } from '../platform/temporal';
import { createAllActivities } from '../workflows/registry';

/**
 * Once per process, before any worker or ephemeral server. With a logger (the roles), the SDK and
 * its native core log through it at WARN and above, so every line has one format; without one
 * (tests, benchmarks) only errors are printed. SIGINT/SIGTERM are left to the process's own
 * shutdown, which stops the parts in order.
 *
 * With `metricsAddress` (host:port, loopback), the SDK's native Prometheus exporter serves its
 * worker metrics (task slots, schedule-to-start latency, sticky cache, failures) there, and this
 * process's own /metrics appends them, so each role stays one scrape target.
 */
export function installTemporalRuntime(logger?: TemporalLogger, metricsAddress?: string): void {
  const metrics = metricsAddress
    ? { prometheus: { bindAddress: metricsAddress, countersTotalSuffix: true, unitSuffix: true, useSecondsForDurations: true } }
    : undefined;
  if (metricsAddress) addMetricsSource(() => fetch(`http://${metricsAddress}/metrics`).then((res) => res.text()));
  Runtime.install(
    logger
      ? { logger, shutdownSignals: [], telemetryOptions: { logging: { filter: { core: 'WARN', other: 'WARN' }, forward: {} }, ...(metrics ? { metrics } : {}) } }
      : { logger: new DefaultLogger('ERROR'), shutdownSignals: [], telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } },
  );
}

/** What goes into the workflow bundle: the workflows and their interceptors (correlation IDs). */
export function workflowBundleOptions() {
  return {
    workflowsPath: require.resolve('../workflows'),
    workflowInterceptorModules: [require.resolve('../workflows/interceptors')],
    // Failures raised in workflow code keep their message and stack in an encrypted payload too.
    failureConverterPath: FAILURE_CONVERTER_PATH,
  };
}

/**
 * Reuse SMTP connections unless SMTP_URL says otherwise: a new connection per email costs its
 * handshake (100 ms of greeting delay on our mail catcher), measured in docs/benchmarks.md.
 */
export function pooledSmtpUrl(smtpUrl: string): string {
  const url = new URL(smtpUrl);
  if (!url.searchParams.has('pool')) url.searchParams.set('pool', 'true');
  return url.toString();
}

export interface WorkerDeps {
  config: Config;
  db: Database;
  /** Wrap or replace the activities (tests count which worker ran what). */
  activities?: UntypedActivities;
  identity?: string;
}

/**
 * A worker polls the task queue and runs both workflows and activities. Several of them on the
 * same queue are competing consumers: each task goes to exactly one.
 */
export async function createWorker({ config, db, activities, identity }: WorkerDeps) {
  const connection = await NativeConnection.connect(connectionOptions(config.temporal));
  const mailer = traceMailer(nodemailer.createTransport(pooledSmtpUrl(config.mail.smtpUrl)));
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    dataConverter: conveyorDataConverter(config.temporal.codec),
    activities: activities ?? createAllActivities({ db, mailer, from: config.mail.from }),
    ...(config.workflowBundlePath
      ? { workflowBundle: { codePath: config.workflowBundlePath } }
      : { workflowsPath: workflowBundleOptions().workflowsPath }),
    interceptors: {
      activity: [correlationActivityInterceptor, tenantActivityInterceptor],
      // Used when the worker bundles at start; a prebuilt bundle already contains them.
      workflowModules: workflowBundleOptions().workflowInterceptorModules,
    },
    ...(identity ? { identity } : {}),
    plugins: tracingPlugins(), // with a prebuilt bundle, bundle it with these plugins too
    // On shutdown, running activities get this long to finish before they are cancelled.
    shutdownGraceTime: '10 seconds',
  });
  return {
    worker,
    /** Resolves when the worker has drained after shutdown(); rejects on a fatal worker error. */
    run: () => worker.run(),
    async close() {
      mailer.close();
      await connection.close();
    },
  };
}
