/**
 * `npm run bench:engine [-- --quick]`: each engine-path setting Conveyor chose, measured against
 * the alternative in the same run, alternating so drift favours neither. Writes
 * bench/results/engine.json (engine-quick.json for --quick); `npm run bench:report` puts it in
 * docs/benchmarks.md.
 *   dispatch   the dev server's queue-read rate (DEV_SERVER_SETTINGS.dynamicConfig) against the
 *              CLI's default, in memory: Conveyor's welcome email end to end, and the API alone
 *              with no worker;
 *   file       SQLite WAL + synchronous=NORMAL against the CLI's default pragmas, with a database
 *              file as `npm start` keeps one: the same measurement;
 *   smtp pool  Conveyor's pooled SMTP connections against one connection per email;
 *   eager      eager workflow start, which Conveyor does not use: a worker and a client sharing one
 *              NativeConnection, with and without requestEagerStart; and how long a call with a
 *              1 s deadline takes against a stopped server on that connection and on the grpc-js
 *              Connection the API uses (why it is not adopted).
 * The deposit's local activities are measured by `npm run bench:deposits`.
 */
import '../platform/node-version'; // first: a clear error on an unsupported Node
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { DEV_SERVER_SETTINGS } from '../platform/dev-server';
import { ensureTemporalBinaries, TEMPORAL_CLI } from '../platform/temporal-binaries';
import { installTemporalRuntime } from '../worker/worker';
import { measureEndToEnd } from './lib/end-to-end';
import { newHistogram, nowMs, openLoop, summarize } from './lib/load';
import { installCleanup, round } from './lib/procs';
import { createBenchContext, startApiOnly, startSystem, startTemporal, type BenchContext, type SystemVariant } from './systems';
import type { FloorActivities } from './workflows/floor';
import { runBench } from './lib/main';

const quick = process.argv.includes('--quick');
const params = quick
  ? { rounds: 1, e2e: { rate: 10, seconds: 2, burstJobs: 40, burstConcurrency: 16 }, enqueue: { rate: 20, seconds: 1, capacityJobs: 50 }, eagerJobs: 30, eagerBurst: 40 }
  : { rounds: 3, e2e: { rate: 20, seconds: 15, burstJobs: 500, burstConcurrency: 64 }, enqueue: { rate: 100, seconds: 6, capacityJobs: 1500 }, eagerJobs: 300, eagerBurst: 500 };

const log = (line: string) => process.stdout.write(`[bench:engine ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

const STOCK_DISPATCH = { ...DEV_SERVER_SETTINGS, dynamicConfig: {} };
const STOCK_PRAGMAS = { ...DEV_SERVER_SETTINGS, sqlitePragmas: {} };

/** Each comparison: Conveyor's choice first, then the alternative. `enqueueOnly`: also measure the API with no worker. */
const comparisons: Array<{ name: string; chosen: [string, SystemVariant]; alternative: [string, SystemVariant]; enqueueOnly?: boolean }> = [
  { name: 'dispatch', chosen: ['queue reads up to 1000/s', {}], alternative: ['CLI default (20/s)', { server: { settings: STOCK_DISPATCH } }], enqueueOnly: true },
  { name: 'file', chosen: ['WAL, synchronous=NORMAL', { server: { dbFile: true } }], alternative: ['CLI default pragmas', { server: { dbFile: true, settings: STOCK_PRAGMAS } }] },
  { name: 'smtp pool', chosen: ['pooled SMTP', {}], alternative: ['a connection per email', { smtpPool: false }] },
];

async function endToEnd(ctx: BenchContext, label: string, variant: SystemVariant) {
  const sys = await startSystem('conveyor', ctx, label, variant);
  try {
    return await measureEndToEnd(sys, params.e2e);
  } finally {
    await sys.stop();
  }
}

/**
 * The enqueue path alone: Conveyor's API with no worker, so every started workflow waits on the
 * queue. Latency at a fixed open-loop rate, then how many POSTs 64 callers get accepted per second.
 */
async function enqueueOnly(ctx: BenchContext, label: string, variant: SystemVariant) {
  const temporal = await startTemporal(ctx, label, variant.server);
  const api = await startApiOnly(ctx, temporal.address, `${label}-api`);
  try {
    const open = await openLoop({ rate: params.enqueue.rate, durationMs: params.enqueue.seconds * 1000, fire: (i, signal) => api.enqueue(`open-${i}`, signal) });
    const t0 = nowMs();
    let next = 0;
    let errors = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < params.enqueue.capacityJobs) await api.enqueue(`capacity-${next++}`, AbortSignal.timeout(10_000)).catch(() => errors++);
      }),
    );
    const acceptedPerSecond = round((params.enqueue.capacityJobs - errors) / ((nowMs() - t0) / 1000), 1);
    return { rate: params.enqueue.rate, p50Ms: open.latency.p50Ms, p99Ms: open.latency.p99Ms, openLoopErrors: open.errors, capacityErrors: errors, acceptedPerSecond };
  } finally {
    await api.stop();
    await temporal.stop();
  }
}

/** A worker and a client on one NativeConnection, in this process; jobs are the floor workflow. */
async function eagerStart(ctx: BenchContext) {
  // `server.client` is on the grpc-js Connection the API uses; the eager client is on the worker's NativeConnection.
  const server = await startTemporal(ctx, 'eager');
  const connection = await NativeConnection.connect({ address: server.address });
  const client = new Client({ connection });
  const done = new Map<string, () => void>();
  const activities: FloorActivities = {
    async noop(id) {
      done.get(id)?.();
    },
  };
  const worker = await Worker.create({ connection, taskQueue: 'eager', workflowBundle: { codePath: ctx.floorBundle }, activities });
  const running = worker.run();
  const job = async (id: string, eager: boolean) => {
    const delivered = new Promise<void>((resolve) => done.set(id, resolve));
    await client.workflow.start('floor', { taskQueue: 'eager', workflowId: id, args: [id], requestEagerStart: eager });
    await delivered;
    done.delete(id);
  };
  const runs: Array<{ eager: boolean; sequential: ReturnType<typeof summarize>; burstJobsPerSecond: number }> = [];
  try {
    for (let r = 0; r < params.rounds; r++) {
      for (const eager of [true, false]) {
        const h = newHistogram();
        for (let i = 0; i < params.eagerJobs; i++) {
          const t = nowMs();
          await job(`seq-${r}-${eager}-${i}`, eager);
          h.recordValue(Math.max(1, Math.round((nowMs() - t) * 1000)));
        }
        const sequential = summarize(h);
        h.destroy();
        const t0 = nowMs();
        let next = 0;
        await Promise.all(
          Array.from({ length: 32 }, async () => {
            while (next < params.eagerBurst) await job(`burst-${r}-${eager}-${next++}`, eager);
          }),
        );
        const burstJobsPerSecond = round(params.eagerBurst / ((nowMs() - t0) / 1000), 1);
        runs.push({ eager, sequential, burstJobsPerSecond });
        log(`   eager ${eager}: one at a time p50 ${sequential.p50Ms} ms p99 ${sequential.p99Ms} ms | burst ${burstJobsPerSecond} jobs/s`);
      }
    }
  } finally {
    worker.shutdown();
    await running;
  }

  // Why Conveyor does not use it: its API must answer 503 within TEMPORAL_RPC_TIMEOUT when Temporal is down.
  const exited = new Promise((resolve) => server.process.once('exit', resolve));
  server.process.kill('SIGTERM');
  await exited;
  const deadlineMs = 1000;
  const timeDown = async (c: Client) => {
    const t = nowMs();
    await c.withDeadline(Date.now() + deadlineMs, () => c.workflowService.getSystemInfo({})).catch(() => undefined);
    return round(nowMs() - t, 0);
  };
  const serverDown = { deadlineMs, nativeConnectionMs: await timeDown(client), grpcJsConnectionMs: await timeDown(server.client) };
  log(`   server down, ${deadlineMs} ms deadline: NativeConnection answered after ${serverDown.nativeConnectionMs} ms, grpc-js Connection after ${serverDown.grpcJsConnectionMs} ms`);
  await server.stop(); // closes the grpc-js connection; the server has already exited
  await connection.close();
  return { runs, serverDown };
}

async function main() {
  installCleanup();
  installTemporalRuntime();
  ensureTemporalBinaries([TEMPORAL_CLI]);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-bench-engine-'));
  const ctx = await createBenchContext(workDir);
  const started = Date.now();
  const results = [];
  for (const c of comparisons) {
    log(`${c.name}: ${c.chosen[0]} vs ${c.alternative[0]}`);
    const runs = [];
    for (let r = 0; r < params.rounds; r++) {
      // Alternate which goes first, so a machine that drifts (warming up, a busy neighbour) favours neither.
      const order = r % 2 === 0 ? [c.chosen, c.alternative] : [c.alternative, c.chosen];
      for (const [variant, options] of order) {
        const label = `${c.name.replace(/\W/g, '-')}-${r}-${variant === c.chosen[0] ? 'chosen' : 'alternative'}`;
        const measured = await endToEnd(ctx, label, options);
        const enqueue = c.enqueueOnly ? await enqueueOnly(ctx, `${label}-enqueue`, options) : undefined;
        runs.push({ variant, chosen: variant === c.chosen[0], ...measured, ...(enqueue ? { enqueueOnly: enqueue } : {}) });
        log(`   ${variant}: e2e p50 ${measured.rate.endToEnd.p50Ms} ms p99 ${measured.rate.endToEnd.p99Ms} ms | burst ${measured.burst.throughputPerSecond} jobs/s` +
          (enqueue ? ` | no worker: enqueue p50 ${enqueue.p50Ms} ms at ${enqueue.rate}/s, ${enqueue.acceptedPerSecond} accepted/s` : ''));
      }
    }
    results.push({ name: c.name, chosen: c.chosen[0], alternative: c.alternative[0], runs });
  }
  log('eager workflow start (not adopted)');
  const eager = await eagerStart(ctx);

  const summary = {
    mode: quick ? 'quick' : 'full',
    params,
    machine: `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}, Temporal CLI ${TEMPORAL_CLI.version}`,
    startedAt: new Date(started).toISOString(),
    devServerSettings: DEV_SERVER_SETTINGS,
    comparisons: results,
    eager,
    totalSeconds: round((Date.now() - started) / 1000, 0),
  };
  const out = path.join(__dirname, 'results', `engine${quick ? '-quick' : ''}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`);
  fs.rmSync(workDir, { recursive: true, force: true });
  log(`done in ${summary.totalSeconds} s: ${path.relative(process.cwd(), out)}`);
}

runBench('bench:engine', main);
