/**
 * `npm start`: the whole of Conveyor in one process tree. Without TEMPORAL_ADDRESS it embeds a
 * Temporal dev server (persisted under the data dir, Web UI included); without SMTP_URL it runs a
 * local mail catcher. Then a worker, the outbox relay and the HTTP API. SIGINT/SIGTERM stops
 * everything in reverse.
 */
import '../platform/node-version'; // first: a clear error on an unsupported Node
import fs from 'node:fs';
import path from 'node:path';
import { startApiServer } from '../api/server';
import { openDatabase } from '../db/database';
import { ensureDevApiKey } from '../db/api-keys';
import { seedDemoData } from '../db/seed';
import { ensureDevelopmentKeyFile } from '../platform/codec';
import { loadConfigOrExit } from '../platform/config';
import { startDevServer } from '../platform/dev-server';
import { startLiveEventsBridge } from '../platform/live-events-postgres';
import { exitOnStartupError, stopOnSignal } from '../platform/lifecycle';
import { asTemporalLogger, createLogger } from '../platform/logger';
import { startMailCatcher } from '../platform/mail-catcher';
import { createTemporalClient } from '../platform/temporal';
import { DEFAULT_TENANT, SCOPES } from '../platform/tenancy';
import { ensureTemporalBinaries, requireBinary, TEMPORAL_CLI } from '../platform/temporal-binaries';
import { startTracing } from '../platform/tracing';
import { createOutboxRelay } from '../worker/outbox-relay';
import { serveRoleMetrics, temporalMetricsAddress } from '../worker/role-metrics';
import { createWorker, installTemporalRuntime } from '../worker/worker';
import { superviseDevServer } from '../worker/dev-server-supervisor';

async function main() {
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel, 'conveyor');
  const tracing = startTracing(config.otlpEndpoint, 'conveyor', logger);
  // The SDK's worker metrics unless METRICS=off: the API's /metrics serves them in this all-in-one process.
  installTemporalRuntime(asTemporalLogger(logger.child({ component: 'temporal' })), await temporalMetricsAddress(config.metricsEnabled));
  fs.mkdirSync(config.dataDir, { recursive: true });
  // No CONVEYOR_CODEC_KEYS: a development key in the data dir, so payloads are encrypted from the first run.
  if (ensureDevelopmentKeyFile(config.temporal.codec)) logger.warn({ keyFile: config.temporal.codec.keyFile }, 'created a development payload key');

  // Everything started so far, stopped in reverse order on shutdown or on a failed start.
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    let failed: unknown;
    for (const stop of stops.reverse()) {
      // One part failing to stop must not leave the parts started before it running.
      await stop().catch((err: unknown) => (failed ??= err));
    }
    if (failed) throw failed;
  };
  if (tracing) stops.push(tracing.shutdown); // stopped last: the other parts' final spans are exported
  stopOnSignal(logger, stopAll);

  try {
    if (config.temporal.embedded) {
      ensureTemporalBinaries([TEMPORAL_CLI], (line) => logger.info(line));
      const logFile = path.join(config.dataDir, 'temporal.log');
      logger.info({ address: `${config.host}:${config.temporal.devServerPort}` }, 'starting the Temporal dev server');
      // Supervised: restarted if it dies; the main job stops only if it cannot stay up.
      const supervisor = await superviseDevServer({
        start: async () => {
          const server = await startDevServer({
            executable: requireBinary(TEMPORAL_CLI),
            ip: config.host,
            port: config.temporal.devServerPort,
            uiPort: config.temporal.uiPort,
            dbFile: config.temporal.devServerDbFile,
            // The Web UI decodes through the API's codec server; a browser without a `codec` key sees ciphertext.
            codecEndpoint: `http://${config.host}:${config.port}/codecs`,
            pidFile: path.join(config.dataDir, 'temporal.pid'),
            logFile,
          });
          if (server.clearedStalePid) logger.warn({ pid: server.clearedStalePid }, 'stopped a Temporal dev server left running by an earlier run');
          return server;
        },
        logger,
        logFile,
        // Stop everything else in order, then exit non-zero: this is a failure, not a shutdown.
        onGiveUp: () => void stopAll().catch(() => undefined).then(() => process.exit(1)),
      });
      stops.push(supervisor.stop);
    }

    const mailCatcher = config.mail.useMailCatcher
      ? await startMailCatcher({ host: config.host, port: config.mail.mailCatcherPort, dir: config.mailboxDir, maxMessages: config.mail.mailboxMaxMessages })
      : undefined;
    if (mailCatcher) stops.push(mailCatcher.close);

    const db = await openDatabase(config.database);
    stops.push(() => db.destroy());
    const seed = await seedDemoData(db);
    logger.info({ appliedNow: seed.appliedNow }, seed.appliedNow ? 'demo data seeded' : 'demo data already present');

    const devKey = await ensureDevApiKey(db, config.auth.devKeyFile, DEFAULT_TENANT, SCOPES);

    logger.info(config.workflowBundlePath ? 'starting the worker' : 'starting the worker: bundling the workflow code (a few seconds)');
    const worker = await createWorker({ config, db });
    const running = worker.run();
    stops.push(async () => {
      worker.worker.shutdown();
      await running; // drains: in-flight tasks finish or hit shutdownGraceTime
      await worker.close();
    });
    running.catch((err: unknown) => {
      logger.fatal({ err }, 'worker failed');
      process.kill(process.pid, 'SIGTERM');
    });

    const client = createTemporalClient(config.temporal);
    stops.push(() => client.connection.close());

    // On PostgreSQL, also the relays and APIs of other processes share this live feed.
    const live = await startLiveEventsBridge(config.database, logger, { publish: true, listen: true });
    if (live) stops.push(live.close);
    const relay = createOutboxRelay({ config, db, client, logger });
    relay.start();
    stops.push(relay.stop);
    stops.push(await serveRoleMetrics(config, logger));
    const api = await startApiServer({ config, client, db, logger, mailboxDir: mailCatcher ? config.mailboxDir : undefined });
    stops.push(api.close);

    console.log(
      [
        '',
        'Conveyor is running.',
        `  API            ${api.url}   (try: curl ${api.url}/readyz)`,
        `  API key        ${devKey}`,
        `                 (tenant '${DEFAULT_TENANT}', every scope; kept in ${config.auth.devKeyFile}: curl -H "Authorization: Bearer $(cat ${path.relative(process.cwd(), config.auth.devKeyFile) || config.auth.devKeyFile})" ${api.url}/v1/inventory)`,
        `  Temporal       ${config.temporal.address}  namespace '${config.temporal.namespace}', task queue '${config.temporal.taskQueue}'${config.temporal.profile ? `, profile '${config.temporal.profile}'` : ''}`,
        `  Web UI         ${config.temporal.uiUrl ?? '(set TEMPORAL_UI_URL to link runs to your Web UI)'}`,
        mailCatcher
          ? `  Sent mail      ${api.url}/dev/mailbox   (SMTP catcher on ${config.host}:${mailCatcher.port}, files in ${config.mailboxDir})`
          : `  Sent mail      via ${config.mail.smtpUrl.replace(/\/\/[^@/]*@/, '//***@')}`,
        `  Data           ${config.dataDir}`,
        'Press Ctrl-C to stop.',
        '',
      ].join('\n'),
    );
  } catch (err) {
    await stopAll().catch(() => undefined);
    exitOnStartupError(err);
  }
}

void main();
