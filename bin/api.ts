/** `npm run api`: the HTTP API role alone, for scaling out. Needs TEMPORAL_ADDRESS or a running `npm start`. */
import '../platform/node-version'; // first: a clear error on an unsupported Node
import { openDatabase } from '../db/database';
import { loadConfigOrExit } from '../platform/config';
import { startLiveEventsBridge } from '../platform/live-events-postgres';
import { exitOnStartupError, stopOnSignal } from '../platform/lifecycle';
import { startTracing } from '../platform/tracing';
import { createLogger } from '../platform/logger';
import { createTemporalClient } from '../platform/temporal';
import { startApiServer } from '../api/server';

async function main() {
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel, 'conveyor-api');
  const tracing = startTracing(config.otlpEndpoint, 'conveyor-api', logger);
  const db = await openDatabase(config.database);
  const client = createTemporalClient(config.temporal);
  // On PostgreSQL the live feed hears every relay, not only one in this process.
  const live = await startLiveEventsBridge(config.database, logger, { listen: true });
  const api = await startApiServer({ config, client, db, logger, mailboxDir: config.mail.useMailCatcher ? config.mailboxDir : undefined });
  logger.info({ url: api.url, temporal: config.temporal.address }, 'API listening');
  stopOnSignal(logger, async () => {
    await api.close();
    await live?.close();
    await client.connection.close();
    await db.destroy();
    await tracing?.shutdown();
  });
}

main().catch(exitOnStartupError);
