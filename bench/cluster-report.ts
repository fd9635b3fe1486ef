/**
 * The scale-out section of docs/benchmarks.md, from bench/results/cluster.json (`npm run
 * bench:cluster`): the measured table, where the CPU went, and a projection for a larger
 * deployment, computed from the measured CPU per job and marked as a projection.
 */

/* eslint-disable @typescript-eslint/no-explicit-any -- the shape is whatever bench/cluster.ts measured */
type Results = Record<string, any>;

const n = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

/** The projection's target rate and planning headroom (a process planned at 70 % of a core). */
const TARGET_JOBS_PER_SECOND = 1_000;
const UTILISATION = 0.7;

export function renderClusterSection(r: Results, quick = false): string[] {
  const setups: Results[] = r.setups;
  const m = r.machine;
  const p = r.params;
  const [dev, one, two] = [setups[0], setups[1], setups[2]];
  const names: string[] = [...new Set(setups.flatMap((s) => s.cpu.map((u: Results) => u.name as string)))];
  const cell = (s: Results, name: string) => {
    const u = s.cpu.find((x: Results) => x.name === name);
    return u ? `${n(u.cpuSeconds, 2)} s (${n(u.cpuMsPerJob, 2)} ms/job)` : '';
  };
  const lines = [
    '## 11. Scale-out: the embedded dev server vs a Temporal cluster (`npm run bench:cluster`)',
    '',
    quick
      ? '> **Smoke run (`npm run bench:cluster -- --quick`)**: a small burst, only proves the harness works. Do not read these numbers.'
      : '> Generated from `bench/results/cluster.json` by `npm run bench:report`; rerun with `npm run bench:cluster` (as root: it starts the cluster through `.ci/cluster.sh start`).',
    '',
    `The same burst of ${p.burstJobs} welcome-email jobs (after ${p.warmUpJobs} warm-up jobs), posted by ${p.burstConcurrency} concurrent callers to \`POST /v1/welcome-emails\`,`,
    'on three setups in one run, one after another. Each has one API process, one outbox relay and its Conveyor workers as separate',
    'processes (the roles of `deploy/Procfile`), an SMTP sink in the harness and the app database in SQLite; the follow-up timer is 1 h',
    'and stays pending. (a) the embedded dev server, persisted to a SQLite file as `npm start` runs it; (b) the real Temporal server',
    `${m.temporalServer} as four processes (frontend, history, matching, worker) on PostgreSQL ${m.postgres}, ${m.historyShards} history shards,`,
    'started by `.ci/cluster.sh start` (see docs/deployment.md), one Conveyor worker; (c) the same cluster with two Conveyor workers.',
    'End to end = from the job\'s `202 Accepted` to its email in the SMTP sink; jobs/s = accepted jobs / (last delivery − first POST).',
    'CPU = utime + stime from `/proc/<pid>/stat` over the burst (PostgreSQL: the postmaster and all its backends, including',
    'those that exited; the dev server: its watchdog and the server), so it counts CPU, not waiting for a disk or a lock.',
    '',
    `Machine: ${m.nproc} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}; commit ${m.gitCommit}, run ${r.startedAt}, ${r.totalSeconds} s`,
    `(the cluster's build and start: ${r.clusterStartSeconds} s). Every process, the load generator included, shares those ${m.nproc} cores:`,
    'read the numbers as relative.',
    '',
    '| setup | jobs/s | e2e p50 / p99 ms | accepted (errors, lost, duplicated) | CPU s: Temporal / Conveyor / harness | CPU ms per job (Temporal + Conveyor) | cores busy: these processes / whole machine |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...setups.map(
      (s) =>
        `| ${s.name} | ${n(s.burst.jobsPerSecond)} | ${n(s.burst.endToEnd.p50Ms, 0)} / ${n(s.burst.endToEnd.p99Ms, 0)} | ${s.burst.accepted} (${s.burst.errors}, ${s.burst.lost}, ${s.burst.duplicates}) | ${n(s.cpuSeconds.temporal, 1)} / ${n(s.cpuSeconds.conveyor, 1)} / ${n(s.cpuSeconds.harness, 1)} | ${n(s.cpuMsPerJob, 2)} | ${n(s.coresBusy, 2)} / ${n(s.machineCoresBusy, 2)} of ${m.nproc} |`,
    ),
    '',
  ];
  if (dev && one && two) {
    const cpuBound = setups.every((s) => s.machineCoresBusy >= 0.8 * m.nproc);
    const shared = setups.some((s) => s.machineCoresBusy - s.coresBusy >= 0.2 * m.nproc);
    const secondWorker = two.burst.jobsPerSecond / one.burst.jobsPerSecond;
    lines.push(
      `The cluster ran the burst at **${n(one.burst.jobsPerSecond / dev.burst.jobsPerSecond, 2)}×** the dev server's rate with one worker,`,
      `and a second worker changed the cluster's rate by **${n(secondWorker, 2)}×**. Per job the cluster's processes and Conveyor's spent`,
      `${n(one.cpuMsPerJob, 1)} ms of CPU against ${n(dev.cpuMsPerJob, 1)} ms with the dev server: the same work, split into processes that talk gRPC to`,
      'each other and SQL to PostgreSQL, where the dev server keeps it in one process on SQLite.',
      cpuBound
        ? `The machine's ${m.nproc} cores were at least ${n(80, 0)} % busy in every setup, so the rate follows the CPU per job${secondWorker < 1.05 ? ', and a second worker adds no cores, only one more process competing for them' : ''}.`
        : `The machine's cores were not all busy in every setup (last column): there the limit was not only CPU but waiting (round trips, the workers' task slots, the database's commits).`,
      shared ? '**Other processes took a fifth of the machine or more during at least one burst** (whole machine above these processes): rerun on a quiet machine before reading the ratios.' : '',
      'In a burst most of the end-to-end time is the wait in the backlog: p50 and p99 grow with the burst size.',
      '',
    );
  }
  lines.push(
    '### Where the CPU goes',
    '',
    'CPU seconds during the burst, and per accepted job:',
    '',
    `| process | ${setups.map((s) => s.name).join(' | ')} |`,
    `| --- | ${setups.map(() => '---').join(' | ')} |`,
    ...names.map((name) => `| ${name} | ${setups.map((s) => cell(s, name)).join(' | ')} |`),
    '',
  );
  const basis = two ?? one;
  if (basis) {
    const total = basis.cpu.reduce((sum: number, u: Results) => sum + u.cpuSeconds, 0);
    const ranked = [...basis.cpu].sort((a: Results, b: Results) => b.cpuSeconds - a.cpuSeconds);
    lines.push(
      `In ${basis.name}: ${ranked
        .slice(0, 4)
        .map((u: Results) => `${u.name} ${n((100 * u.cpuSeconds) / total, 0)} %`)
        .join(', ')} of all CPU used during the burst.`,
      '',
    );
    lines.push(...projection(basis));
  }
  return lines;
}

/** Cores per role for a target rate, from the measured CPU per job: a projection, labelled as one. */
function projection(basis: Results): string[] {
  const perJob = (match: (name: string) => boolean) => basis.cpu.filter((u: Results) => match(u.name)).reduce((sum: number, u: Results) => sum + u.cpuMsPerJob, 0);
  const roles = [
    { role: 'Temporal history', ms: perJob((x) => x === 'Temporal history') },
    { role: 'Temporal matching', ms: perJob((x) => x === 'Temporal matching') },
    { role: 'Temporal frontend', ms: perJob((x) => x === 'Temporal frontend') },
    { role: 'Temporal worker (system workflows)', ms: perJob((x) => x === 'Temporal worker') },
    { role: 'PostgreSQL (Temporal\'s)', ms: perJob((x) => x.startsWith('PostgreSQL')) },
    { role: 'Conveyor workers (all)', ms: perJob((x) => x.startsWith('Conveyor worker')) },
    { role: 'Conveyor API', ms: perJob((x) => x === 'Conveyor API') },
    { role: 'Conveyor relay', ms: perJob((x) => x === 'Conveyor relay') },
  ];
  const cores = (ms: number) => (ms * TARGET_JOBS_PER_SECOND) / 1000 / UTILISATION;
  const totalCores = roles.reduce((sum, r) => sum + cores(r.ms), 0);
  const workerMs = roles.find((r) => r.role.startsWith('Conveyor workers'))!.ms;
  const historyCores = cores(roles[0]!.ms);
  return [
    '### PROJECTION for a larger deployment (not a measurement)',
    '',
    `> **This is arithmetic on the CPU per job measured above (${basis.name}), not a measurement of a larger cluster.**`,
    '> It assumes that each role\'s CPU per job stays what it was here as the roles spread over more hosts (no new contention), that',
    '> PostgreSQL is limited by CPU rather than by its disk or locks (the commit log on a real disk, replication and vacuum are not',
    '> modelled), that the hosts talk over a network rather than loopback (more latency per hop, little CPU), and the same job',
    '> (one workflow, one activity, one timer per job). Each role is planned at 70 % of a core. Verify on the target hardware.',
    '',
    `| role | CPU ms per job (measured) | cores for ${TARGET_JOBS_PER_SECOND.toLocaleString('en')} jobs/s (projected) |`,
    '| --- | --- | --- |',
    ...roles.map((r) => `| ${r.role} | ${n(r.ms, 2)} | ${n(cores(r.ms), 1)} |`),
    `| **total** | ${n(roles.reduce((s, r) => s + r.ms, 0), 2)} | **${n(totalCores, 0)}** |`,
    '',
    `- **Workers per core**: a Conveyor worker used ${n(workerMs, 2)} ms of CPU per job, so one worker core carries about`,
    `  ${n((1000 * UTILISATION) / workerMs, 0)} jobs/s at 70 %. A worker process runs workflows on one Node event loop (activities and the`,
    '  SDK\'s Rust core add threads), so plan one worker process per core and add processes, not threads: at',
    `  ${TARGET_JOBS_PER_SECOND.toLocaleString('en')} jobs/s that is about ${Math.ceil(cores(workerMs))} worker processes. Jobs whose activities wait on slow`,
    '  services need fewer cores but more concurrent activity slots (`maxConcurrentActivityTaskExecutions`).',
    `- **History shards**: history needs about ${n(historyCores, 1)} cores at ${TARGET_JOBS_PER_SECOND.toLocaleString('en')} jobs/s. A shard is owned by one history`,
    '  host at a time, so the shard count caps how far history can spread, and it is fixed when the cluster is created: pick it',
    '  for the largest the cluster will ever be, many shards per history host (e.g. 512 for a mid-size cluster, as',
    '  docs/deployment.md says), never the handful used here. The measurement does not show a shard limit: with 4 shards on',
    '  2 cores the CPU ran out first.',
    '- **PostgreSQL** is one primary: it grows by a larger host, not by more processes, and its share of the CPU above says',
    '  how soon that matters; beyond one host, a backend that shards (Cassandra) or Temporal Cloud.',
    '- **Contention**: here every process shared 2 cores, so part of each CPU figure is the cost of sharing them (context',
    '  switches, cold caches); on hosts of their own the roles may need somewhat less per job. The projection does not subtract it.',
    '- **The dev server** cannot be scaled out at all: it is one process. Compare its CPU per job above: on one machine it',
    '  is the cheaper engine, and the cluster earns its extra CPU per job only by spreading over more machines.',
    '',
  ];
}
