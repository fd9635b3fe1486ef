/**
 * One Conveyor deployment for a test file, built from production's parts on the shared dev server:
 * its own task queue, data dir and database, a client, the real API on a loopback port, and on
 * request a mail catcher, an in-process worker and the outbox relay; roles as child processes a
 * test can SIGKILL. stop() takes everything down in reverse order, including what the test added
 * with onStop().
 */
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { openDatabase, type Database } from '../../db/database';
import { loadConfig, type Config } from '../../platform/config';
import { startMailCatcher } from '../../platform/mail-catcher';
import { createTemporalClient } from '../../platform/temporal';
import { createOutboxRelay, type OutboxRelay } from '../../worker/outbox-relay';
import { connectClient, insertTestApiKey, quietTemporalRuntime, startTestApi, startTestWorker, tempDir, testEnv, testLogger } from './env';
import { spawnRole, type RoleProcess } from './processes';

export interface TestDeploymentOptions {
  /** Config variables on top of testEnv() (a database, timings, a namespace). */
  env?: Record<string, string>;
  /** A mail catcher on a free port, with SMTP_URL pointing at it. */
  mail?: boolean;
  /** The HTTP API (default true). */
  api?: boolean;
  /** A worker in this process. */
  worker?: boolean;
  /** The outbox relay in this process. */
  relay?: boolean;
  /**
   * Connect the client on its first call, as production does, instead of at start: for a
   * deployment whose Temporal (TEMPORAL_ADDRESS in `env`) is down or unreachable.
   */
  lazyClient?: boolean;
}

export interface TestDeployment {
  /** The environment, for child processes (spawn) that must join this deployment. */
  env: Record<string, string>;
  config: Config;
  db: Database;
  client: Client;
  /** The API's base URL ('' with `api: false`). */
  url: string;
  /** Where the mail catcher keeps messages ('' without `mail`). */
  mailboxDir: string;
  /** The relay started by `relay: true`, or the last one startRelay() started. */
  relay?: OutboxRelay;
  /** A role (`npm run worker|api|relay`) as a child process of this deployment; SIGKILLed at stop() if still alive. */
  spawn(role: Parameters<typeof spawnRole>[0], env?: Record<string, string>): Promise<RoleProcess>;
  /** Start (another) in-process worker; it is stopped with the deployment. */
  startWorker(overrides?: Pick<Parameters<typeof startTestWorker>[0], 'activities' | 'identity'>): Promise<{ stop(): Promise<void> }>;
  /**
   * Start (another) outbox relay in this process now, e.g. once a worker is ready. It is stopped
   * with the deployment; a test may stop it earlier (stop() twice is harmless).
   */
  startRelay(options?: { identity?: string }): OutboxRelay;
  /** Run at stop(), before the parts stop (e.g. SIGKILL the test's child processes). */
  onStop(stop: () => unknown): void;
  stop(): Promise<void>;
}

export async function startTestDeployment(options: TestDeploymentOptions = {}): Promise<TestDeployment> {
  quietTemporalRuntime();
  const stops: Array<() => unknown> = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s();
  };
  try {
    let mailboxDir = '';
    const env = testEnv(options.env);
    if (options.mail) {
      mailboxDir = path.join(tempDir('mail'), 'mailbox');
      const catcher = await startMailCatcher({ host: '127.0.0.1', port: 0, dir: mailboxDir });
      stops.push(catcher.close);
      env.SMTP_URL = `smtp://127.0.0.1:${catcher.port}`;
    }
    const config = loadConfig(env);
    const db = await openDatabase(config.database);
    stops.push(() => db.destroy());
    await insertTestApiKey(db); // for API processes this deployment spawns, too
    const client = options.lazyClient ? createTemporalClient(config.temporal) : await connectClient(config);
    stops.push(() => client.connection.close());
    let url = '';
    if (options.api ?? true) {
      const api = await startTestApi({ config, client, db, ...(mailboxDir ? { mailboxDir } : {}) });
      stops.push(api.close);
      url = api.url;
    }
    const startWorker: TestDeployment['startWorker'] = async (overrides = {}) => {
      const worker = await startTestWorker({ config, db, ...overrides });
      stops.push(worker.stop);
      return worker;
    };
    if (options.worker) await startWorker();
    const spawn: TestDeployment['spawn'] = async (role, extra = {}) => {
      const child = await spawnRole(role, { ...env, ...extra });
      stops.push(() => child.child.kill('SIGKILL'));
      return child;
    };
    const deployment: TestDeployment = {
      env,
      config,
      db,
      client,
      url,
      mailboxDir,
      spawn,
      startWorker,
      startRelay({ identity } = {}) {
        const relay = createOutboxRelay({ config, db, client, logger: testLogger, identity });
        relay.start();
        stops.push(relay.stop);
        return (deployment.relay = relay);
      },
      onStop: (s) => void stops.push(s),
      stop,
    };
    if (options.relay) deployment.startRelay();
    return deployment;
  } catch (err) {
    await stop();
    throw err;
  }
}
