/**
 * `npm run bench:lane` (minutes; run it alone on the machine) and `npm run bench:lane -- --quick`
 * (seconds: a smoke run of the harness, numbers not judged). The high-volume lane (issue 17)
 * against the per-workflow paths and BullMQ, the same job everywhere (idempotent SMTP send +
 * sent_emails row, the same SMTP sink):
 *   1. end to end, one job per POST: the lane; Conveyor per workflow; the engine floor; BullMQ
 *      with Redis AOF (appendonly yes, appendfsync everysec); BullMQ in memory;
 *   2. bulk acceptance: committed items/s through POST /v1/lanes/…/items (1,000 per request) vs
 *      BullMQ Queue.addBulk (1,000 per call) on both Redis settings;
 *   3. the lane's throughput for partitions × batch size, bulk-enqueued backlog to last delivery.
 * Writes bench/results/lane[-quick].json; `npm run bench:report` (and a full `npm run bench`) render a full
 * run's lane.json as section 9 of docs/benchmarks.md. Not built yet: the fault runs (kill worker, API and
 * server) for the lane and BullMQ-AOF, and the charts in docs/benchmarks.md.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { openDatabase } from '../db/database';
import { ensureTemporalBinaries, TEMPORAL_CLI, TEMPORAL_TEST_SERVER } from '../platform/temporal-binaries';
import { startMailCatcher } from '../platform/mail-catcher';
import { freePort } from '../platform/ports';
import { installTemporalRuntime } from '../worker/worker';
import { measureEndToEnd } from './lib/end-to-end';
import { closeHttpAgent, nowMs, postJson } from './lib/load';
import { installCleanup, killAllNow, round, startNodeChild, type Child } from './lib/procs';
import { createBenchContext, readApiKey, startReadyChild, startRedis, startSystem, startTemporal, type BenchContext, type RunningSystem, type SystemName } from './systems';

const quick = process.argv.includes('--quick');
const root = path.resolve(__dirname, '..');

export const laneParams = quick
  ? { e2eRate: 10, e2eSeconds: 1, burstJobs: 40, burstConcurrency: 16, bulkItems: 2_000, bulkConcurrency: 2, gridItems: 200, partitions: [2], batchSizes: [10] }
  : { e2eRate: 20, e2eSeconds: 15, burstJobs: 2_000, burstConcurrency: 64, bulkItems: 50_000, bulkConcurrency: 4, gridItems: 5_000, partitions: [1, 2, 4, 8], batchSizes: [1, 10, 100] };

const log = (line: string) => process.stdout.write(`[bench:lane ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

/** Each delivery as (job ID, receipt ms): the lane's mails are found by recipient (`<jobId>@bench.example`). */
function readByRecipient(dir: string): Map<string, number[]> {
  const byId = new Map<string, number[]>();
  const names = fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.endsWith('.eml')) : [];
  for (const name of names) {
    const raw = fs.readFileSync(path.join(dir, name), 'latin1');
    const id = /^To:\s*<?([^@<\s]+)@bench\.example>?\r?$/im.exec(raw)?.[1];
    if (id) byId.set(id, [...(byId.get(id) ?? []), Number(name.slice(0, name.indexOf('-')))]);
  }
  return byId;
}

interface LaneSystem extends RunningSystem {
  url: string;
  /** Create the users the items name (the lane mails known users only). */
  seedUsers(ids: string[]): Promise<void>;
  bulkEnqueue(ids: string[], signal: AbortSignal): Promise<void>;
}

/** Conveyor with the lane: Temporal dev server, the API and worker as child processes, the SMTP sink, SQLite. */
async function startLaneSystem(ctx: BenchContext, label: string, lane: { partitions?: number; batchSize?: number } = {}): Promise<LaneSystem> {
  const dir = path.join(ctx.workDir, `${label}-lane`);
  fs.mkdirSync(dir, { recursive: true });
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const temporal = await startTemporal(ctx, `${label}-lane`);
    stops.push(() => temporal.stop());
    const mailbox = path.join(dir, 'mailbox');
    const sink = await startMailCatcher({ host: '127.0.0.1', port: 0, dir: mailbox });
    stops.push(() => sink.close());
    const db = await openDatabase({ kind: 'sqlite', file: path.join(dir, 'conveyor.sqlite') });
    stops.push(() => db.destroy());
    const env: NodeJS.ProcessEnv = {
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: 'bench-lane',
      CONVEYOR_DATA_DIR: dir,
      MAIL_CATCHER_PORT: String(sink.port),
      LOG_LEVEL: 'warn',
      BENCH_WORKER_MODE: 'conveyor',
      WORKFLOW_BUNDLE_PATH: ctx.conveyorBundle,
      ...(lane.partitions ? { LANE_PARTITIONS: String(lane.partitions) } : {}),
      ...(lane.batchSize ? { LANE_BATCH_SIZE: String(lane.batchSize) } : {}),
    };
    let worker: Child | undefined;
    const startWorker = async () => {
      worker = (await startReadyChild(path.join(root, 'bench/worker-proc.ts'), env, path.join(dir, 'worker.log'))).child;
    };
    stops.push(async () => worker?.stop());
    const port = await freePort();
    const api = startNodeChild(path.join(root, 'bench/api-proc.ts'), { ...env, PORT: String(port), LOG_LEVEL: 'info' }, path.join(dir, 'api.log'));
    stops.push(() => api.stop());
    const url = `http://127.0.0.1:${port}`;
    await startWorker();
    for (const deadline = Date.now() + 60_000; !(await fetch(`${url}/readyz`).then((r) => r.ok, () => false)); ) {
      if (api.process.exitCode !== null || Date.now() > deadline) throw new Error(`lane API did not become ready (see ${dir}/api.log)`);
      await sleep(100);
    }
    const apiKey = await readApiKey(dir); // the API child's development key
    const item = (id: string) => ({ key: id, input: { userId: id } });
    return {
      name: 'lane',
      url,
      async seedUsers(ids) {
        const now = new Date().toISOString();
        for (let i = 0; i < ids.length; i += 500) {
          await db
            .insertInto('users')
            .values(ids.slice(i, i + 500).map((id) => ({ user_id: id, email: `${id}@bench.example`, name: 'Bench', created_at: now })))
            .onConflict((oc) => oc.column('user_id').doNothing())
            .execute();
        }
      },
      enqueue: async (id, signal) => void (await postJson(`${url}/v1/lanes/notification-email/items`, item(id), signal, apiKey)),
      bulkEnqueue: async (ids, signal) => void (await postJson(`${url}/v1/lanes/notification-email/items`, { items: ids.map(item) }, signal, apiKey)),
      deliveries: () => ({ byId: readByRecipient(mailbox), unexpected: 0 }),
      deliveredCount: () => (fs.existsSync(mailbox) ? fs.readdirSync(mailbox).filter((n) => n.endsWith('.eml')).length : 0),
      processes: () => [
        { name: 'temporal dev server', pid: temporal.process.pid! },
        { name: 'Conveyor API', pid: api.pid },
        ...(worker ? [{ name: 'worker', pid: worker.pid }] : []),
      ],
      killWorker: async () => worker?.kill(),
      startWorker,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The job IDs measureEndToEnd will use, so the lane's users exist before the clock starts. */
const endToEndIds = () => [
  ...Array.from({ length: Math.round(laneParams.e2eRate * laneParams.e2eSeconds) }, (_, i) => `rate-${i}`),
  ...Array.from({ length: laneParams.burstJobs }, (_, i) => `burst-${i}`),
];

async function endToEnd(ctx: BenchContext) {
  const e2e = { rate: laneParams.e2eRate, seconds: laneParams.e2eSeconds, burstJobs: laneParams.burstJobs, burstConcurrency: laneParams.burstConcurrency };
  const rows: Array<{ system: string; durability: string | undefined } & Awaited<ReturnType<typeof measureEndToEnd>>> = [];
  const lane = await startLaneSystem(ctx, 'e2e');
  try {
    await lane.seedUsers(endToEndIds());
    const measured = await measureEndToEnd(lane, e2e);
    log(`1. lane: e2e p50 ${measured.rate.endToEnd.p50Ms} ms p99 ${measured.rate.endToEnd.p99Ms} ms | burst ${measured.burst.throughputPerSecond} jobs/s`);
    rows.push({ system: 'lane', durability: 'items in SQLite (WAL), committed before the 202; Temporal dev server in memory', ...measured });
  } finally {
    await lane.stop();
  }
  const durability: Record<string, string> = {
    conveyor: 'Temporal dev server in memory (the job is its workflow); sent_emails in SQLite',
    floor: 'Temporal dev server in memory',
    'bullmq-aof': 'Redis appendonly yes, appendfsync everysec',
    bullmq: 'Redis in memory (no persistence)',
  };
  for (const name of ['conveyor', 'floor', 'bullmq-aof', 'bullmq'] as SystemName[]) {
    const sys = await startSystem(name, ctx, 'e2e');
    try {
      const measured = await measureEndToEnd(sys, e2e);
      log(`1. ${name}: e2e p50 ${measured.rate.endToEnd.p50Ms} ms p99 ${measured.rate.endToEnd.p99Ms} ms | burst ${measured.burst.throughputPerSecond} jobs/s`);
      rows.push({ system: name, durability: durability[name], ...measured });
    } finally {
      await sys.stop();
    }
  }
  const burst = (name: string) => rows.find((r) => r.system === name)?.burst.throughputPerSecond ?? NaN;
  return { rows, laneVsBullmqAof: round(burst('lane') / burst('bullmq-aof'), 2), laneVsBullmq: round(burst('lane') / burst('bullmq'), 2), laneVsConveyor: round(burst('lane') / burst('conveyor'), 2) };
}

/** Run `calls` with at most `concurrency` in flight; items/s of the whole. */
async function timed(calls: Array<() => Promise<void>>, concurrency: number): Promise<number> {
  const t0 = nowMs();
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < calls.length) await calls[next++]!();
  }));
  return (nowMs() - t0) / 1000;
}

async function bulkAcceptance(ctx: BenchContext) {
  const n = laneParams.bulkItems;
  const chunks = (prefix: string) => Array.from({ length: Math.ceil(n / 1000) }, (_, c) => Array.from({ length: Math.min(1000, n - c * 1000) }, (_, i) => `${prefix}-${c * 1000 + i}`));
  const rows: Array<{ system: string; durability: string; items: number; seconds: number; itemsPerSecond: number }> = [];
  // The lane: committed (SQLite, WAL) before each 202. Items are not run: no worker is needed to
  // measure acceptance, but one runs, as in production, and competes for the cores.
  const lane = await startLaneSystem(ctx, 'bulk');
  try {
    const seconds = await timed(chunks('bulk').map((ids) => () => lane.bulkEnqueue(ids, AbortSignal.timeout(60_000))), laneParams.bulkConcurrency);
    rows.push({ system: 'lane bulk POST', durability: 'SQLite (WAL), committed before 202', items: n, seconds: round(seconds, 2), itemsPerSecond: round(n / seconds, 0) });
  } finally {
    await lane.stop();
  }
  for (const aof of [true, false]) {
    const redis = await startRedis(ctx, `bulk-${aof ? 'aof' : 'mem'}`, { aof });
    const queue = new Queue('welcome-emails', { connection: { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null } });
    try {
      await queue.waitUntilReady();
      const seconds = await timed(
        chunks('bulk').map((ids) => async () => {
          await queue.addBulk(ids.map((id) => ({ name: 'welcome-email', data: { userId: id, email: `${id}@bench.example`, name: 'Bench' }, opts: { jobId: `welcome-email/${id}` } })));
        }),
        laneParams.bulkConcurrency,
      );
      rows.push({ system: `BullMQ addBulk${aof ? ' (AOF)' : ''}`, durability: aof ? 'Redis appendonly yes, appendfsync everysec' : 'Redis in memory', items: n, seconds: round(seconds, 2), itemsPerSecond: round(n / seconds, 0) });
    } finally {
      await queue.close();
      await redis.stop();
    }
  }
  for (const r of rows) log(`2. ${r.system}: ${r.itemsPerSecond} items/s`);
  const rate = (s: string) => rows.find((r) => r.system === s)?.itemsPerSecond ?? NaN;
  return { rows, laneVsAddBulkAof: round(rate('lane bulk POST') / rate('BullMQ addBulk (AOF)'), 2), laneVsAddBulk: round(rate('lane bulk POST') / rate('BullMQ addBulk'), 2) };
}

/** A bulk-enqueued backlog of `gridItems`, timed from the first POST to the last delivery. */
async function grid(ctx: BenchContext) {
  const cells = [];
  for (const partitions of laneParams.partitions) {
    for (const batchSize of laneParams.batchSizes) {
      const sys = await startLaneSystem(ctx, `grid-p${partitions}-b${batchSize}`, { partitions, batchSize });
      try {
        const ids = Array.from({ length: laneParams.gridItems }, (_, i) => `grid-${i}`);
        await sys.seedUsers(ids);
        const t0 = nowMs();
        for (let i = 0; i < ids.length; i += 1000) await sys.bulkEnqueue(ids.slice(i, i + 1000), AbortSignal.timeout(60_000));
        const deadline = Date.now() + 600_000;
        while (sys.deliveredCount() < ids.length && Date.now() < deadline) await sleep(100);
        const delivered = sys.deliveredCount();
        const seconds = (nowMs() - t0) / 1000;
        cells.push({ partitions, batchSize, items: ids.length, delivered, seconds: round(seconds, 2), itemsPerSecond: round(delivered / seconds, 1) });
        log(`3. partitions ${partitions} × batch ${batchSize}: ${round(delivered / seconds, 1)} items/s (${delivered}/${ids.length})`);
      } finally {
        await sys.stop();
      }
    }
  }
  return { cells, best: cells.reduce((a, b) => (b.itemsPerSecond > a.itemsPerSecond ? b : a)) };
}

async function main() {
  installCleanup();
  installTemporalRuntime();
  ensureTemporalBinaries([TEMPORAL_CLI, TEMPORAL_TEST_SERVER], log);
  const cacheDir = path.join(root, '.cache', 'bench');
  fs.mkdirSync(cacheDir, { recursive: true });
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-bench-lane-'));
  log(`bundling workflows (work dir ${workDir})`);
  const ctx = await createBenchContext(workDir, cacheDir);
  const started = Date.now();
  const results = {
    params: { mode: quick ? 'quick' : 'full', ...laneParams },
    startedAt: new Date(started).toISOString(),
    nproc: os.cpus().length,
    endToEnd: await endToEnd(ctx),
    bulk: await bulkAcceptance(ctx),
    grid: await grid(ctx),
    totalSeconds: 0,
  };
  results.totalSeconds = round((Date.now() - started) / 1000, 0);
  const out = path.join(root, 'bench', 'results', quick ? 'lane-quick.json' : 'lane.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  log(`lane vs BullMQ (AOF) end to end: ${results.endToEnd.laneVsBullmqAof}× | bulk acceptance vs addBulk (AOF): ${results.bulk.laneVsAddBulkAof}× | best cell ${JSON.stringify(results.grid.best)}`);
  fs.rmSync(workDir, { recursive: true, force: true });
  log(`done in ${results.totalSeconds} s: ${path.relative(root, out)}`);
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`bench:lane failed: ${(err as Error)?.stack ?? err}\n`);
    process.exitCode = 1;
  })
  .finally(() => {
    closeHttpAgent();
    killAllNow();
    setTimeout(() => process.exit(), 500).unref();
  });
