/**
 * `npm run bench` (a few minutes) and `npm run bench -- --quick` (a smoke run for CI that only
 * fails when the harness itself breaks; its numbers are not judged). Starts every server it
 * uses on loopback, writes bench/results/*.json and the report (docs/benchmarks.md for a full
 * run), and kills every child process on the way out, failures included.
 */
import '../platform/node-version'; // first: a clear error on an unsupported Node
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureTemporalBinaries, TEMPORAL_CLI, TEMPORAL_TEST_SERVER } from '../platform/temporal-binaries';
import { openLoop, saturated } from './lib/load';
import { measureEndToEnd, waitDelivered, withoutSendTimes } from './lib/end-to-end';
import { devServerPid, installCleanup, phaseMeter, round, sampleProc, startChild, type ProcUsage } from './lib/procs';
import { installTemporalRuntime } from '../worker/worker';
import { writeReport } from './report';
import { BARE_TASK_QUEUE, bareWelcomeStart, createBenchContext, startApiOnly, startSystem, startTemporal, type BenchContext, type SystemName } from './systems';
import { timeSkippingThirtyDays } from './time-skipping';
import { runBench } from './lib/main';

const quick = process.argv.includes('--quick');
const root = path.resolve(__dirname, '..');

/** Every size and duration of the run; the report prints this object as the configuration. */
export const params = quick
  ? {
      mode: 'quick',
      enqueueRates: [20, 50],
      enqueueStepSeconds: 1,
      e2eRate: 20,
      e2eSeconds: 2,
      burstJobs: 50,
      burstConcurrency: 32,
      faultRate: 10,
      faultSeconds: 3,
      killEverySeconds: 1.5,
      drainTimeoutSeconds: 5,
      settleSeconds: { temporal: 0, bullmq: 0 },
      memoryWorkflows: [50, 100],
      runNpmTest: false,
    }
  : {
      mode: 'full',
      enqueueRates: [25, 50, 100, 150, 200, 300, 400, 600],
      enqueueStepSeconds: 6,
      // Below the Temporal paths' end-to-end capacity on this machine (~40-50 jobs/s in the burst),
      // so the latency is that of a system keeping up, not of a growing queue.
      e2eRate: 20,
      e2eSeconds: 15,
      burstJobs: 1000,
      burstConcurrency: 64,
      faultRate: 20,
      faultSeconds: 20,
      killEverySeconds: 4,
      drainTimeoutSeconds: 120,
      // How long after the last kill a duplicate can still arrive: a killed Temporal activity is
      // retried after its 30 s start-to-close timeout; a killed BullMQ job after its 30 s lock
      // expires and the next 30 s stalled-job check runs.
      settleSeconds: { temporal: 35, bullmq: 65 },
      memoryWorkflows: [1000, 5000],
      runNpmTest: true,
    };

const log = (line: string) => process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

async function enqueueScenario(ctx: BenchContext) {
  log('1. enqueue latency: Conveyor API vs bare client.workflow.start');
  const temporal = await startTemporal(ctx, 'enqueue');
  // The API alone (no worker): this measures the enqueue path only; started workflows wait on the queue.
  const sys = await startApiOnly(ctx, temporal.address, 'enqueue-api-only');
  type Series = ReturnType<typeof withoutSendTimes>;
  const steps: Array<{ rate: number; api: Series; bare: Series; hop: Series; ratioP50: number; ratioP99: number; usage: ProcUsage[]; saturated?: string }> = [];
  try {
    for (const rate of params.enqueueRates) {
      const durationMs = params.enqueueStepSeconds * 1000;
      const meter = phaseMeter([{ name: 'temporal dev server', pid: devServerPid(temporal) }, { name: 'Conveyor API', pid: sys.apiPid }, { name: 'harness (load + bare client)', pid: process.pid }]);
      const runApi = () => openLoop({ rate, durationMs, fire: (i, signal) => sys.enqueue(`api-${rate}-${i}`, signal) });
      const runBare = () => openLoop({ rate, durationMs, fire: (i, signal) => bareWelcomeStart(temporal.client, BARE_TASK_QUEUE, `bare-${rate}-${i}`, signal).then(() => undefined) });
      // Alternate which goes first: the server slows as started workflows pile up, and neither side should always get the fresher server.
      const apiFirst = steps.length % 2 === 0;
      const first = await (apiFirst ? runApi() : runBare());
      const second = await (apiFirst ? runBare() : runApi());
      const [api, bare] = apiFirst ? [first, second] : [second, first];
      // What the API costs before any Temporal call: the same rate of GET /healthz, an HTTP round trip to an idle handler.
      const hop = await openLoop({ rate, durationMs, fire: (_i, signal) => sys.ping(signal) });
      const usage = meter.finish();
      const why = saturated(api) ?? saturated(bare);
      steps.push({ rate, api: withoutSendTimes(api), bare: withoutSendTimes(bare), hop: withoutSendTimes(hop), ratioP50: round(api.latency.p50Ms / bare.latency.p50Ms, 2), ratioP99: round(api.latency.p99Ms / bare.latency.p99Ms, 2), usage, ...(why ? { saturated: why } : {}) });
      log(`   ${rate}/s: API p50 ${api.latency.p50Ms} ms p99 ${api.latency.p99Ms} ms (${api.errors} err) | bare p50 ${bare.latency.p50Ms} ms p99 ${bare.latency.p99Ms} ms (${bare.errors} err) | HTTP hop p50 ${hop.latency.p50Ms} ms${why ? ` | knee: ${why}` : ''}`);
      if (why) break;
      await sleep(500);
    }
  } finally {
    await sys.stop();
    await temporal.stop();
  }
  return { steps, knee: steps.find((s) => s.saturated)?.rate ?? null };
}

/** End-to-end: enqueue at a fixed open-loop rate, then a burst; latency from intended send to delivery. */
async function endToEndScenario(ctx: BenchContext, name: SystemName) {
  log(`2. end to end: ${name}`);
  const sys = await startSystem(name, ctx, 'e2e');
  try {
    const measured = await measureEndToEnd(sys, { rate: params.e2eRate, seconds: params.e2eSeconds, burstJobs: params.burstJobs, burstConcurrency: params.burstConcurrency });
    log(`   ${name}: e2e p50 ${measured.rate.endToEnd.p50Ms} ms p99 ${measured.rate.endToEnd.p99Ms} ms (${measured.rate.delivered}/${measured.rate.ok}) | burst ${measured.burst.throughputPerSecond} jobs/s`);
    return { system: name, ...measured };
  } finally {
    await sys.stop();
  }
}

/** Under fault: the worker is SIGKILLed and restarted while jobs arrive; then every job must arrive exactly once. */
async function faultScenario(ctx: BenchContext, name: SystemName) {
  log(`3. under fault: ${name}`);
  const sys = await startSystem(name, ctx, 'fault');
  try {
    let kills = 0;
    let lastKill = Date.now();
    let loading = true;
    const killer = (async () => {
      while (loading) {
        await sleep(params.killEverySeconds * 1000);
        if (!loading) break;
        await sys.killWorker();
        kills++;
        lastKill = Date.now();
        await sys.startWorker();
      }
    })();
    const enqueue = await openLoop({ rate: params.faultRate, durationMs: params.faultSeconds * 1000, fire: (i, signal) => sys.enqueue(`fault-${i}`, signal) });
    loading = false;
    await killer;
    const t0 = Date.now();
    const drained = await waitDelivered(sys, enqueue.ok, params.drainTimeoutSeconds * 1000);
    const drainSeconds = (Date.now() - t0) / 1000;
    const settle = params.settleSeconds[name.startsWith('bullmq') ? 'bullmq' : 'temporal'] * 1000;
    await sleep(Math.max(0, lastKill + settle - Date.now()));
    const { byId, unexpected, messageIds } = sys.deliveries();
    let lost = 0;
    let duplicated = 0;
    const duplicates: Array<{ job: string; copies: number; sameMessageId: boolean }> = [];
    for (let i = 0; i < enqueue.sent; i++) {
      const copies = byId.get(`fault-${i}`)?.length ?? 0;
      if (copies === 0) lost++;
      if (copies > 1) {
        duplicated += copies - 1;
        // Conveyor's documented window: a copy re-sent after a crash carries the same Message-ID.
        duplicates.push({ job: `fault-${i}`, copies, sameMessageId: new Set(messageIds?.get(`fault-${i}`) ?? []).size === 1 });
      }
    }
    // A job whose enqueue failed must not be counted lost if it never arrived; it was never accepted.
    const lostAccepted = Math.max(0, lost - enqueue.errors);
    const result = { system: name, jobs: enqueue.sent, accepted: enqueue.ok, enqueueErrors: enqueue.errors, kills, drained, drainSeconds: round(drainSeconds, 1), lost: lostAccepted, duplicated, duplicates: duplicates.slice(0, 20), unexpected };
    log(`   ${name}: ${kills} kills, lost ${lostAccepted}, duplicated ${duplicated}, unexpected ${unexpected}, drained in ${result.drainSeconds} s`);
    return result;
  } finally {
    await sys.stop();
  }
}

/** Worker RSS with N welcome workflows parked on their follow-up timer. */
async function memoryScenario(ctx: BenchContext) {
  log('4. worker memory per open workflow');
  const sys = await startSystem('conveyor', ctx, 'memory');
  try {
    const worker = sys.processes().find((p) => p.name === 'worker')!;
    const server = sys.processes().find((p) => p.name === 'temporal dev server')!;
    await sleep(2000);
    const idle = sampleProc(worker.pid)!;
    const points = [{ workflows: 0, workerRssMiB: round(idle.rssMiB), serverRssMiB: round(sampleProc(server.pid)!.rssMiB) }];
    let started = 0;
    for (const target of params.memoryWorkflows) {
      let nextJob = started;
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          while (nextJob < target) {
            const i = nextJob++;
            await sys.enqueue(`mem-${i}`, AbortSignal.timeout(30_000));
          }
        }),
      );
      started = target;
      if (!(await waitDelivered(sys, target, 300_000))) throw new Error(`only ${sys.deliveredCount()} of ${target} welcome emails arrived`);
      await sleep(3000); // let the last workflow tasks finish and the heap settle
      const w = sampleProc(worker.pid)!;
      points.push({ workflows: target, workerRssMiB: round(w.rssMiB), serverRssMiB: round(sampleProc(server.pid)!.rssMiB) });
      log(`   ${target} open workflows: worker RSS ${round(w.rssMiB)} MiB`);
    }
    // Per workflow from idle to the first size, which fits in the sticky cache; beyond the cache
    // size, evicted workflows cost the worker nothing until their timer fires.
    const first = points[1]!;
    return {
      maxCachedWorkflows: sys.maxCachedWorkflows ?? null,
      points,
      kibPerCachedWorkflow: round(((first.workerRssMiB - points[0]!.workerRssMiB) * 1024) / first.workflows, 1),
    };
  } finally {
    await sys.stop();
  }
}

async function npmTestScenario() {
  log('5b. wall time of npm test');
  const logFile = path.join(root, '.cache', 'bench', 'npm-test.log');
  const t0 = performance.now();
  const child = startChild('npm', ['test'], { cwd: root, logFile, env: process.env });
  const timer = setTimeout(() => void child.stop(), 15 * 60_000);
  await child.exited;
  clearTimeout(timer);
  return { seconds: round((performance.now() - t0) / 1000, 1), exitCode: child.process.exitCode, log: path.relative(root, logFile) };
}

function machine() {
  const redis = (() => {
    try {
      return execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim();
    } catch {
      return 'not installed';
    }
  })();
  const pkg = (name: string) => (JSON.parse(fs.readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  return {
    nproc: Number(execFileSync('nproc', { encoding: 'utf8' }).trim()),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    kernel: os.release(),
    node: process.version,
    temporalSdk: pkg('@temporalio/worker'),
    temporalCli: TEMPORAL_CLI.version,
    temporalTestServer: TEMPORAL_TEST_SERVER.version,
    bullmq: pkg('bullmq'),
    ioredis: pkg('ioredis'),
    redis,
    gitCommit: (() => {
      try {
        return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
      } catch {
        return 'unknown';
      }
    })(),
  };
}

async function main() {
  installCleanup();
  const started = Date.now();
  installTemporalRuntime();
  ensureTemporalBinaries([TEMPORAL_CLI, TEMPORAL_TEST_SERVER], log);
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('redis-server is not on PATH: apt-get install -y redis-server');
  }

  const cacheDir = path.join(root, '.cache', 'bench');
  fs.mkdirSync(cacheDir, { recursive: true });
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-bench-'));
  log(`bundling workflows (work dir ${workDir})`);
  const ctx = await createBenchContext(workDir, cacheDir);

  const systems: SystemName[] = ['floor', 'conveyor', 'bullmq'];
  const results = {
    params,
    machine: machine(),
    startedAt: new Date(started).toISOString(),
    enqueue: await enqueueScenario(ctx),
    endToEnd: [] as Array<Awaited<ReturnType<typeof endToEndScenario>>>,
    fault: [] as Array<Awaited<ReturnType<typeof faultScenario>>>,
    memory: undefined as Awaited<ReturnType<typeof memoryScenario>> | undefined,
    timeSkipping: undefined as Awaited<ReturnType<typeof timeSkippingThirtyDays>> | undefined,
    npmTest: undefined as Awaited<ReturnType<typeof npmTestScenario>> | undefined,
    totalSeconds: 0,
  };
  for (const s of systems) results.endToEnd.push(await endToEndScenario(ctx, s));
  for (const s of systems) results.fault.push(await faultScenario(ctx, s));
  results.memory = await memoryScenario(ctx);
  log('5a. time-skipping test of a 30-day welcome workflow');
  results.timeSkipping = await timeSkippingThirtyDays(ctx.conveyorBundle);
  log(`   ${results.timeSkipping.workflowSeconds} s for 30 days (server start ${results.timeSkipping.serverStartSeconds} s)`);
  if (params.runNpmTest) results.npmTest = await npmTestScenario();
  results.totalSeconds = round((Date.now() - started) / 1000, 0);

  const out = writeReport(results, quick);
  fs.rmSync(workDir, { recursive: true, force: true });
  log(`done in ${results.totalSeconds} s: ${out.join(', ')}`);
}

export type BenchResults = Parameters<typeof writeReport>[0];

runBench('bench', main);
