/** `npm run worker`: the worker role alone, for scaling out. Needs TEMPORAL_ADDRESS or a running `npm start`. */
import '../platform/node-version'; // first: a clear error on an unsupported Node
import { openDatabase } from '../db/database';
import { loadConfigOrExit } from '../platform/config';
import { exitOnStartupError, stopOnSignal } from '../platform/lifecycle';
import { startTracing } from '../platform/tracing';
import { asTemporalLogger, createLogger } from '../platform/logger';
import { serveRoleMetrics, temporalMetricsAddress } from '../worker/role-metrics';
import { createWorker, installTemporalRuntime } from '../worker/worker';

async function main() {
  const config = loadConfigOrExit({ needsSmtpUrl: true });
  const logger = createLogger(config.logLevel, 'conveyor-worker');
  const tracing = startTracing(config.otlpEndpoint, 'conveyor-worker', logger);
  installTemporalRuntime(asTemporalLogger(logger.child({ component: 'temporal' })), await temporalMetricsAddress(config.metricsPort !== undefined));
  const db = await openDatabase(config.database);
  const worker = await createWorker({ config, db });
  const running = worker.run();
  const stopMetrics = await serveRoleMetrics(config, logger);
  logger.info({ address: config.temporal.address, taskQueue: config.temporal.taskQueue, smtp: config.mail.useMailCatcher ? 'local mail catcher' : 'SMTP_URL' }, 'worker polling');
  stopOnSignal(logger, async () => {
    worker.worker.shutdown();
    await running;
    await worker.close();
    await stopMetrics();
    await db.destroy();
    await tracing?.shutdown();
  });
  await running.catch((err: unknown) => {
    logger.fatal({ err }, 'worker failed');
    process.exit(1);
  });
}

main().catch(exitOnStartupError);
