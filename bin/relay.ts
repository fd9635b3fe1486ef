/**
 * `npm run relay`: the outbox relay alone. On PostgreSQL run as many as you like (rows are claimed
 * with SKIP LOCKED); on SQLite the database's write lock serialises their claims.
 */
import '../platform/node-version'; // first: a clear error on an unsupported Node
import { openDatabase } from '../db/database';
import { watchDatabase } from '../db/metrics';
import { loadConfigOrExit } from '../platform/config';
import { startLiveEventsBridge } from '../platform/live-events-postgres';
import { exitOnStartupError, stopOnSignal } from '../platform/lifecycle';
import { startTracing } from '../platform/tracing';
import { createLogger } from '../platform/logger';
import { createTemporalClient } from '../platform/temporal';
import { createOutboxRelay } from '../worker/outbox-relay';
import { serveRoleMetrics } from '../worker/role-metrics';

async function main() {
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel, 'conveyor-relay');
  const tracing = startTracing(config.otlpEndpoint, 'conveyor-relay', logger);
  const db = await openDatabase(config.database);
  const client = createTemporalClient(config.temporal);
  // On PostgreSQL the live feed reaches every API process, not only one in this process.
  const live = await startLiveEventsBridge(config.database, logger, { publish: true });
  const relay = createOutboxRelay({ config, db, client, logger });
  relay.start();
  watchDatabase(db);
  const stopMetrics = await serveRoleMetrics(config, logger);
  logger.info({ relay: relay.identity, temporal: config.temporal.address, database: config.database.kind }, 'outbox relay running');
  stopOnSignal(logger, async () => {
    await relay.stop();
    await stopMetrics();
    await live?.close();
    await client.connection.close();
    await db.destroy();
    await tracing?.shutdown();
  });
}

main().catch(exitOnStartupError);
