/**
 * Results JSON plus a Markdown report with SVG charts. A full run writes docs/benchmarks.md and
 * docs/benchmarks/*.svg (committed); a --quick run writes the same under bench/results/quick/
 * (git-ignored), so a smoke run never overwrites the published numbers.
 */
import '../platform/node-version'; // first: a clear error on an unsupported Node
import fs from 'node:fs';
import path from 'node:path';
import { renderClusterSection } from './cluster-report';
import { KNEE_GAIN } from './lib/knee';
import { barChart, lineChart } from './lib/svg';
import { obsSection } from './obs-report';

/* eslint-disable @typescript-eslint/no-explicit-any -- the shape is whatever run.ts measured */
type Results = Record<string, any>;

const root = path.resolve(__dirname, '..');
const names: Record<string, string> = { floor: '(a) engine floor', conveyor: '(b) Conveyor', bullmq: '(c) BullMQ'};
const usageText = (usage: Array<{ name: string; cpuCores: number; peakRssMiB: number }>) =>
  usage.map((u) => `${u.name}: ${u.cpuCores} cores, ${u.peakRssMiB} MiB`).join('<br>');

export function writeReport(r: Results, quick: boolean): string[] {
  const docDir = quick ? path.join(root, 'bench', 'results', 'quick') : path.join(root, 'docs');
  const chartDir = quick ? docDir : path.join(docDir, 'benchmarks');
  const chartRel = quick ? '.' : 'benchmarks';
  fs.mkdirSync(chartDir, { recursive: true });
  const jsonFile = quick
    ? path.join(root, 'bench', 'results', 'quick', 'latest.json')
    : path.join(root, 'bench', 'results', `full-${r.startedAt.slice(0, 19).replace(/[:T]/g, '-')}.json`);
  fs.mkdirSync(path.dirname(jsonFile), { recursive: true });
  fs.writeFileSync(jsonFile, `${JSON.stringify(r, null, 2)}\n`);

  const charts: Record<string, string> = {};
  const steps: any[] = r.enqueue.steps;
  charts['enqueue-latency.svg'] = lineChart({
    title: 'Enqueue latency (open loop, from intended send time)',
    xLabel: 'requests per second',
    yLabel: 'milliseconds (log scale)',
    x: steps.map((s) => s.rate),
    series: [
      { name: 'API p50', y: steps.map((s) => s.api.latency.p50Ms) },
      { name: 'API p99', y: steps.map((s) => s.api.latency.p99Ms) },
      { name: 'bare start p50', y: steps.map((s) => s.bare.latency.p50Ms) },
      { name: 'bare start p99', y: steps.map((s) => s.bare.latency.p99Ms) },
      ...(steps.every((s) => s.hop) ? [{ name: 'HTTP hop p50 (GET /healthz)', y: steps.map((s) => s.hop.latency.p50Ms) }] : []),
    ],
  });
  const e2e: any[] = r.endToEnd;
  charts['end-to-end-latency.svg'] = barChart({
    title: `End-to-end latency at ${r.params.e2eRate} jobs/s (enqueue → delivered)`,
    yLabel: 'milliseconds',
    categories: e2e.map((e) => names[e.system] ?? e.system),
    series: [
      { name: 'p50', values: e2e.map((e) => e.rate.endToEnd.p50Ms) },
      { name: 'p99', values: e2e.map((e) => e.rate.endToEnd.p99Ms) },
      { name: 'p99.9', values: e2e.map((e) => e.rate.endToEnd.p999Ms) },
    ],
  });
  charts['throughput.svg'] = barChart({
    title: `Throughput: burst of ${r.params.burstJobs} jobs until the last is delivered`,
    yLabel: 'jobs per second',
    categories: e2e.map((e) => names[e.system] ?? e.system),
    series: [{ name: 'jobs/s', values: e2e.map((e) => e.burst.throughputPerSecond) }],
  });
  const fault: any[] = r.fault;
  charts['fault.svg'] = barChart({
    title: 'Under fault: worker SIGKILLed and restarted',
    yLabel: 'emails (or no-op runs)',
    categories: fault.map((f) => names[f.system] ?? f.system),
    series: [
      { name: 'lost', values: fault.map((f) => f.lost) },
      { name: 'duplicated', values: fault.map((f) => f.duplicated) },
      { name: 'unexpected', values: fault.map((f) => f.unexpected) },
    ],
  });
  const mem: any[] = r.memory.points;
  charts['memory.svg'] = barChart({
    title: 'Worker RSS with welcome workflows waiting on their timer',
    yLabel: 'MiB',
    categories: mem.map((p) => `${p.workflows} workflows`),
    series: [
      { name: 'worker RSS', values: mem.map((p) => p.workerRssMiB) },
      { name: 'dev server RSS', values: mem.map((p) => p.serverRssMiB) },
    ],
  });
  for (const [file, svg] of Object.entries(charts)) fs.writeFileSync(path.join(chartDir, file), svg);

  const m = r.machine;
  const p = r.params;
  const floor = e2e.find((e) => e.system === 'floor');
  const conv = e2e.find((e) => e.system === 'conveyor');
  const belowKnee = steps.filter((s) => !s.saturated);
  const worstRatio = belowKnee.length ? Math.max(...belowKnee.map((s) => s.ratioP50)) : undefined;
  const tputRatio = floor && conv ? conv.burst.throughputPerSecond / floor.burst.throughputPerSecond : undefined;
  const convFault = fault.find((f) => f.system === 'conveyor');
  const verdict = (ok: boolean | undefined) => (ok === undefined ? 'n/a' : ok ? 'met' : '**not met**');

  const lines = [
    '# Benchmarks',
    '',
    quick
      ? '> **Smoke run (`npm run bench -- --quick`)**: tiny sizes, only proves the harness works. Do not read these numbers.'
      : '> Generated by `npm run bench`; do not edit by hand. Raw results: `' + path.relative(root, jsonFile) + '`.',
    '',
    'What Conveyor costs over the bare Temporal engine, and against the Redis job queue a user might pick',
    'instead, measured side by side in one run on one machine. Everything runs on loopback: the Temporal',
    'dev server (in-memory), Redis (in-memory), the SMTP sink, the APIs, the workers *and the load generator*,',
    'so all of them share the same cores. Read the numbers as relative (ratios between rows of the same run),',
    'not as capacity figures for a real deployment; on a 2-core machine they are noisy, and the development',
    'runs were made while other jobs (the test suite) ran on the same machine.',
    '',
    '## Configuration',
    '',
    '| | |',
    '| --- | --- |',
    `| machine | ${m.nproc} CPUs (\`nproc\`), ${m.cpuModel}, ${m.memoryGiB} GiB, Linux ${m.kernel} |`,
    `| software | Node ${m.node}, Temporal TypeScript SDK ${m.temporalSdk}, Temporal CLI dev server ${m.temporalCli} (in-memory SQLite, Conveyor's \`DEV_SERVER_SETTINGS\`: queue reads up to 1000/s, section 9), test server ${m.temporalTestServer}, BullMQ ${m.bullmq}, ioredis ${m.ioredis}, ${m.redis} (\`--save "" --appendonly no\`) |`,
    `| commit | ${m.gitCommit}, run started ${r.startedAt}, took ${r.totalSeconds} s |`,
    `| enqueue | open loop, rates ${p.enqueueRates.join(', ')} req/s (stopping after the knee), ${p.enqueueStepSeconds} s per rate and variant, no worker running |`,
    `| end to end | ${p.e2eRate} jobs/s open loop for ${p.e2eSeconds} s, then a burst of ${p.burstJobs} jobs from ${p.burstConcurrency} concurrent callers |`,
    `| fault | ${p.faultRate} jobs/s for ${p.faultSeconds} s, worker SIGKILLed ${p.killEverySeconds} s after each restart (a restart takes a few seconds more), then up to ${p.drainTimeoutSeconds} s to drain, and counting only once ${p.settleSeconds.temporal} s (Temporal) / ${p.settleSeconds.bullmq} s (BullMQ) have passed since the last kill, so late retries and their duplicates are seen |`,
    `| Temporal worker | SDK defaults (maxCachedWorkflows ${r.memory.maxCachedWorkflows}, up to 100 concurrent activities), Conveyor's createWorker() unchanged |`,
    `| BullMQ worker | concurrency ${process.env.BENCH_BULLMQ_CONCURRENCY ?? 50}, attempts 10 with exponential backoff from 1 s, default lock (30 s) and stalled-job settings |`,
    '| processes | each system gets a fresh server, its own worker process, API process, SMTP sink and SQLite `sent_emails` database; the harness process runs the load generator, the bare client and the SMTP sinks |',
    '| latency | HDR histogram (hdr-histogram-js), measured from the *intended* send time of each request, so a stall is not hidden (coordinated omission corrected) |',
    '| CPU, RSS | `/proc/<pid>/stat` utime+stime over the phase (cores = CPU seconds per wall second) and VmHWM (peak RSS, reset at the start of each phase via `clear_refs`) |',
    '',
    '## Goals from issue 7',
    '',
    '| goal | measured | |',
    '| --- | --- | --- |',
    `| API p50 within 1.3× of the bare start at every rate below the knee | worst ratio ${worstRatio ?? 'n/a'} | ${verdict(worstRatio === undefined ? undefined : worstRatio <= 1.3)} |`,
    `| Conveyor end-to-end throughput ≥ 0.8× the engine floor | ${tputRatio === undefined ? 'n/a' : tputRatio.toFixed(2)}× | ${verdict(tputRatio === undefined ? undefined : tputRatio >= 0.8)} |`,
    `| zero lost and zero duplicated emails under fault (Conveyor) | lost ${convFault?.lost}, duplicated ${convFault?.duplicated} | ${verdict(convFault ? convFault.lost === 0 && convFault.duplicated === 0 : undefined)} |`,
    '',
    '## 1. Enqueue latency: `POST /v1/welcome-emails` vs a bare `client.workflow.start`',
    '',
    'The bare loop makes the very start call the API makes (same workflow, ID policies, search attribute,',
    'summary and details) from the harness process; the API adds HTTP, JSON parsing, zod validation,',
    'correlation IDs and a log line per request. Ratio = API / bare. "HTTP hop" is the same rate of `GET /healthz` on',
    'the same API process: the round trip to a second process that does nothing, which any HTTP front door pays.',
    '',
    `![enqueue latency](${chartRel}/enqueue-latency.svg)`,
    '',
    '| rate/s | API p50 / p99 / p99.9 ms | bare p50 / p99 / p99.9 ms | ratio p50 | ratio p99 | HTTP hop p50 / p99 ms | API achieved/s (errors) | bare achieved/s (errors) | CPU, peak RSS | |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...steps.map(
      (s) =>
        `| ${s.rate} | ${s.api.latency.p50Ms} / ${s.api.latency.p99Ms} / ${s.api.latency.p999Ms} | ${s.bare.latency.p50Ms} / ${s.bare.latency.p99Ms} / ${s.bare.latency.p999Ms} | ${s.ratioP50} | ${s.ratioP99} | ${s.hop ? `${s.hop.latency.p50Ms} / ${s.hop.latency.p99Ms}` : 'n/a'} | ${s.api.achievedRate} (${s.api.errors}) | ${s.bare.achievedRate} (${s.bare.errors}) | ${usageText(s.usage)} | ${s.saturated ? `knee: ${s.saturated}` : ''} |`,
    ),
    '',
    steps.every((s) => s.hop)
      ? `The API's extra p50 over the bare start, against the HTTP hop's own p50: ${steps.filter((s) => !s.saturated).map((s) => `${s.rate}/s ${(s.api.latency.p50Ms - s.bare.latency.p50Ms).toFixed(1)} vs ${s.hop.latency.p50Ms} ms`).join('; ')}. At low rates most of the gap is that round trip to a second process; the rest is Express, JSON, zod and the log line (about 1 ms of CPU per request, spread over them). Nearer the knee the API also waits for CPU, which it shares with the server and the load generator on 2 cores.`
      : '',
    '',
    r.enqueue.knee ? `Knee: ${r.enqueue.knee} req/s (first rate with >1 % errors, achieved < 90 % of the target, or p99 > 1 s).` : 'No knee within the rates tried.',
    '',
    '## 2. End to end: accepted → delivered',
    '',
    '(a) floor: bare `client.workflow.start` of a bench-only workflow whose one activity does nothing but tell',
    'the harness (over IPC) that it ran; (b) Conveyor: `POST /v1/welcome-emails`, the welcome workflow, idempotent',
    'SMTP send recorded in `sent_emails`, delivered = the `.eml` file in the SMTP sink (its first email; the',
    'follow-up timer is 1 h and stays pending); (c) BullMQ: the same POST on a small Express API that validates',
    'with Conveyor\'s schema and adds a BullMQ job, a BullMQ worker calling Conveyor\'s own `sendEmail` (same SMTP',
    'sink, same `sent_emails` key `welcome-email:<userId>/welcome`).',
    '',
    `![end-to-end latency](${chartRel}/end-to-end-latency.svg) ![throughput](${chartRel}/throughput.svg)`,
    '',
    '| system | enqueue p50 / p99 ms | end-to-end p50 / p99 / p99.9 / max ms | delivered | burst throughput jobs/s | vs floor | CPU, peak RSS (rate phase) | CPU, peak RSS (burst) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...e2e.map(
      (e) =>
        `| ${names[e.system]} | ${e.rate.latency.p50Ms} / ${e.rate.latency.p99Ms} | ${e.rate.endToEnd.p50Ms} / ${e.rate.endToEnd.p99Ms} / ${e.rate.endToEnd.p999Ms} / ${e.rate.endToEnd.maxMs} | ${e.rate.delivered}/${e.rate.ok} | ${e.burst.throughputPerSecond} (${e.burst.jobs} in ${e.burst.seconds} s, ${e.burst.errors} errors) | ${floor ? (e.burst.throughputPerSecond / floor.burst.throughputPerSecond).toFixed(2) : ''}× | ${usageText(e.rate.usage)} | ${usageText(e.burst.usage)} |`,
    ),
    '',
    'Conveyor keeps its SMTP connections open (a pool); section 9 measures what that and the dev-server settings buy.',
    '',
    '## 3. Under fault: worker SIGKILLed and restarted',
    '',
    'Lost = accepted and never delivered; duplicated = extra copies of one job\'s email (or extra runs of the',
    'no-op activity, which has no idempotency record: the floor shows what at-least-once means without one);',
    'unexpected = emails that belong to no job of the run.',
    '',
    `![fault](${chartRel}/fault.svg)`,
    '',
    '| system | jobs accepted (enqueue errors) | kills | all delivered | drain after load s | lost | duplicated | unexpected |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...fault.map((f) => `| ${names[f.system]} | ${f.accepted} (${f.enqueueErrors}) | ${f.kills} | ${f.drained ? 'yes' : '**no**'} | ${f.drainSeconds} | ${f.lost} | ${f.duplicated}${f.duplicates?.length ? ` (same Message-ID on every copy: ${f.duplicates.every((d: any) => d.sameMessageId) ? 'yes' : 'no'})` : ''} | ${f.unexpected} |`),
    '',
    'A duplicated email with the same Message-ID on every copy is the window docs/architecture.md describes: the',
    'worker died after the SMTP server had the message and before `sent_emails` recorded it, so the retry sent it',
    'again. For (b) and (c) it is the same code (`sendEmail`) and the same window; whether a run hits it is luck of',
    'where each SIGKILL lands.',
    '',
    '## 4. Worker memory per open workflow',
    '',
    `Welcome workflows started through the API, each having sent its first email and now waiting on its 1 h`,
    `follow-up timer; RSS 3 s after the last email. Sticky cache: maxCachedWorkflows = ${r.memory.maxCachedWorkflows}, the SDK default`,
    '(derived from the V8 heap limit; Conveyor\'s createWorker() does not set it). Past that number the worker evicts',
    'workflows from its cache (their history stays on the server and is replayed when the timer fires), so at the',
    'larger size not every open workflow is held in the worker; the server holds all of them.',
    '',
    `![memory](${chartRel}/memory.svg)`,
    '',
    '| open workflows | worker RSS MiB | dev server RSS MiB |',
    '| --- | --- | --- |',
    ...mem.map((pt) => `| ${pt.workflows} | ${pt.workerRssMiB} | ${pt.serverRssMiB} |`),
    '',
    `About ${r.memory.kibPerCachedWorkflow} KiB of worker RSS per cached open workflow (idle → ${mem[1]?.workflows} workflows).`,
    '',
    '## 5. Test speed',
    '',
    '| what | wall time |',
    '| --- | --- |',
    `| time-skipping test server start | ${r.timeSkipping.serverStartSeconds} s |`,
    `| welcome workflow with a ${r.timeSkipping.followUpDays}-day follow-up on it (mocked sendEmail, both emails sent) | ${r.timeSkipping.workflowSeconds} s |`,
    r.npmTest ? `| whole \`npm test\` (exit code ${r.npmTest.exitCode}) | ${r.npmTest.seconds} s |` : '| whole `npm test` | not run in --quick |',
    '',
  ];
  const mdFile = path.join(docDir, 'benchmarks.md');
  fs.writeFileSync(mdFile, `${[...lines, ...patternSections(chartDir, chartRel)].join('\n')}\n`);
  return [path.relative(root, jsonFile), path.relative(root, mdFile)];
}

/** A results file of one of the pattern benchmarks (bench:deposits, bench:outbox, bench:fanout), if it was run. */
function readResults(name: string): Results | undefined {
  const file = path.join(root, 'bench', 'results', `${name}.json`);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Results) : undefined;
}

const n = (value: number, digits = 1) => value.toFixed(digits);

/** Sections for the patterns of issues 3, 4 and 6, from their own runs (each says how to rerun it). */
function patternSections(chartDir: string, chartRel: string): string[] {
  const lines: string[] = [];
  const deposits = ['deposits-sqlite', 'deposits-postgresql'].map(readResults).filter((d): d is Results => Boolean(d));
  if (deposits.length > 0) {
    lines.push(
      '## 6. Deposits: local activities and the cost of exactly-once (`npm run bench:deposits`)',
      '',
      `POST /v1/accounts/<id>/deposits → workflow completed, ${deposits[0]!.concurrency} clients in parallel, each variant run twice alternately (best run shown).`,
      '"exactly-once" is Conveyor\'s deposit: its two short database writes (the ledger transaction, the telemetry row) run as local activities, in one workflow task.',
      '"dispatched" is the same two activities dispatched through the task queue, as the deposit ran before (three workflow tasks and two activity tasks).',
      '"plain" is the local-activity deposit without the operation-key row: what a non-idempotent consumer would do.',
      '',
      '| database | variant | deposits/s | p50 ms | p99 ms |',
      '| --- | --- | --- | --- | --- |',
    );
    for (const d of deposits) {
      for (const variant of ['exactly-once', 'dispatched', 'plain']) {
        const best = d.runs.filter((r: Results) => r.variant === variant).sort((a: Results, b: Results) => b.perSecond - a.perSecond)[0];
        if (best) lines.push(`| ${d.database} | ${variant} | ${n(best.perSecond)} | ${n(best.p50Ms, 0)} | ${n(best.p99Ms, 0)} |`);
      }
      lines.push(`| ${d.database} | **exactly-once / plain** | **${n(d.ratio * 100, 0)}%** | | |`);
      if (d.localOverDispatched) lines.push(`| ${d.database} | **local / dispatched** | **${n(d.localOverDispatched, 2)}×** | | |`);
    }
    lines.push(
      '',
      'Trade-off of local activities: the step runs in the worker that holds the workflow, inside its workflow task. A crash',
      'there is recovered when the workflow task times out (10 s) instead of the activity\'s own timeout, and a local activity',
      'cannot heartbeat; right for a short database write, wrong for SMTP or anything slow. Exactly-once is unchanged: the',
      'operation key still makes a repeated write a no-op (test/faults/deposit-crash.test.ts, deposit-chaos.test.ts).',
      '',
    );
  }
  const outbox = readResults('outbox');
  if (outbox) {
    lines.push(
      '## 7. Outbox relay: polling vs LISTEN/NOTIFY (`BENCH_DATABASE_URL=… npm run bench:outbox`)',
      '',
      `Throughput: a backlog of ${outbox.throughputRows} rows drained by one relay. Latency: rows committed one by one at ${outbox.latencyRatePerSecond}/s, from commit to the workflow's start time. Poll interval ${outbox.pollInterval}.`,
      '',
      '| variant | rows/s | commit → start p50 ms | p99 ms |',
      '| --- | --- | --- | --- |',
      ...outbox.results.map((r: Results) => `| ${r.variant} | ${n(r.rowsPerSecond, 0)} | ${r.p50Ms} | ${r.p99Ms} |`),
      '',
    );
  }
  const fanout = readResults('fanout');
  if (fanout) {
    const rows = fanout.results.filter((r: Results) => r.subscribers);
    const group = fanout.results.find((r: Results) => r.consumerGroup);
    lines.push(
      '## 8. Fan-out and stream consumers (`npm run bench:fanout`)',
      '',
      `Each event delivered to every subscriber: by signal to a long-running subscriber workflow (how Conveyor's durable subscribers receive events), or by one child workflow per subscriber (how they react). ${fanout.concurrency} publishers in parallel.`,
      '',
      '| subscribers | signals: events/s | deliveries/s | child workflows: events/s | deliveries/s |',
      '| --- | --- | --- | --- | --- |',
      ...rows.map((r: Results) => `| ${r.subscribers} | ${n(r.signalEventsPerSecond)} | ${n(r.signalDeliveriesPerSecond, 0)} | ${n(r.childEventsPerSecond)} | ${n(r.childDeliveriesPerSecond, 0)} |`),
      '',
      group ? `A consumer group (\`${group.consumerGroup}\`, batches of 100, each event through the exactly-once helper) read ${group.events} events at **${n(group.eventsPerSecond, 0)} events/s**.` : '',
      '',
    );
  }
  lines.push(...engineSection());
  const lane = readResults('lane');
  lines.push(
    ...(lane
      ? laneSection(lane, chartDir, chartRel)
      : ['## 10. The lane: batched jobs vs one workflow per job vs BullMQ (`npm run bench:lane`)', '', 'Not measured yet: `npm run bench:lane` (about 13 minutes, alone on the machine), then `npm run bench:report`.', '']),
  );
  const cluster = readResults('cluster');
  if (cluster) lines.push(...renderClusterSection(cluster));
  lines.push(...obsSection());
  return lines;
}

const laneNames: Record<string, string> = {
  lane: 'Conveyor lane',
  conveyor: 'Conveyor per workflow',
  floor: 'engine floor',
  'bullmq-aof': 'BullMQ (Redis AOF)',
  bullmq: 'BullMQ (Redis in memory)',
};
/** Chart labels: the system and, on a second line, its durability in a few words. */
const laneChartLabels: Record<string, string> = {
  lane: 'Conveyor lane\nSQLite WAL',
  conveyor: 'per workflow\nTemporal',
  floor: 'engine floor\nTemporal',
  'bullmq-aof': 'BullMQ\nAOF everysec',
  bullmq: 'BullMQ\nno persistence',
};
const times = (x: number) => `${x.toFixed(2)}×`;

/**
 * Section 10: the lane (issue 17) against per-workflow jobs and BullMQ, from a bench:lane results
 * object; writes its charts (lane-*.svg) into `chartDir`. Any section the run skipped is left out.
 */
export function laneSection(lane: Results, chartDir: string, chartRel: string): string[] {
  const e2e: Results[] = lane.endToEnd?.rows ?? [];
  const bulk: Results[] = lane.bulk?.rows ?? [];
  const cells: Results[] = lane.grid?.cells ?? [];
  const faults: Results[] = lane.faults ?? [];
  const wins: string[] = [];
  const losses: string[] = [];
  /** A comparison the text reports as won or not, from the numbers alone. */
  const compare = (won: boolean, sentence: string) => (won ? wins : losses).push(sentence);
  const lines = [
    '## 10. The lane: batched jobs vs one workflow per job vs BullMQ (`npm run bench:lane`)',
    '',
    `Same job everywhere (idempotent SMTP send + \`sent_emails\` row, the same SMTP sink). Run ${lane.startedAt}, ${lane.nproc} cores, ${lane.totalSeconds} s; raw results \`bench/results/${lane.params.mode === 'quick' ? 'lane-quick' : 'lane'}.json\`.`,
    '',
  ];
  fs.mkdirSync(chartDir, { recursive: true });
  const chart = (file: string, svg: string, alt: string) => {
    fs.writeFileSync(path.join(chartDir, file), svg);
    return `![${alt}](${chartRel}/${file})`;
  };

  if (e2e.length > 0) {
    const row = (name: string) => e2e.find((r) => r.system === name);
    lines.push(
      `### End to end, one job per POST (${lane.params.e2eRate} jobs/s open loop for ${lane.params.e2eSeconds} s, then a burst of ${lane.params.burstJobs} jobs from ${lane.params.burstConcurrency} callers)`,
      '',
      '| system | durability | e2e p50 ms | p99 ms | burst jobs/s |',
      '| --- | --- | --- | --- | --- |',
      ...e2e.map((r) => `| ${laneNames[r.system] ?? r.system} | ${r.durability} | ${r.rate.endToEnd.p50Ms} | ${r.rate.endToEnd.p99Ms} | ${n(r.burst.throughputPerSecond)} |`),
      '',
      chart('lane-throughput.svg', barChart({
        title: 'End to end: burst throughput, one job per POST',
        yLabel: 'jobs/s (accepted → email delivered)',
        categories: e2e.map((r) => laneChartLabels[r.system] ?? r.system),
        series: [{ name: 'burst jobs/s', values: e2e.map((r) => r.burst.throughputPerSecond) }],
      }), 'end-to-end throughput by system'),
      '',
    );
    const lr = row('lane');
    for (const other of ['bullmq-aof', 'bullmq', 'conveyor', 'floor']) {
      const o = row(other);
      if (!lr || !o) continue;
      const x = lr.burst.throughputPerSecond / o.burst.throughputPerSecond;
      compare(x >= 1, `End-to-end throughput vs ${laneNames[other]}: **${times(x)}** (${n(lr.burst.throughputPerSecond)} vs ${n(o.burst.throughputPerSecond)} jobs/s)${other === 'bullmq-aof' ? `; goal ≥ 2×: ${x >= 2 ? 'met' : '**not met**'}` : ''}.`);
      if (other.startsWith('bullmq')) {
        const p50 = lr.rate.endToEnd.p50Ms / o.rate.endToEnd.p50Ms;
        const p99 = lr.rate.endToEnd.p99Ms / o.rate.endToEnd.p99Ms;
        compare(p50 <= 1, `End-to-end latency p50 vs ${laneNames[other]}: ${lr.rate.endToEnd.p50Ms} vs ${o.rate.endToEnd.p50Ms} ms (${times(p50)}).`);
        compare(p99 <= 1, `End-to-end latency p99 vs ${laneNames[other]}: ${lr.rate.endToEnd.p99Ms} vs ${o.rate.endToEnd.p99Ms} ms (${times(p99)}).`);
      }
    }
  }

  if (bulk.length > 0) {
    const rate = (s: string) => bulk.find((r) => r.system === s)?.itemsPerSecond;
    const laneRate = rate('lane bulk POST');
    lines.push(
      `### Bulk acceptance (${lane.params.bulkItems} items, 1,000 per request/call, ${lane.params.bulkConcurrency} in parallel)`,
      '',
      '| bulk acceptance | durability | items | items/s |',
      '| --- | --- | --- | --- |',
      ...bulk.map((r) => `| ${r.system} | ${r.durability} | ${r.items} | ${n(r.itemsPerSecond, 0)} |`),
      '',
      chart('lane-bulk.svg', barChart({
        title: 'Bulk acceptance: items committed per second',
        yLabel: 'items/s (acknowledged)',
        categories: bulk.map((r) => r.system.replace(/^BullMQ addBulk \(AOF\)$/, 'BullMQ addBulk\nAOF everysec').replace(/^BullMQ addBulk$/, 'BullMQ addBulk\nno persistence').replace(/^lane bulk POST$/, 'lane bulk POST\nSQLite WAL')),
        series: [{ name: 'items/s', values: bulk.map((r) => r.itemsPerSecond) }],
      }), 'bulk acceptance by system'),
      '',
    );
    for (const other of ['BullMQ addBulk (AOF)', 'BullMQ addBulk']) {
      const o = rate(other);
      if (laneRate === undefined || o === undefined) continue;
      const x = laneRate / o;
      compare(x >= 1, `Bulk acceptance vs ${other}: **${times(x)}** (${n(laneRate, 0)} vs ${n(o, 0)} items/s)${other.includes('AOF') ? `; goal ≥ 0.5×: ${x >= 0.5 ? 'met' : '**not met**'}` : ''}.`);
    }
  }

  if (cells.length > 0) {
    const batchSizes: number[] = [...new Set(cells.map((c) => c.batchSize as number))].sort((a, b) => a - b);
    const partitions: number[] = [...new Set(cells.map((c) => c.partitions as number))].sort((a, b) => a - b);
    const knees: Results[] = lane.grid.knees ?? [];
    const cell = (p: number, b: number) => cells.find((c) => c.partitions === p && c.batchSize === b);
    lines.push(
      `### Partitions × batch size (a bulk-enqueued backlog of ${lane.params.gridItems} items to its last delivery, or its rate after ${lane.params.gridCellSeconds} s, marked *)`,
      '',
      `| partitions | ${batchSizes.map((b) => `batch ${b}`).join(' | ')} |`,
      `| --- | ${batchSizes.map(() => '---').join(' | ')} |`,
      ...partitions.map((p) => `| ${p} | ${batchSizes.map((b) => { const c = cell(p, b); return c ? `${n(c.itemsPerSecond)}${c.complete === false ? '*' : ''}` : ''; }).join(' | ')} |`),
      '',
      chart('lane-grid.svg', lineChart({
        title: 'Lane throughput by partitions and batch size',
        xLabel: 'partitions',
        yLabel: 'items/s (log scale)',
        x: partitions,
        xLabels: partitions.map(String),
        series: batchSizes.map((b) => ({ name: `batch ${b}`, y: partitions.map((p) => cell(p, b)?.itemsPerSecond) })),
        marks: knees.filter((k) => k.partitions !== null).map((k) => ({ series: batchSizes.indexOf(k.batchSize), index: partitions.indexOf(k.partitions), label: 'knee' })),
      }), 'lane throughput by partitions and batch size'),
      '',
      `The knee: the partition count after which the next one measured adds less than ${Math.round((KNEE_GAIN - 1) * 100)}% throughput. ` +
        knees.map((k) => `Batch ${k.batchSize}: ${k.partitions === null ? `none up to ${partitions.at(-1)} partitions (still scaling)` : `${k.partitions} partitions (${n(k.itemsPerSecond)} items/s)`}`).join('; ') +
        `. Best cell: ${lane.grid.best.partitions} partitions × batch ${lane.grid.best.batchSize}, ${n(lane.grid.best.itemsPerSecond)} items/s.`,
      '',
    );
  }

  if (faults.length > 0) {
    const p = lane.params.fault;
    lines.push(
      `### Under fault (${p.rate} jobs/s for ${p.seconds} s; ${p.kills} SIGKILL${p.kills > 1 ? 's' : ''} of one process per run, each ${p.killIntoBurstMs} ms into a burst of ${p.burstBeforeKill} jobs and restarted at once)`,
      '',
      'A client whose POST failed retries it with the same job ID for up to ' + p.retryForSeconds + ' s (the ID is the business key, so that is safe); the run ends when every acknowledged job is delivered and the system has nothing left to do (nothing queued, running or waiting for a retry), so a re-send still to come is counted. ' +
        '**lost**: acknowledged (200/202), never delivered. **re-sent, same Message-ID**: a second copy of the very message, which a receiver can drop. **duplicated**: a second, *different* email for one job. **unexpected**: an email for no job of the run. The lane\'s server is the Temporal dev server on its SQLite file (as under `npm start`): a dev server in memory loses its workflows when killed. ' +
        'A SIGKILL tests the process, not the disk: what a server wrote but did not fsync survives in the page cache, so these runs do not exercise the settings\' power-cut windows: Redis with `appendfsync everysec` can lose up to a second of acknowledged jobs, and SQLite in WAL mode with `synchronous=NORMAL` (the lane\'s items and the dev server\'s file, as the durability column says) syncs at checkpoints, not at each commit, so it can lose its last commits; `synchronous=FULL` syncs every commit.',
      '',
      '| system | durability | SIGKILL | jobs | acknowledged | lost | re-sent, same Message-ID | duplicated | unexpected | drained |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      ...faults.map((f) => `| ${laneNames[f.system] ?? f.system} | ${f.durability} | ${f.kill === 'server' ? (f.system === 'lane' ? 'Temporal dev server' : 'redis-server') : f.kill} | ${f.jobs} | ${f.acknowledged} | ${f.lost} | ${f.resentSameMessageId} | ${f.duplicated} | ${f.unexpected} | ${f.drained ? `${f.drainSeconds} s` : '**no**'} |`),
      '',
      'What Conveyor guarantees toward SMTP: **a crash re-sends at most the emails that were being sent at that moment, once each, and every copy carries the same Message-ID**. An item\'s email is recorded in `sent_emails` right after the SMTP server accepted it, and a retry that finds the record sends nothing; a worker killed between the server\'s acceptance (its `250` reply to the message) and that record re-sends the mail with the same Message-ID. ' +
        'Exactly-once delivery toward SMTP is impossible without the receiver\'s help: SMTP has no transaction a database commit could join and no way to ask a server whether it already took a message, so after a crash in that window the sender cannot tell "accepted" from "not accepted" and must choose between a possible re-send and a possible loss (RFC 1047 describes the same window from the server\'s side). Recording the attempt before sending does not change that: it only tells the retry that it does not know. Conveyor chooses the re-send and makes it recognisable; a receiver that drops a repeated Message-ID (many do) gets each email once.',
      '',
    );
    const lanes = faults.filter((f) => f.system === 'lane');
    const clean = lanes.filter((f) => f.lost === 0 && f.duplicated === 0 && f.unexpected === 0);
    if (lanes.length > 0) {
      compare(clean.length === lanes.length, `Under fault, the lane lost and duplicated nothing under ${clean.length} of ${lanes.length} kinds of kill${clean.length < lanes.length ? ` (not under: ${lanes.filter((f) => !clean.includes(f)).map((f) => `${f.kill}: lost ${f.lost}, duplicated ${f.duplicated}, unexpected ${f.unexpected}`).join('; ')})` : ''}; goal (nothing lost or duplicated under every kill): ${clean.length === lanes.length ? 'met' : '**not met**'}.`);
      const resent = lanes.reduce((a, f) => a + f.resentSameMessageId, 0);
      if (resent > 0) losses.push(`Under fault, the lane re-sent ${resent} email(s) with the same Message-ID (the window above; a receiver can drop them).`);
    }
    for (const f of faults.filter((x) => x.system !== 'lane')) {
      const l = lanes.find((x) => x.kill === f.kill);
      if (!l) continue;
      const [laneBad, otherBad] = [l.lost + l.duplicated + l.resentSameMessageId, f.lost + f.duplicated + f.resentSameMessageId];
      if (laneBad !== otherBad) compare(laneBad < otherBad, `${f.kill} SIGKILLed: the lane lost ${l.lost} and re-sent ${l.resentSameMessageId + l.duplicated}; ${laneNames[f.system]} lost ${f.lost} and re-sent ${f.resentSameMessageId + f.duplicated}.`);
    }
  }

  lines.push(
    '### Where Conveyor wins and where it does not (from the numbers above)',
    '',
    '**Wins:**',
    '',
    ...(wins.length ? wins.map((w) => `- ${w}`) : ['- nothing in this run']),
    '',
    '**Does not win:**',
    '',
    ...(losses.length ? losses.map((w) => `- ${w}`) : ['- nothing in this run']),
    '',
  );
  return lines;
}

/** A bench:lane run on its own (the quick run's smoke report): `<dir>/lane.md` and its charts beside it. */
export function writeLaneReport(lane: Results, dir: string, chartRel: string): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const md = path.join(dir, 'lane.md');
  const note = lane.params.mode === 'quick' ? ['> **Smoke run (`npm run bench:lane -- --quick`)**: tiny sizes, only proves the harness works. Do not read these numbers.', ''] : [];
  fs.writeFileSync(md, `${['# The lane', '', ...note, ...laneSection(lane, dir, chartRel)].join('\n')}\n`);
  return [path.relative(root, md), ...fs.readdirSync(dir).filter((f) => f.startsWith('lane-') && f.endsWith('.svg')).map((f) => path.relative(root, path.join(dir, f)))];
}

const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a');
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length % 2 ? sorted[sorted.length >> 1]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
};

/** Section 9: `npm run bench:engine`, Conveyor's choice against the alternative, same run. */
function engineSection(): string[] {
  const engine = readResults('engine');
  if (!engine) return [];
  const lines = [
    '## 9. The engine path: each setting against its alternative (`npm run bench:engine`)',
    '',
    `Conveyor's welcome email end to end (separate API and worker processes, as in section 2): ${engine.params.e2e.rate} jobs/s open loop for ${engine.params.e2e.seconds} s, then a burst of ${engine.params.e2e.burstJobs} jobs.`,
    `Each variant ran ${engine.params.rounds} times, alternating which went first; the table shows the median of the runs. ${engine.machine}; run started ${engine.startedAt}, took ${engine.totalSeconds} s.`,
    '',
    '| setting | variant | e2e p50 ms | e2e p99 ms | burst jobs/s | chosen / alternative |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const c of engine.comparisons) {
    const stats = (chosen: boolean) => {
      const runs = c.runs.filter((r: Results) => r.chosen === chosen);
      return { p50: median(runs.map((r: Results) => r.rate.endToEnd.p50Ms)), p99: median(runs.map((r: Results) => r.rate.endToEnd.p99Ms)), burst: median(runs.map((r: Results) => r.burst.throughputPerSecond)) };
    };
    const [a, b] = [stats(true), stats(false)];
    lines.push(`| ${c.name} | **${c.chosen}** (Conveyor) | ${n(a.p50)} | ${n(a.p99)} | ${n(a.burst)} | p50 ${ratio(a.p50, b.p50)}, burst ${ratio(a.burst, b.burst)} |`);
    lines.push(`| | ${c.alternative} | ${n(b.p50)} | ${n(b.p99)} | ${n(b.burst)} | |`);
  }
  const dispatch = engine.comparisons.find((c: Results) => c.runs.some((r: Results) => r.enqueueOnly));
  if (dispatch) {
    const e = (chosen: boolean) => {
      const runs = dispatch.runs.filter((r: Results) => r.chosen === chosen).map((r: Results) => r.enqueueOnly);
      return { p50: median(runs.map((x: Results) => x.p50Ms)), p99: median(runs.map((x: Results) => x.p99Ms)), accepted: median(runs.map((x: Results) => x.acceptedPerSecond)) };
    };
    const [a, b] = [e(true), e(false)];
    lines.push(
      '',
      `The ${dispatch.name} setting on the enqueue path alone (the API with no worker, as in section 1): p50 at ${engine.params.enqueue.rate} POST/s open loop, then how many POSTs 64 callers get accepted per second.`,
      '',
      '| variant | enqueue p50 ms | p99 ms | accepted/s |',
      '| --- | --- | --- | --- |',
      `| **${dispatch.chosen}** (Conveyor) | ${n(a.p50)} | ${n(a.p99)} | ${n(a.accepted)} |`,
      `| ${dispatch.alternative} | ${n(b.p50)} | ${n(b.p99)} | ${n(b.accepted)} |`,
    );
  }
  const eager = engine.eager;
  const eagerStats = (on: boolean) => {
    const runs = eager.runs.filter((r: Results) => r.eager === on);
    return { p50: median(runs.map((r: Results) => r.sequential.p50Ms)), p99: median(runs.map((r: Results) => r.sequential.p99Ms)), burst: median(runs.map((r: Results) => r.burstJobsPerSecond)) };
  };
  const [on, off] = [eagerStats(true), eagerStats(false)];
  lines.push(
    '',
    'What each setting trades (Conveyor\'s dev-server settings are `DEV_SERVER_SETTINGS` in platform/dev-server.ts, used by `npm start`, the tests and the benchmarks; a Temporal cluster of your own keeps its own configuration):',
    '',
    '- **dispatch**: `history.transferProcessorMaxPollRPS` and `history.visibilityProcessorMaxPollRPS` = 1000 (default 20). The history service hands new workflow tasks to matching through its transfer queue and reads it at most 20 times a second, so a job could wait up to 50 ms before a worker saw it. Nothing becomes less durable (the queue is persisted either way); the server reads in smaller batches, which costs some CPU under load: compare the burst and accepted/s columns, and mind the run-to-run noise of a 2-core machine.',
    '- **file**: `--sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=NORMAL` when the dev server keeps a database file (`npm start` does, under `.data/`), instead of a rollback journal with an fsync per commit. A killed server process loses nothing; a power cut or kernel crash can lose the last commits, never the file.',
    '- **smtp pool**: the worker keeps SMTP connections open (`?pool=true`, unless SMTP_URL sets `pool`). The mail catcher, like many SMTP servers, waits 100 ms before greeting a new connection. Nothing is lost: an email is recorded in `sent_emails` only after the server accepted it.',
    '',
    '**Eager workflow start (measured, not adopted).** With a worker and a client sharing one NativeConnection in one process, `requestEagerStart` makes the server hand the first workflow task back in the start response. Floor workflow, same run:',
    '',
    '| | one job at a time p50 ms | p99 ms | burst jobs/s (32 callers) |',
    '| --- | --- | --- | --- |',
    `| eager start | ${n(on.p50)} | ${n(on.p99)} | ${n(on.burst)} |`,
    `| normal start | ${n(off.p50)} | ${n(off.p99)} | ${n(off.burst)} |`,
    '',
    `It needs the client on the worker's NativeConnection, and that connection does not honour deadlines while the server is unreachable: with the server stopped, a call with a ${eager.serverDown.deadlineMs} ms deadline returned after **${eager.serverDown.nativeConnectionMs} ms** on the NativeConnection and after ${eager.serverDown.grpcJsConnectionMs} ms on the grpc-js Connection the API uses. Conveyor's API promises a 503 within TEMPORAL_RPC_TIMEOUT (3 s) when Temporal is down, so it keeps the grpc-js Connection and starts normally.`,
    '',
  );
  return lines;
}

// `npm run bench:report`: rebuild docs/benchmarks.md from the newest full run and the pattern results.
if (require.main === module) {
  const dir = path.join(root, 'bench', 'results');
  const latest = fs.readdirSync(dir).filter((f) => /^full-.*\.json$/.test(f)).sort().at(-1);
  if (!latest) throw new Error('no bench/results/full-*.json yet: run `npm run bench` first');
  console.log(writeReport(JSON.parse(fs.readFileSync(path.join(dir, latest), 'utf8')) as Results, false).join('\n'));
}
