/**
 * `npm run bench:lane` (about 14 minutes on 2 cores; run it alone on the machine) and
 * `npm run bench:lane -- --quick` (about a minute: a smoke run of every section, numbers not
 * judged; exits non-zero when the harness breaks). The high-volume lane (issue 17) against the
 * per-workflow paths and BullMQ, the same job everywhere (idempotent SMTP send + sent_emails row,
 * the same SMTP sink):
 *   1. end to end, one job per POST: the lane; Conveyor per workflow; the engine floor; BullMQ
 *      with Redis AOF (appendonly yes, appendfsync everysec); BullMQ in memory;
 *   2. bulk acceptance: committed items/s through POST /v1/lanes/…/items (1,000 per request) vs
 *      BullMQ Queue.addBulk (1,000 per call) on both Redis settings;
 *   3. the lane's throughput for partitions × batch size, bulk-enqueued backlog to last delivery;
 *   4. under fault: for the lane, BullMQ with AOF and BullMQ in memory, one run per kind of kill
 *      (the worker, the API, the server: Temporal's dev server or redis-server), each SIGKILLed
 *      and restarted during the load; lost, re-sent (same Message-ID), duplicated and unexpected
 *      emails counted by job ID.
 * Writes bench/results/lane[-quick].json; `npm run bench:report` (and a full `npm run bench`) render a full
 * run's lane.json as section 10 of docs/benchmarks.md with its charts (docs/benchmarks/lane-*.svg); a
 * quick run renders the same into bench/results/quick/lane.md.
 * Options: `--only=e2e,bulk,grid,fault` runs some sections; BENCH_LANE_FAULTS=lane:server,bullmq-aof:worker
 * picks the fault runs (default: every system × every kill; quick: lane:server).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { sql } from 'kysely';
import { openDatabase, type Database } from '../db/database';
import { ensureTemporalBinaries, TEMPORAL_CLI, TEMPORAL_TEST_SERVER } from '../platform/temporal-binaries';
import { startMailCatcher } from '../platform/mail-catcher';
import { freePort } from '../platform/ports';
import { installTemporalRuntime } from '../worker/worker';
import { laneCounts } from '../db/lane';
import { DEFAULT_TENANT } from '../platform/tenancy';
import { startBullmqFaultSystem } from './lib/bullmq-fault';
import { measureEndToEnd } from './lib/end-to-end';
import { faultJobIds, KILL_KINDS, runUnderFault, type FaultResult, type FaultSystem, type KillKind } from './lib/faults';
import { kneesByBatchSize } from './lib/knee';
import { nowMs, postAccepted, postJson } from './lib/load';
import { devServerPid, installCleanup, round, startNodeChild, type Child } from './lib/procs';
import { writeLaneReport } from './report';
import { createBenchContext, readApiKey, startReadyChild, startRedis, startSystem, startTemporal, type BenchContext, type RunningSystem, type SystemName } from './systems';
import { runBench } from './lib/main';

const quick = process.argv.includes('--quick');
const root = path.resolve(__dirname, '..');

/**
 * Full sizes fit about 13 minutes on 2 cores: ~3 end to end (the per-workflow paths take ~20 s
 * for the burst), ~0.5 bulk, ≤ 4 grid (each cell stops after gridCellSeconds), ~6 fault runs (a
 * killed BullMQ worker's job waits for its 30 s lock and the 30 s stalled check, twice).
 */
export const laneParams = quick
  ? {
      e2eRate: 10, e2eSeconds: 1, burstJobs: 40, burstConcurrency: 16,
      bulkItems: 2_000, bulkConcurrency: 2,
      gridItems: 200, gridCellSeconds: 20, partitions: [2], batchSizes: [10],
      fault: { rate: 10, seconds: 4, kills: 1, burstBeforeKill: 40, killIntoBurstMs: 200, retryForSeconds: 20, drainTimeoutSeconds: 60 },
      faultRuns: ['lane:server'],
    }
  : {
      e2eRate: 20, e2eSeconds: 15, burstJobs: 1_000, burstConcurrency: 64,
      bulkItems: 50_000, bulkConcurrency: 4,
      gridItems: 3_000, gridCellSeconds: 15, partitions: [1, 2, 4, 8], batchSizes: [1, 10, 100],
      fault: { rate: 20, seconds: 10, kills: 2, burstBeforeKill: 200, killIntoBurstMs: 200, retryForSeconds: 30, drainTimeoutSeconds: 150 },
      faultRuns: ['lane', 'bullmq-aof', 'bullmq'].flatMap((system) => KILL_KINDS.map((kill) => `${system}:${kill}`)),
    };
if (process.env.BENCH_LANE_FAULTS) laneParams.faultRuns = process.env.BENCH_LANE_FAULTS.split(',').map((s) => s.trim());
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
const runs = (section: string) => !only || only.includes(section);

const log = (line: string) => process.stdout.write(`[bench:lane ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

/** Every lane email: its job ID (the recipient is `<jobId>@bench.example`), receipt ms and Message-ID. */
function readLaneDeliveries(dir: string): Array<{ jobId: string | undefined; at: number; messageId: string }> {
  const names = fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.endsWith('.eml')) : [];
  return names.map((name) => {
    const raw = fs.readFileSync(path.join(dir, name), 'latin1');
    return {
      jobId: /^To:\s*<?([^@<\s]+)@bench\.example>?\r?$/im.exec(raw)?.[1],
      at: Number(name.slice(0, name.indexOf('-'))),
      messageId: /^Message-ID:\s*(.+?)\r?$/im.exec(raw)?.[1]?.trim() ?? '',
    };
  });
}

function byRecipient(dir: string): Map<string, number[]> {
  const byId = new Map<string, number[]>();
  for (const d of readLaneDeliveries(dir)) if (d.jobId) byId.set(d.jobId, [...(byId.get(d.jobId) ?? []), d.at]);
  return byId;
}

interface LaneSystem extends RunningSystem {
  url: string;
  /** Create the users the items name (the lane mails known users only). */
  seedUsers(ids: string[]): Promise<void>;
  bulkEnqueue(ids: string[], signal: AbortSignal): Promise<void>;
  /** The same system for a fault run: every process killable and restartable at its address. */
  fault: FaultSystem;
}

/** How the lane's items are kept: read from the database the API opens (openDatabase, the same settings). */
let laneDurability = 'items in SQLite (WAL), committed before the 202';
async function readLaneDurability(db: Database): Promise<void> {
  const level = (await sql<{ synchronous: number }>`PRAGMA synchronous`.execute(db)).rows[0]?.synchronous;
  const name = ['OFF', 'NORMAL', 'FULL', 'EXTRA'][level ?? -1] ?? String(level);
  laneDurability = `items in SQLite (WAL, synchronous=${name}), committed before the 202`;
}

/**
 * Conveyor with the lane: Temporal dev server, the API and worker as child processes, the SMTP
 * sink, SQLite. `serverFile`: the dev server keeps a SQLite file (as `npm start` does), so a
 * killed server restarts with its workflows; otherwise it runs in memory.
 */
async function startLaneSystem(ctx: BenchContext, label: string, lane: { partitions?: number; batchSize?: number; serverFile?: boolean } = {}): Promise<LaneSystem> {
  const dir = path.join(ctx.workDir, `${label}-lane`);
  fs.mkdirSync(dir, { recursive: true });
  let temporal: Awaited<ReturnType<typeof startTemporal>> | undefined;
  let worker: Child | undefined;
  let api: Child | undefined;
  const stops: Array<() => Promise<void>> = [async () => temporal?.stop()];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const server = { dbFile: lane.serverFile };
    temporal = await startTemporal(ctx, `${label}-lane`, server);
    const temporalPort = Number(temporal.address.split(':').at(-1));
    const mailbox = path.join(dir, 'mailbox');
    const sink = await startMailCatcher({ host: '127.0.0.1', port: 0, dir: mailbox });
    stops.push(() => sink.close());
    const db = await openDatabase({ kind: 'sqlite', file: path.join(dir, 'conveyor.sqlite') });
    stops.push(() => db.destroy());
    await readLaneDurability(db);
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
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const start: Record<KillKind, () => Promise<void>> = {
      worker: async () => void (worker = (await startReadyChild(path.join(root, 'bench/worker-proc.ts'), env, path.join(dir, 'worker.log'))).child),
      async api() {
        const child = (api = startNodeChild(path.join(root, 'bench/api-proc.ts'), { ...env, PORT: String(port), LOG_LEVEL: 'info' }, path.join(dir, 'api.log')));
        for (const deadline = Date.now() + 60_000; !(await fetch(`${url}/readyz`).then((r) => r.ok, () => false)); ) {
          if (child.process.exitCode !== null || Date.now() > deadline) throw new Error(`lane API did not become ready (see ${dir}/api.log)`);
          await sleep(100);
        }
      },
      // Same port, same file: the worker and the API reconnect to it.
      server: async () => void (temporal = await startTemporal(ctx, `${label}-lane`, { ...server, port: temporalPort })),
    };
    stops.push(async () => worker?.stop(), async () => api?.stop());
    await Promise.all([start.api(), start.worker()]); // the database is migrated already (openDatabase above)
    const apiKey = await readApiKey(dir); // the API child's development key
    const item = (id: string) => ({ key: id, input: { userId: id } });
    const itemsUrl = `${url}/v1/lanes/notification-email/items`;
    const current = (kind: KillKind): Child | undefined => ({ worker, api, server: undefined })[kind];
    const seedUsers = async (ids: string[]) => {
      const now = new Date().toISOString();
      for (let i = 0; i < ids.length; i += 500) {
        await db
          .insertInto('users')
          .values(ids.slice(i, i + 500).map((id) => ({ user_id: id, email: `${id}@bench.example`, name: 'Bench', created_at: now })))
          .onConflict((oc) => oc.column('user_id').doNothing())
          .execute();
      }
    };
    const fault: FaultSystem = {
      name: 'lane',
      durability: `${laneDurability}; Temporal dev server ${lane.serverFile ? 'on a SQLite file (WAL, synchronous=NORMAL)' : 'in memory'}`,
      enqueue: (id, signal) => postAccepted(itemsUrl, item(id), signal, apiKey),
      deliveries: () => readLaneDeliveries(mailbox),
      pid: (kind) => (kind === 'server' ? devServerPid(temporal!) : current(kind)!.pid),
      async kill(kind) {
        if (kind === 'server') {
          // SIGKILL the server itself; its watchdog (platform/dev-server-watchdog.ts) then exits the
          // way the server did, so the watchdog's end names the signal that killed the server.
          const watchdog = temporal!.process;
          const exited = new Promise<void>((resolve) => (watchdog.exitCode !== null || watchdog.signalCode !== null ? resolve() : watchdog.once('exit', () => resolve())));
          process.kill(devServerPid(temporal!), 'SIGKILL');
          await exited;
          await temporal!.stop(); // closes the harness's own connection to it
          return watchdog.signalCode;
        }
        const child = current(kind)!;
        await child.kill();
        return child.process.signalCode;
      },
      restart: (kind) => start[kind](),
      async unfinished() {
        const counts = await laneCounts(db, DEFAULT_TENANT, 'notification-email');
        return counts.pending + counts.running;
      },
      stop,
    };
    return {
      name: 'lane',
      url,
      seedUsers,
      enqueue: async (id, signal) => void (await postJson(itemsUrl, item(id), signal, apiKey)),
      bulkEnqueue: async (ids, signal) => void (await postJson(itemsUrl, { items: ids.map(item) }, signal, apiKey)),
      deliveries: () => ({ byId: byRecipient(mailbox), unexpected: 0 }),
      deliveredCount: () => (fs.existsSync(mailbox) ? fs.readdirSync(mailbox).filter((n) => n.endsWith('.eml')).length : 0),
      processes: () => [
        { name: 'temporal dev server', pid: devServerPid(temporal!) },
        ...(api ? [{ name: 'Conveyor API', pid: api.pid }] : []),
        ...(worker ? [{ name: 'worker', pid: worker.pid }] : []),
      ],
      killWorker: async () => worker?.kill(),
      startWorker: start.worker,
      fault,
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
    rows.push({ system: 'lane', durability: `${laneDurability}; Temporal dev server in memory`, ...measured });
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

/**
 * A bulk-enqueued backlog of `gridItems`, from the first POST to the last delivery, or to
 * `gridCellSeconds` if the cell is slower than that (then items/s is what it delivered so far:
 * the backlog never ran dry, so that is its rate).
 */
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
        const deadline = t0 + laneParams.gridCellSeconds * 1000;
        while (sys.deliveredCount() < ids.length && nowMs() < deadline) await sleep(100);
        const delivered = sys.deliveredCount();
        const complete = delivered >= ids.length;
        const lastAt = Math.max(...[...sys.deliveries().byId.values()].flat());
        const seconds = (complete ? lastAt - t0 : nowMs() - t0) / 1000;
        cells.push({ partitions, batchSize, items: ids.length, delivered, complete, seconds: round(seconds, 2), itemsPerSecond: round(delivered / seconds, 1) });
        log(`3. partitions ${partitions} × batch ${batchSize}: ${round(delivered / seconds, 1)} items/s (${delivered}/${ids.length}${complete ? '' : `, stopped at ${laneParams.gridCellSeconds} s`})`);
      } finally {
        await sys.stop();
      }
    }
  }
  return { cells, best: cells.reduce((a, b) => (b.itemsPerSecond > a.itemsPerSecond ? b : a)), knees: kneesByBatchSize(cells) };
}

/** One fault run per `system:kill` of laneParams.faultRuns, each on a fresh system. */
async function faults(ctx: BenchContext) {
  const results: FaultResult[] = [];
  for (const run of laneParams.faultRuns) {
    const [system, kill] = run.split(':') as [string, KillKind];
    if (!KILL_KINDS.includes(kill) || !['lane', 'bullmq-aof', 'bullmq'].includes(system)) throw new Error(`BENCH_LANE_FAULTS: '${run}' is not <lane|bullmq-aof|bullmq>:<${KILL_KINDS.join('|')}>`);
    const tag = `fault-${system}-${kill}`;
    let sys: FaultSystem;
    if (system === 'lane') {
      // The dev server keeps its file (as under `npm start`), so a killed server restarts with its workflows.
      const lane = await startLaneSystem(ctx, tag, { serverFile: true });
      sys = lane.fault;
      // The lane mails known users only: every job's user exists before its POST, as after a signup.
      await lane.seedUsers(faultJobIds(tag, laneParams.fault)).catch(async (err: unknown) => {
        await lane.stop();
        throw err;
      });
    } else {
      sys = await startBullmqFaultSystem(ctx, tag, system === 'bullmq-aof');
    }
    try {
      const r = await runUnderFault(sys, kill, laneParams.fault, tag);
      results.push(r);
      log(`4. ${system}, ${kill} SIGKILLed ${r.kills.length}×: lost ${r.lost}, re-sent (same Message-ID) ${r.resentSameMessageId}, duplicated ${r.duplicated}, unexpected ${r.unexpected} | ${r.acknowledged}/${r.jobs} acknowledged, ${r.drained ? `drained in ${r.drainSeconds} s` : 'NOT drained'}`);
    } finally {
      await sys.stop();
    }
  }
  return results;
}

/** What a run must show for its numbers to mean anything; any run exits 1 on one of these (after writing its results). */
function harnessProblems(r: { endToEnd?: Awaited<ReturnType<typeof endToEnd>>; bulk?: Awaited<ReturnType<typeof bulkAcceptance>>; grid?: Awaited<ReturnType<typeof grid>>; faults?: FaultResult[] }): string[] {
  const problems: string[] = [];
  for (const row of r.endToEnd?.rows ?? []) {
    if (!row.rate.allDelivered || row.rate.delivered < row.rate.ok) problems.push(`end to end, ${row.system}: ${row.rate.delivered}/${row.rate.ok} of the rate phase delivered`);
    if (!row.burst.allDelivered || !(row.burst.throughputPerSecond > 0)) problems.push(`end to end, ${row.system}: the burst was not delivered (${row.burst.throughputPerSecond} jobs/s)`);
  }
  for (const row of r.bulk?.rows ?? []) if (!(row.itemsPerSecond > 0)) problems.push(`bulk, ${row.system}: ${row.itemsPerSecond} items/s`);
  for (const cell of r.grid?.cells ?? []) if (!(cell.delivered > 0)) problems.push(`grid p${cell.partitions} b${cell.batchSize}: nothing delivered`);
  for (const f of r.faults ?? []) {
    if (!f.faultProven) problems.push(`fault ${f.system}:${f.kill}: the kill did not happen as planned (${JSON.stringify(f.kills)})`);
    if (f.acknowledged === 0) problems.push(`fault ${f.system}:${f.kill}: no job was acknowledged`);
    if (!f.drained) problems.push(`fault ${f.system}:${f.kill}: not drained within ${laneParams.fault.drainTimeoutSeconds} s`);
    // The lane's promise, not a harness check: a regression here must fail CI too.
    if (f.system === 'lane' && (f.lost > 0 || f.duplicated > 0 || f.unexpected > 0)) problems.push(`fault lane:${f.kill}: lost ${f.lost}, duplicated ${f.duplicated}, unexpected ${f.unexpected} (the lane promises none)`);
  }
  return problems;
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
    params: { mode: quick ? 'quick' : 'full', ...laneParams, ...(only ? { only } : {}) },
    startedAt: new Date(started).toISOString(),
    nproc: os.cpus().length,
    endToEnd: runs('e2e') ? await endToEnd(ctx) : undefined,
    bulk: runs('bulk') ? await bulkAcceptance(ctx) : undefined,
    grid: runs('grid') ? await grid(ctx) : undefined,
    faults: runs('fault') ? await faults(ctx) : undefined,
    totalSeconds: 0,
  };
  results.totalSeconds = round((Date.now() - started) / 1000, 0);
  const out = path.join(root, 'bench', 'results', quick || only ? 'lane-quick.json' : 'lane.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  if (results.endToEnd && results.bulk && results.grid) {
    log(`lane vs BullMQ (AOF) end to end: ${results.endToEnd.laneVsBullmqAof}× | bulk acceptance vs addBulk (AOF): ${results.bulk.laneVsAddBulkAof}× | best cell ${JSON.stringify(results.grid.best)}`);
  }
  // The full run is rendered by `npm run bench:report` into docs/; a smoke run renders here, so the report code runs too.
  if (quick) log(`report: ${writeLaneReport(results, path.join(root, 'bench', 'results', 'quick'), '.').join(', ')}`);
  log(`done in ${results.totalSeconds} s: ${path.relative(root, out)}`);
  const problems = harnessProblems(results);
  // Logs of every process stay in the work dir when something is wrong.
  if (problems.length > 0) throw new Error(`the run is not valid (logs in ${workDir}):\n  ${problems.join('\n  ')}`);
  fs.rmSync(workDir, { recursive: true, force: true });
}

runBench('bench:lane', main);
