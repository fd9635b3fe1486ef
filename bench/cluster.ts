/**
 * `npm run bench:cluster` (minutes; run it alone on the machine, as root: it starts PostgreSQL and
 * the Temporal server through .ci/cluster.sh) and `npm run bench:cluster -- --quick` (a smoke run
 * of the harness, 1–2 minutes with a warm Go cache; numbers not judged). Issue 15's scale-out
 * measurement: the same welcome-email burst through Conveyor's API on
 *   (a) the embedded dev server (SQLite file, as `npm start` runs it), one Conveyor worker;
 *   (b) the Temporal cluster of .ci/cluster.sh (frontend, history, matching and worker as four
 *       processes on PostgreSQL), one Conveyor worker;
 *   (c) the same cluster, two Conveyor workers,
 * each with one API and one outbox relay process, the roles as deploy/Procfile runs them. Per
 * setup: jobs accepted → delivered (jobs/s, end-to-end p50/p99 from each job's 202 to its email in
 * the SMTP sink) and every process's CPU seconds during the burst, from /proc/<pid>/stat.
 * Writes bench/results/cluster[-quick].json; `npm run bench:report` renders cluster.json into
 * docs/benchmarks.md (bench/cluster-report.ts), and a --quick run renders to
 * bench/results/quick/cluster.md.
 */
import '../platform/node-version'; // first: a clear error on an unsupported Node
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { startMailCatcher } from '../platform/mail-catcher';
import { freePort } from '../platform/ports';
import { ensureTemporalBinaries, TEMPORAL_CLI } from '../platform/temporal-binaries';
import { installTemporalRuntime } from '../worker/worker';
import { renderClusterSection } from './cluster-report';
import { newHistogram, nowMs, postJson, summarize } from './lib/load';
import { installCleanup, round, startNodeChild, type Child } from './lib/procs';
import { countEml, createBenchContext, readApiKey, readDeliveries, startReadyChild, startTemporal, type BenchContext } from './systems';
import { runBench } from './lib/main';

const quick = process.argv.includes('--quick');
const root = path.resolve(__dirname, '..');

export const clusterParams = quick ? { burstJobs: 100, burstConcurrency: 16, warmUpJobs: 10 } : { burstJobs: 2_000, burstConcurrency: 64, warmUpJobs: 50 };
const DELIVERY_TIMEOUT_MS = quick ? 60_000 : 600_000;

const log = (line: string) => process.stdout.write(`[bench:cluster ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

// ---- CPU from /proc ----

const CLOCK_TICKS = 100; // USER_HZ on Linux x86-64 and arm64

/** The fields after the command name of /proc/<pid>/stat (index 0 is field 3, the state). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Live children of `pid` (one level). */
function childrenOf(pid: number): number[] {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((p) => statFields(p)?.[1] === String(pid));
}

/**
 * CPU seconds of a process (utime + stime), and with `children` also of its direct children: those
 * that exited and were waited for (cutime + cstime) and the live ones. A difference of two readings
 * is then exact for a process that forks workers during the phase (PostgreSQL starts a backend per
 * connection) or runs its real work in a child (the dev server's watchdog).
 */
function cpuSeconds(pid: number, children: boolean): number | undefined {
  const own = statFields(pid);
  if (!own) return undefined;
  const ticks = (f: string[], from: number, count: number) => f.slice(from, from + count).reduce((sum, v) => sum + Number(v), 0);
  let total = ticks(own, 11, children ? 4 : 2);
  for (const child of children ? childrenOf(pid) : []) {
    const f = statFields(child);
    if (f) total += ticks(f, 11, 2);
  }
  return total / CLOCK_TICKS;
}

/** Busy CPU seconds of the whole machine so far (every core; /proc/stat minus idle and iowait). */
function machineBusySeconds(): number {
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, /* idle */, /* iowait */, irq, softirq, steal] = fields;
  return [user, nice, system, irq, softirq, steal].reduce((sum: number, v) => sum + (v ?? 0), 0) / CLOCK_TICKS;
}

interface Measured {
  name: string;
  /** Temporal (the dev server or a cluster service, PostgreSQL), Conveyor (its roles), harness. */
  group: 'temporal' | 'conveyor' | 'harness';
  pid: number;
  /** Count its children too (PostgreSQL's backends, the dev server under its watchdog). */
  children?: boolean;
}

function cpuMeter(procs: Measured[]) {
  const started = performance.now();
  const before = new Map(procs.map((p) => [p.pid, cpuSeconds(p.pid, p.children === true)]));
  const machineBefore = machineBusySeconds();
  return () => {
    const wall = (performance.now() - started) / 1000;
    const usage = procs.map((p) => {
      const a = before.get(p.pid);
      const b = cpuSeconds(p.pid, p.children === true);
      const used = a === undefined || b === undefined ? NaN : b - a;
      return { name: p.name, group: p.group, pid: p.pid, cpuSeconds: round(used, 2), cpuCores: round(used / wall, 2) };
    });
    return { usage, wallSeconds: wall, machineCoresBusy: round((machineBusySeconds() - machineBefore) / wall, 2) };
  };
}

// ---- the cluster (.ci/cluster.sh start / stop) ----

interface Cluster {
  address: string;
  dir: string;
  postmasterPid: number;
  startSeconds: number;
}

async function startCluster(): Promise<Cluster> {
  const t0 = Date.now();
  const script = path.join(root, '.ci', 'cluster.sh');
  const child = spawn(script, ['start'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const found: Record<string, string> = {};
  const tail: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    readline.createInterface({ input: stream }).on('line', (line) => {
      const m = /^(CLUSTER_\w+)=(.*)$/.exec(line);
      if (m) found[m[1]!] = m[2]!;
      else if (line.startsWith('[cluster')) log(line);
      tail.push(line);
      if (tail.length > 30) tail.shift();
    });
  }
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0 || !found.CLUSTER_ADDRESS || !found.CLUSTER_DIR || !found.CLUSTER_PG_PID) {
    throw new Error(`.ci/cluster.sh start failed (exit ${code}):\n${tail.join('\n')}`);
  }
  // Stop it however this process ends (an exit handler runs nothing asynchronous: spawnSync).
  process.on('exit', stopCluster);
  return { address: found.CLUSTER_ADDRESS, dir: found.CLUSTER_DIR, postmasterPid: Number(found.CLUSTER_PG_PID), startSeconds: round((Date.now() - t0) / 1000, 0) };
}

let clusterStopped = false;
function stopCluster(): void {
  if (clusterStopped) return;
  clusterStopped = true;
  spawnSync(path.join(root, '.ci', 'cluster.sh'), ['stop'], { cwd: root, stdio: 'ignore' });
}

const clusterProcesses = (c: Cluster): Measured[] => [
  ...['frontend', 'history', 'matching', 'worker'].map((service) => ({
    name: `Temporal ${service}`,
    group: 'temporal' as const,
    pid: Number(fs.readFileSync(path.join(c.dir, `${service}.pid`), 'utf8').trim()),
  })),
  { name: 'PostgreSQL (postmaster + backends)', group: 'temporal', pid: c.postmasterPid, children: true },
];

// ---- Conveyor's roles against one Temporal ----

interface Setup {
  name: string;
  temporal: string;
  address: string;
  workers: number;
  temporalProcesses: Measured[];
}

async function runSetup(ctx: BenchContext, setup: Setup, label: string) {
  const dir = path.join(ctx.workDir, label);
  const mailbox = path.join(dir, 'mailbox');
  fs.mkdirSync(dir, { recursive: true });
  const stops: Array<() => Promise<void>> = [];
  try {
    const sink = await startMailCatcher({ host: '127.0.0.1', port: 0, dir: mailbox });
    stops.push(() => sink.close());
    const env: NodeJS.ProcessEnv = {
      TEMPORAL_ADDRESS: setup.address,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: `bench-${label}`,
      CONVEYOR_DATA_DIR: dir,
      MAIL_CATCHER_PORT: String(sink.port),
      SMTP_URL: `smtp://127.0.0.1:${sink.port}`,
      WELCOME_FOLLOW_UP_DELAY: '1h', // only the first email is measured; the follow-up stays pending
      LOG_LEVEL: 'warn',
      BENCH_WORKER_MODE: 'conveyor',
      WORKFLOW_BUNDLE_PATH: ctx.conveyorBundle,
    };
    const workers: Child[] = [];
    stops.push(async () => void (await Promise.all(workers.map((w) => w.stop()))));
    const port = await freePort();
    // LOG_LEVEL info as in production: one JSON line per request (to /dev/null here).
    const api = startNodeChild(path.join(root, 'bench/api-proc.ts'), { ...env, PORT: String(port), LOG_LEVEL: 'info' }, path.join(dir, 'api.log'));
    stops.push(() => api.stop());
    const url = `http://127.0.0.1:${port}`;
    for (const deadline = Date.now() + 60_000; !(await fetch(`${url}/readyz`).then((r) => r.ok, () => false)); ) {
      if (api.process.exitCode !== null || Date.now() > deadline) throw new Error(`API did not become ready (see ${dir}/api.log)`);
      await sleep(100);
    }
    const relay = startNodeChild(path.join(root, 'bench/relay-proc.ts'), env, path.join(dir, 'relay.log'));
    stops.push(() => relay.stop());
    for (let i = 1; i <= setup.workers; i++) workers.push((await startReadyChild(path.join(root, 'bench/worker-proc.ts'), env, path.join(dir, `worker-${i}.log`))).child);
    const apiKey = await readApiKey(dir);

    const delivered = () => {
      const byId = new Map<string, number[]>();
      for (const d of readDeliveries(mailbox)) {
        const id = /^welcome-email:(.+)\/welcome$/.exec(d.key)?.[1];
        if (id) byId.set(id, [...(byId.get(id) ?? []), d.at]);
      }
      return byId;
    };
    let expected = 0; // emails the sink should hold once every accepted job was delivered
    const waitDelivered = async (ids: string[], timeoutMs: number) => {
      expected += ids.length;
      for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(200)) {
        // Count files while waiting (parsing thousands of them every 200 ms would take the cores
        // the system under test needs); parse once the count says everything may be there.
        if (countEml(mailbox) < expected) continue;
        const byId = delivered();
        if (ids.every((id) => byId.has(id))) return true;
      }
      return false;
    };

    // Warm-up: connections, the workers' caches, the shards' first tasks. Not measured.
    const warm = Array.from({ length: clusterParams.warmUpJobs }, (_, i) => `${label}-warm-${i}`);
    await Promise.all(warm.map((id) => postJson(`${url}/v1/welcome-emails`, email(id), AbortSignal.timeout(30_000), apiKey)));
    if (!(await waitDelivered(warm, 60_000))) throw new Error(`${setup.name}: the warm-up jobs were not all delivered within 60 s`);

    const procs: Measured[] = [
      ...setup.temporalProcesses,
      { name: 'Conveyor API', group: 'conveyor', pid: api.pid },
      ...workers.map((w, i) => ({ name: `Conveyor worker ${i + 1}`, group: 'conveyor' as const, pid: w.pid })),
      { name: 'Conveyor relay', group: 'conveyor', pid: relay.pid },
      { name: 'harness (load generator + SMTP sink)', group: 'harness', pid: process.pid },
    ];
    const meter = cpuMeter(procs);
    const acceptedAt = new Map<string, number>();
    const errorSamples: string[] = [];
    let errors = 0;
    let next = 0;
    const t0 = nowMs();
    await Promise.all(
      Array.from({ length: clusterParams.burstConcurrency }, async () => {
        while (next < clusterParams.burstJobs) {
          const id = `${label}-burst-${next++}`;
          try {
            await postJson(`${url}/v1/welcome-emails`, email(id), AbortSignal.timeout(30_000), apiKey);
            acceptedAt.set(id, nowMs());
          } catch (err) {
            errors++;
            if (errorSamples.length < 5) errorSamples.push(String((err as Error)?.message ?? err));
          }
        }
      }),
    );
    const enqueueSeconds = (nowMs() - t0) / 1000;
    const allDelivered = await waitDelivered([...acceptedAt.keys()], DELIVERY_TIMEOUT_MS);
    const { usage, wallSeconds, machineCoresBusy } = meter();
    const byId = delivered();
    const h = newHistogram();
    let lastAt = t0;
    let duplicates = 0;
    let lost = 0;
    for (const [id, accepted] of acceptedAt) {
      const at = byId.get(id);
      if (!at) {
        lost++;
        continue;
      }
      duplicates += at.length - 1;
      lastAt = Math.max(lastAt, ...at);
      h.recordValue(Math.max(1, Math.round((Math.min(...at) - accepted) * 1000)));
    }
    const endToEnd = summarize(h);
    h.destroy();
    const seconds = (lastAt - t0) / 1000;
    const accepted = acceptedAt.size;
    const cpuTotal = usage.reduce((sum, u) => sum + (Number.isFinite(u.cpuSeconds) ? u.cpuSeconds : 0), 0);
    const cpuOf = (group: Measured['group']) => round(usage.filter((u) => u.group === group).reduce((s, u) => s + u.cpuSeconds, 0), 2);
    const systemCpu = cpuOf('temporal') + cpuOf('conveyor');
    const result = {
      name: setup.name,
      temporal: setup.temporal,
      workers: setup.workers,
      burst: {
        jobs: clusterParams.burstJobs,
        accepted,
        errors,
        errorSamples,
        enqueueSeconds: round(enqueueSeconds, 2),
        acceptedPerSecond: round(accepted / enqueueSeconds, 1),
        allDelivered,
        lost,
        duplicates,
        seconds: round(seconds, 2),
        jobsPerSecond: round(accepted / seconds, 1),
        endToEnd,
      },
      cpu: usage.map((u) => ({ ...u, cpuMsPerJob: round((u.cpuSeconds * 1000) / accepted, 2) })),
      cpuSeconds: { total: round(cpuTotal, 2), temporal: cpuOf('temporal'), conveyor: cpuOf('conveyor'), harness: cpuOf('harness') },
      /** Temporal and Conveyor together, the harness left out: what the setup itself spent per job. */
      cpuMsPerJob: round((systemCpu * 1000) / accepted, 2),
      /** Cores busy on average during the burst (everything measured, the harness included). */
      coresBusy: round(cpuTotal / wallSeconds, 2),
      /** The same for the whole machine: more than coresBusy when something else ran too. */
      machineCoresBusy,
    };
    log(`${setup.name}: ${result.burst.jobsPerSecond} jobs/s, e2e p50 ${endToEnd.p50Ms} ms p99 ${endToEnd.p99Ms} ms, ${accepted} accepted (${errors} errors, ${lost} lost, ${duplicates} duplicated), ${result.cpuMsPerJob} CPU ms/job (Temporal + Conveyor), ${result.coresBusy} cores busy (machine: ${machineCoresBusy})`);
    return result;
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}

const email = (id: string) => ({ userId: id, email: `${id}@bench.example`, name: 'Bench' });

function machine(cluster: Cluster) {
  const script = fs.readFileSync(path.join(root, '.ci', 'cluster.sh'), 'utf8');
  const serverConfig = fs.readFileSync(path.join(root, 'deploy', 'temporal', 'config.yaml'), 'utf8');
  const pgVersion = fs.readFileSync(`/proc/${cluster.postmasterPid}/cmdline`, 'utf8').match(/postgresql\/(\d+)\//)?.[1];
  return {
    nproc: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    node: process.version,
    temporalServer: /^TEMPORAL_VERSION=(\S+)/m.exec(script)?.[1],
    historyShards: Number(process.env.TEMPORAL_NUM_HISTORY_SHARDS ?? /numHistoryShards: \{\{ default "(\d+)"/.exec(serverConfig)?.[1]),
    postgres: pgVersion,
    gitCommit: spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim(),
  };
}

async function main() {
  installCleanup();
  installTemporalRuntime();
  ensureTemporalBinaries([TEMPORAL_CLI], log);
  const started = Date.now();
  const cacheDir = path.join(root, '.cache', 'bench');
  fs.mkdirSync(cacheDir, { recursive: true });
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-bench-cluster-'));
  log(`bundling workflows (work dir ${workDir})`);
  const ctx = await createBenchContext(workDir, cacheDir);
  const setups = [];

  // (a) The embedded dev server, persisted to a SQLite file as `npm start` runs it.
  const dev = await startTemporal(ctx, 'cluster-bench', { dbFile: true });
  try {
    setups.push(await runSetup(ctx, { name: '(a) embedded dev server, 1 worker', temporal: 'dev server', address: dev.address, workers: 1, temporalProcesses: [{ name: 'Temporal dev server', group: 'temporal', pid: dev.process.pid!, children: true }] }, 'dev-1w'));
  } finally {
    await dev.stop();
  }

  // (b), (c) The cluster: one start, two setups on their own task queues.
  log('starting the Temporal cluster (.ci/cluster.sh start)');
  const cluster = await startCluster();
  log(`cluster at ${cluster.address}, started in ${cluster.startSeconds} s`);
  try {
    for (const workers of [1, 2]) {
      setups.push(await runSetup(ctx, { name: `(${workers === 1 ? 'b' : 'c'}) cluster, ${workers} worker${workers > 1 ? 's' : ''}`, temporal: 'cluster', address: cluster.address, workers, temporalProcesses: clusterProcesses(cluster) }, `cluster-${workers}w`));
    }
    const results = {
      params: { mode: quick ? 'quick' : 'full', ...clusterParams },
      startedAt: new Date(started).toISOString(),
      machine: machine(cluster),
      clusterStartSeconds: cluster.startSeconds,
      setups,
      totalSeconds: round((Date.now() - started) / 1000, 0),
    };
    const out = path.join(root, 'bench', 'results', quick ? 'cluster-quick.json' : 'cluster.json');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
    if (quick) {
      const md = path.join(root, 'bench', 'results', 'quick', 'cluster.md');
      fs.mkdirSync(path.dirname(md), { recursive: true });
      fs.writeFileSync(md, `${renderClusterSection(results, true).join('\n')}\n`);
      log(`rendered ${path.relative(root, md)}`);
    } else {
      log('render it into docs/benchmarks.md with: npm run bench:report');
    }
    log(`done in ${results.totalSeconds} s: ${path.relative(root, out)}`);
  } finally {
    stopCluster();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

runBench('bench:cluster', main);
