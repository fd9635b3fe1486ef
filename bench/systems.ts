/**
 * The three systems under test, each started from scratch on loopback with its own server,
 * worker process, SMTP sink and database, and each able to enqueue a job, report deliveries and
 * have its worker SIGKILLed and restarted:
 *   floor     bare client.workflow.start of a one-no-op-activity workflow (the engine's floor);
 *   conveyor  POST /v1/welcome-emails on Conveyor's API, Conveyor's worker, the welcome email;
 *   bullmq    the same POST on a BullMQ API, a BullMQ worker, the same sendEmail and sent_emails.
 */
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import Redis from 'ioredis';
import { startDevServer, type DevServer, type DevServerSettings } from '../platform/dev-server';
import { startMailCatcher, type MailCatcher } from '../platform/mail-catcher';
import { requireBinary, TEMPORAL_CLI } from '../platform/temporal-binaries';
import { freePort } from '../platform/ports';
import { workflowBundleOptions } from '../worker/worker';
import { CorrelationIdKey } from '../platform/temporal-keys';
import { welcomeEmailWorkflowId, type WelcomeEmailInput } from '../workflows/welcome-email/definition';
import { getOk, nowMs, postJson } from './lib/load';
import { devServerPid, startChild, startNodeChild, track, type Child } from './lib/procs';

/** `bullmq-aof`: BullMQ on a Redis with `appendonly yes` + `appendfsync everysec` (at most ~1 s of acknowledged jobs lost on a crash). */
export type SystemName = 'floor' | 'conveyor' | 'bullmq' | 'bullmq-aof';
const isBullmq = (name: SystemName) => name === 'bullmq' || name === 'bullmq-aof';

export interface BenchContext {
  workDir: string;
  conveyorBundle: string;
  floorBundle: string;
}

const root = path.resolve(__dirname, '..');
const HOUR_MS = 3_600_000;

/** Bundle workflow code once into `file`: workers load the file, so a restart never re-bundles. */
export async function bundleToFile(options: { workflowsPath: string; workflowInterceptorModules?: string[] }, file: string): Promise<string> {
  fs.writeFileSync(file, (await bundleWorkflowCode({ ...options, logger: new DefaultLogger('WARN') })).code);
  return file;
}

/** Conveyor's bundle and the floor's, written to `bundleDir`, for systems that work in `workDir`. */
export async function createBenchContext(workDir: string, bundleDir = workDir): Promise<BenchContext> {
  return {
    workDir,
    conveyorBundle: await bundleToFile(workflowBundleOptions(), path.join(bundleDir, 'conveyor-bundle.js')),
    floorBundle: await bundleToFile({ workflowsPath: require.resolve('./workflows/floor') }, path.join(bundleDir, 'floor-bundle.js')),
  };
}

/** How the dev server runs: Conveyor's settings in memory unless told otherwise (bench:engine compares). */
export interface ServerVariant {
  settings?: DevServerSettings;
  /** Persist to a SQLite file, as `npm start` does, instead of memory. */
  dbFile?: boolean;
  /** Listen on this port (a restart after a kill keeps its address); a free one otherwise. */
  port?: number;
}

export async function startTemporal(ctx: BenchContext, label: string, variant: ServerVariant = {}): Promise<DevServer & { client: Client }> {
  const server = await startDevServer({
    executable: requireBinary(TEMPORAL_CLI),
    ip: '127.0.0.1',
    port: variant.port ?? (await freePort()),
    logFile: path.join(ctx.workDir, `temporal-${label}.log`),
    settings: variant.settings,
    dbFile: variant.dbFile ? path.join(ctx.workDir, `temporal-${label}.sqlite`) : undefined,
  });
  track(server.process);
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  return {
    ...server,
    client,
    async stop() {
      await connection.close();
      await server.stop();
    },
  };
}

/** `port`: listen there (a restart after a kill keeps its address and, with `aof`, its file). */
export async function startRedis(ctx: BenchContext, label: string, durability: { aof?: boolean; port?: number } = {}): Promise<{ port: number; child: Child; stop(): Promise<void> }> {
  const port = durability.port ?? (await freePort());
  // In memory by default, like the in-memory dev server: no RDB snapshots, no AOF. With `aof`,
  // every write is appended to a file fsynced once a second (Redis's recommended durable setting).
  const persistence = durability.aof ? ['--appendonly', 'yes', '--appendfsync', 'everysec', '--dir', ctx.workDir, '--appendfilename', `${label}.aof`] : ['--appendonly', 'no'];
  const child = startChild('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--protected-mode', 'yes'], {
    logFile: path.join(ctx.workDir, `redis-${label}.log`),
  });
  const deadline = Date.now() + 15_000;
  for (;;) {
    const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      await redis.ping();
      redis.disconnect();
      break;
    } catch {
      redis.disconnect();
      if (Date.now() > deadline) {
        await child.kill();
        throw new Error(`redis-server did not answer on port ${port}`);
      }
      await sleep(100);
    }
  }
  return { port, child, stop: () => child.stop(5_000) };
}

/** What a benchmark child reports over IPC: { type: 'ready', … } once serving, then its own messages. */
export type ChildMessage = { type?: string } & Record<string, unknown>;

/** A child that says { type: 'ready' } over IPC once it is serving. */
export async function startReadyChild(script: string, env: NodeJS.ProcessEnv, logFile: string, onMessage?: (m: ChildMessage) => void) {
  const child = startNodeChild(script, env, logFile);
  const ready = await new Promise<ChildMessage>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} not ready within 60 s (see ${logFile})`)), 60_000);
    child.process.on('message', (m: ChildMessage) => {
      if (m?.type === 'ready') {
        clearTimeout(timer);
        resolve(m);
      } else onMessage?.(m);
    });
    void child.exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${script} exited during start-up (see ${logFile})`));
    });
  });
  return { child, ready };
}

async function waitHealthy(url: string, child: Child, logFile: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.process.exitCode !== null) throw new Error(`API exited during start-up (see ${logFile})`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`API at ${url} not healthy within 60 s (see ${logFile})`);
    await sleep(100);
  }
}

/** What every email-sending system shares: the SMTP sink whose .eml file names carry the receipt time. */
async function startSink(dir: string): Promise<MailCatcher> {
  return startMailCatcher({ host: '127.0.0.1', port: 0, dir });
}

/** Every email in the sink, as (idempotency key, receipt ms). The catcher names files `<Date.now()>-<uuid>.eml`. */
export function readDeliveries(dir: string): Array<{ key: string; at: number; messageId: string }> {
  const names = fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.endsWith('.eml')) : [];
  return names.map((name) => {
    const raw = fs.readFileSync(path.join(dir, name), 'latin1');
    const key = /^X-Conveyor-Idempotency-Key:\s*(.+?)\r?$/im.exec(raw)?.[1]?.trim() ?? '(none)';
    const messageId = /^Message-ID:\s*(.+?)\r?$/im.exec(raw)?.[1]?.trim() ?? '';
    return { key, at: Number(name.slice(0, name.indexOf('-'))), messageId };
  });
}

export function countEml(dir: string): number {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.endsWith('.eml')).length : 0;
}

export interface RunningSystem {
  /** 'lane': the lane's system (bench/lane.ts). */
  name: SystemName | 'lane';
  /** Enqueue job `id` through the system's front door; resolves on 202 (or the start's answer). */
  enqueue(id: string, signal: AbortSignal): Promise<void>;
  /** Deliveries so far: job id → receipt times; plus deliveries that match no job of this run. */
  deliveries(): { byId: Map<string, number[]>; unexpected: number; messageIds?: Map<string, string[]> };
  deliveredCount(): number;
  processes(): Array<{ name: string; pid: number }>;
  killWorker(): Promise<void>;
  startWorker(): Promise<void>;
  maxCachedWorkflows?: number;
  stop(): Promise<void>;
}

const email = (id: string) => ({ userId: id, email: `${id}@bench.example`, name: 'Bench' });

/** A Temporal system as Conveyor ships it unless told otherwise (bench:engine compares). */
export interface SystemVariant {
  server?: ServerVariant;
  /** Conveyor only: force nodemailer's SMTP connection pool on or off (it is on by default). */
  smtpPool?: boolean;
}

export async function startSystem(name: SystemName, ctx: BenchContext, label: string, variant: SystemVariant = {}): Promise<RunningSystem> {
  const dir = path.join(ctx.workDir, `${label}-${name}`);
  fs.mkdirSync(dir, { recursive: true });
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    return await build();
  } catch (err) {
    await stopAll();
    throw err;
  }

  async function build(): Promise<RunningSystem> {
    const workerLog = path.join(dir, 'worker.log');
    let worker: Child | undefined;
    let maxCachedWorkflows: number | undefined;
    const floorDone = new Map<string, number[]>();
    const onMessage = (m: ChildMessage) => {
      if (m.type === 'done') floorDone.set(m.id as string, [...(floorDone.get(m.id as string) ?? []), m.at as number]);
    };
    const procs: Array<{ name: string; pid: number }> = [];

    if (!isBullmq(name)) {
      const temporal = await startTemporal(ctx, `${label}-${name}`, variant.server);
      stops.push(() => temporal.stop());
      procs.push({ name: 'temporal dev server', pid: devServerPid(temporal) });
      const sink = name !== 'floor' ? await startSink(path.join(dir, 'mailbox')) : undefined;
      if (sink) stops.push(() => sink.close());
      const env: NodeJS.ProcessEnv = {
        TEMPORAL_ADDRESS: temporal.address,
        TEMPORAL_TASK_QUEUE: `bench-${name}`,
        CONVEYOR_DATA_DIR: dir,
        MAIL_CATCHER_PORT: String(sink?.port ?? 1),
        WELCOME_FOLLOW_UP_DELAY: '1h', // only the first email is measured; the follow-up stays pending
        ...(variant.smtpPool !== undefined && sink ? { SMTP_URL: `smtp://127.0.0.1:${sink.port}/?pool=${variant.smtpPool}` } : {}),
        LOG_LEVEL: 'warn',
        BENCH_WORKER_MODE: name === 'floor' ? 'floor' : 'conveyor',
        BENCH_BUNDLE: name === 'floor' ? ctx.floorBundle : ctx.conveyorBundle,
        WORKFLOW_BUNDLE_PATH: ctx.conveyorBundle,
      };
      const startWorker = async () => {
        const { child, ready } = await startReadyChild(path.join(root, 'bench/worker-proc.ts'), env, workerLog, onMessage);
        worker = child;
        maxCachedWorkflows = ready.maxCachedWorkflows as number;
      };
      stops.push(async () => worker?.stop());
      const workerStarted = startWorker();

      let enqueue: RunningSystem['enqueue'];
      let apiPid: number | undefined;
      if (name !== 'floor') {
        const port = await freePort();
        const apiLog = path.join(dir, 'api.log');
        // LOG_LEVEL info as in production: one JSON line per request (to /dev/null here).
        const api = startNodeChild(path.join(root, 'bench/api-proc.ts'), { ...env, PORT: String(port), LOG_LEVEL: 'info' }, apiLog);
        stops.push(() => api.stop());
        const url = `http://127.0.0.1:${port}`;
        await Promise.all([waitHealthy(url, api, apiLog), workerStarted]);
        apiPid = api.pid;
        const apiKey = await readApiKey(dir);
        enqueue = async (id, signal) => void (await postJson(`${url}/v1/welcome-emails`, email(id), signal, apiKey));
      } else {
        await workerStarted;
        enqueue = async (id, signal) =>
          void (await temporal.client.withAbortSignal(signal, () =>
            temporal.client.workflow.start('floor', { taskQueue: env.TEMPORAL_TASK_QUEUE!, workflowId: `floor:${id}`, args: [id] }),
          ));
      }
      const mailbox = path.join(dir, 'mailbox');
      return {
        name,
        enqueue,
        deliveries: () => (name === 'floor' ? { byId: floorDone, unexpected: 0 } : byJob(readDeliveries(mailbox))),
        deliveredCount: () => (name === 'floor' ? [...floorDone.values()].reduce((n, a) => n + a.length, 0) : countEml(mailbox)),
        processes: () => [...procs, ...(apiPid ? [{ name: 'Conveyor API', pid: apiPid }] : []), ...(worker ? [{ name: 'worker', pid: worker.pid }] : [])],
        killWorker: async () => worker?.kill(),
        startWorker,
        get maxCachedWorkflows() {
          return maxCachedWorkflows;
        },
        stop: stopAll,
      };
    }

    // BullMQ
    const redis = await startRedis(ctx, `${label}-${name}`, { aof: name === 'bullmq-aof' });
    stops.push(() => redis.stop());
    procs.push({ name: 'redis-server', pid: redis.child.pid });
    const sink = await startSink(path.join(dir, 'mailbox'));
    stops.push(() => sink.close());
    const env: NodeJS.ProcessEnv = {
      CONVEYOR_DATA_DIR: dir,
      MAIL_CATCHER_PORT: String(sink.port),
      LOG_LEVEL: 'warn',
      BENCH_WORKER_MODE: 'bullmq',
      BENCH_REDIS_PORT: String(redis.port),
    };
    const startWorker = async () => {
      worker = (await startReadyChild(path.join(root, 'bench/worker-proc.ts'), env, workerLog)).child;
    };
    stops.push(async () => worker?.stop());
    const port = await freePort();
    const [api] = await Promise.all([
      startReadyChild(path.join(root, 'bench/bullmq-api.ts'), { ...env, PORT: String(port) }, path.join(dir, 'api.log')),
      startWorker(),
    ]);
    stops.push(() => api.child.stop());
    const url = `http://127.0.0.1:${port}`;
    const mailbox = path.join(dir, 'mailbox');
    return {
      name,
      enqueue: async (id, signal) => void (await postJson(`${url}/v1/welcome-emails`, email(id), signal)),
      deliveries: () => byJob(readDeliveries(mailbox)),
      deliveredCount: () => countEml(mailbox),
      processes: () => [...procs, { name: 'BullMQ API', pid: api.child.pid }, ...(worker ? [{ name: 'worker', pid: worker.pid }] : [])],
      killWorker: async () => worker?.kill(),
      startWorker,
      stop: stopAll,
    };
  }
}

function byJob(deliveries: Array<{ key: string; at: number; messageId: string }>) {
  const byId = new Map<string, number[]>();
  const messageIds = new Map<string, string[]>();
  let unexpected = 0;
  for (const d of deliveries) {
    const m = /^welcome-email:(.+)\/welcome$/.exec(d.key);
    if (!m) {
      unexpected++;
      continue;
    }
    byId.set(m[1]!, [...(byId.get(m[1]!) ?? []), d.at]);
    messageIds.set(m[1]!, [...(messageIds.get(m[1]!) ?? []), d.messageId]);
  }
  return { byId, unexpected, messageIds };
}

/** The key bench/api-proc.ts wrote to the API's data dir (it exists once /readyz answers, but wait a moment anyway). */
export async function readApiKey(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'dev-api-key');
  for (let i = 0; i < 100 && !fs.existsSync(file); i++) await sleep(50);
  return fs.readFileSync(file, 'utf8').trim();
}

/** Task queue of the enqueue measurements, where no worker polls: started workflows wait. */
export const BARE_TASK_QUEUE = 'bench-enqueue';

/** Conveyor's API child against a given server, no worker; `env` on top (bench:obs: METRICS, OTEL_..., NODE_OPTIONS). */
export async function startApiOnly(ctx: BenchContext, address: string, label: string, env: NodeJS.ProcessEnv = {}) {
  const port = await freePort();
  const dir = path.join(ctx.workDir, label);
  fs.mkdirSync(dir, { recursive: true });
  const logFile = path.join(dir, 'api.log');
  const api = startNodeChild(path.join(root, 'bench/api-proc.ts'), { TEMPORAL_ADDRESS: address, TEMPORAL_TASK_QUEUE: BARE_TASK_QUEUE, CONVEYOR_DATA_DIR: dir, PORT: String(port), LOG_LEVEL: 'info', WELCOME_FOLLOW_UP_DELAY: '1h', ...env }, logFile);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) break;
    if (api.process.exitCode !== null || Date.now() > deadline) throw new Error(`Conveyor API did not become ready (see ${logFile})`);
    await sleep(100);
  }
  const apiKey = await readApiKey(dir);
  return {
    apiPid: api.pid,
    enqueue: (id: string, signal: AbortSignal) => postJson(`${url}/v1/welcome-emails`, { userId: id, email: `${id}@bench.example`, name: 'Bench' }, signal, apiKey).then(() => undefined),
    /** GET /healthz: the HTTP round trip to the API process alone, no Temporal call. */
    ping: (signal: AbortSignal) => getOk(`${url}/healthz`, signal).then(() => undefined),
    stop: () => api.stop(),
  };
}

/** The same start call the API makes (api/welcome-emails.ts), without HTTP, validation or logging. */
export function bareWelcomeStart(client: Client, taskQueue: string, id: string, signal: AbortSignal) {
  const input: WelcomeEmailInput = { ...email(id), followUpDelayMs: HOUR_MS };
  return client.withAbortSignal(signal, () => client.workflow.start('welcomeEmail', {
    taskQueue,
    workflowId: welcomeEmailWorkflowId(id),
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    typedSearchAttributes: [{ key: CorrelationIdKey, value: `bench-${id}` }],
    staticSummary: `Welcome email for user ${id}`,
    staticDetails:
      'Sends the welcome email at once, then waits and sends a getting-started follow-up, ' +
      'unless the user unsubscribes first (signal `unsubscribe`).',
  }));
}

export { nowMs };
