/** `npm run worker`: the worker role alone, for scaling out. Needs TEMPORAL_ADDRESS or a running `npm start`. */
import { openDatabase } from '../db/database';
import { loadConfigOrExit } from '../platform/config';
import { exitOnStartupError, stopOnSignal } from '../platform/lifecycle';
import { asTemporalLogger, createLogger } from '../platform/logger';
import { createWorker, installTemporalRuntime } from './worker';

async function main() {
  const config = loadConfigOrExit({ needsSmtpUrl: true });
  const logger = createLogger(config.logLevel, 'conveyor-worker');
  installTemporalRuntime(asTemporalLogger(logger.child({ component: 'temporal' })));
  const db = await openDatabase(config.database);
  const worker = await createWorker({ config, db });
  const running = worker.run();
  logger.info({ address: config.temporal.address, taskQueue: config.temporal.taskQueue, smtp: config.mail.useMailCatcher ? 'local mail catcher' : 'SMTP_URL' }, 'worker polling');
  stopOnSignal(logger, async () => {
    worker.worker.shutdown();
    await running;
    await worker.close();
    await db.destroy();
  });
  await running.catch((err: unknown) => {
    logger.fatal({ err }, 'worker failed');
    process.exit(1);
  });
}

main().catch(exitOnStartupError);
