/**
 * `npm run bench:obs` (about 8 minutes; run it alone on the machine) and `npm run bench:obs -- --quick`
 * (a smoke run): what Prometheus metrics and OpenTelemetry tracing cost on the enqueue path, as
 * section 1 of `npm run bench` measures it: POST /v1/welcome-emails on the API (no worker) against
 * the same start call made bare from the harness, at the same open-loop rates. Three API
 * processes against one dev server, differing only in configuration:
 *   default      as shipped: metrics on (request counter + histogram, process metrics), tracing off
 *   tracing      tracing on too: spans exported over OTLP/HTTP to a real receiver (Jaeger when
 *                CONVEYOR_TEST_OTLP_ENDPOINT names one, as .ci/jaeger.sh exports; else an
 *                in-process receiver in the harness), checked to have arrived
 *   metrics-off  METRICS=off, tracing off
 * Each round runs the bare loop and the three APIs in rotating order. Then one profile: a fourth API
 * process (default configuration) under `node --cpu-prof` at a fixed rate, its CPU self time grouped
 * by package (bench/lib/cpu-profile.ts). Writes bench/results/obs.json (obs-quick.json for --quick);
 * `npm run bench:report` renders it into docs/benchmarks.md (a quick run: bench/results/quick/obs.md).
 */
import '../platform/node-version'; // first: a clear error on an unsupported Node
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureTemporalBinaries, TEMPORAL_CLI } from '../platform/temporal-binaries';
import { installTemporalRuntime } from '../worker/worker';
import { startOtlpReceiver, type OtlpReceiver } from '../test/support/otlp-receiver';
import { withoutSendTimes } from './lib/end-to-end';
import { analyseCpuProfile } from './lib/cpu-profile';
import { openLoop, saturated, type OpenLoopResult } from './lib/load';
import { installCleanup, round, sampleProc } from './lib/procs';
import { obsMarkdown } from './obs-report';
import { BARE_TASK_QUEUE, bareWelcomeStart, startApiOnly, startTemporal, type BenchContext } from './systems';
import { runBench } from './lib/main';

const quick = process.argv.includes('--quick');
const root = path.resolve(__dirname, '..');

export const obsParams = quick
  ? { mode: 'quick', rates: [20], stepSeconds: 1, rounds: 1, profileRate: 20, profileSeconds: 2, profileWarmupSeconds: 1 }
  : { mode: 'full', rates: [25, 50, 100, 200], stepSeconds: 6, rounds: 3, profileRate: 100, profileSeconds: 20, profileWarmupSeconds: 5 };

const log = (line: string) => process.stdout.write(`[bench:obs ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

const VARIANTS = ['default', 'tracing', 'metrics-off'] as const;
type Variant = (typeof VARIANTS)[number];
type Series = ReturnType<typeof withoutSendTimes>;

/** Median, to the hundredth (latencies in ms, ratios). */
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return round(sorted.length % 2 ? sorted[sorted.length >> 1]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2, 3);
};

/** Where the tracing variant exports: Jaeger's OTLP/HTTP receiver if given, else our own. */
async function otlpTarget(): Promise<{ kind: string; endpoint: string; receiver?: OtlpReceiver; spansSince(startedMs: number): Promise<number> }> {
  const jaegerOtlp = process.env.CONVEYOR_TEST_OTLP_ENDPOINT;
  const jaegerQuery = process.env.CONVEYOR_TEST_JAEGER_URL;
  if (jaegerOtlp && jaegerQuery) {
    return {
      kind: `Jaeger (${jaegerOtlp})`,
      endpoint: jaegerOtlp,
      // Jaeger's query API: the API's request spans since the run started (proves they arrived).
      async spansSince(startedMs) {
        const query = new URLSearchParams({ service: 'conveyor-api', operation: 'POST /v1/welcome-emails', start: String(startedMs * 1000), limit: '100000' });
        const res = await fetch(`${jaegerQuery}/api/traces?${query}`);
        if (!res.ok) throw new Error(`Jaeger query answered ${res.status}`);
        const { data } = (await res.json()) as { data: Array<{ spans: unknown[] }> };
        return data.reduce((n, t) => n + t.spans.length, 0);
      },
    };
  }
  const receiver = await startOtlpReceiver();
  return { kind: 'in-process OTLP/HTTP receiver (no Jaeger: set CONVEYOR_TEST_OTLP_ENDPOINT and CONVEYOR_TEST_JAEGER_URL, see .ci/jaeger.sh)', endpoint: receiver.endpoint, receiver, spansSince: async () => receiver.spans.length };
}

async function main() {
  installCleanup();
  const started = Date.now();
  installTemporalRuntime();
  ensureTemporalBinaries([TEMPORAL_CLI], log);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-bench-obs-'));
  const ctx: BenchContext = { workDir, conveyorBundle: '', floorBundle: '' }; // no worker here: no bundles
  const otlp = await otlpTarget();
  log(`tracing exports to: ${otlp.kind}`);
  const temporal = await startTemporal(ctx, 'obs');
  // Explicit both ways, so a harness started with OTEL_EXPORTER_OTLP_ENDPOINT or METRICS set cannot blur the variants.
  const envOf: Record<Variant, NodeJS.ProcessEnv> = {
    default: { METRICS: 'on', OTEL_EXPORTER_OTLP_ENDPOINT: '' },
    tracing: { METRICS: 'on', OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint },
    'metrics-off': { METRICS: 'off', OTEL_EXPORTER_OTLP_ENDPOINT: '' },
  };
  const apis = Object.fromEntries(await Promise.all(VARIANTS.map(async (v) => [v, await startApiOnly(ctx, temporal.address, `obs-${v}`, envOf[v])] as const))) as Record<
    Variant,
    Awaited<ReturnType<typeof startApiOnly>>
  >;
  try {
    // Rounds of [bare, default, tracing, metrics-off] in rotating order: the server slows as
    // workflows pile up, and no variant should always get the fresher server.
    type Run = { variant: Variant | 'bare'; result: Series; apiCpuMsPerRequest?: number };
    const steps: Array<{ rate: number; rounds: Run[][]; saturated?: string }> = [];
    let job = 0;
    for (const rate of obsParams.rates) {
      const rounds: Run[][] = [];
      let why: string | undefined;
      for (let r = 0; r < obsParams.rounds; r++) {
        const order: Array<Variant | 'bare'> = ['bare', ...VARIANTS];
        const shift = (steps.length * obsParams.rounds + r) % order.length;
        const runs: Run[] = [];
        for (const variant of [...order.slice(shift), ...order.slice(0, shift)]) {
          const durationMs = obsParams.stepSeconds * 1000;
          const prefix = `obs-${variant}-${rate}-${r}`;
          let result: OpenLoopResult;
          let apiCpuMsPerRequest: number | undefined;
          if (variant === 'bare') {
            result = await openLoop({ rate, durationMs, fire: (i, signal) => bareWelcomeStart(temporal.client, BARE_TASK_QUEUE, `${prefix}-${i}-${job++}`, signal).then(() => undefined) });
          } else {
            const api = apis[variant];
            const before = sampleProc(api.apiPid)!.cpuSeconds;
            result = await openLoop({ rate, durationMs, fire: (i, signal) => api.enqueue(`${prefix}-${i}-${job++}`, signal) });
            apiCpuMsPerRequest = round(((sampleProc(api.apiPid)!.cpuSeconds - before) * 1000) / Math.max(1, result.ok), 3);
          }
          why ??= saturated(result);
          runs.push({ variant, result: withoutSendTimes(result), ...(apiCpuMsPerRequest === undefined ? {} : { apiCpuMsPerRequest }) });
          await sleep(300);
        }
        rounds.push(runs);
      }
      steps.push({ rate, rounds, ...(why ? { saturated: why } : {}) });
      const line = VARIANTS.map((v) => `${v} p50 ${median(rounds.map((rs) => rs.find((x) => x.variant === v)!.result.latency.p50Ms))} ms`).join(' | ');
      log(`${rate}/s: bare p50 ${median(rounds.map((rs) => rs.find((x) => x.variant === 'bare')!.result.latency.p50Ms))} ms | ${line}${why ? ` | knee: ${why}` : ''}`);
      if (why) break;
    }

    const summary = steps.map((s) => ({
      rate: s.rate,
      ...(s.saturated ? { saturated: s.saturated } : {}),
      bare: { p50Ms: median(s.rounds.map((rs) => rs.find((x) => x.variant === 'bare')!.result.latency.p50Ms)), p99Ms: median(s.rounds.map((rs) => rs.find((x) => x.variant === 'bare')!.result.latency.p99Ms)) },
      variants: Object.fromEntries(
        VARIANTS.map((v) => {
          const pick = (rs: Run[]) => ({ api: rs.find((x) => x.variant === v)!, bare: rs.find((x) => x.variant === 'bare')! });
          return [
            v,
            {
              p50Ms: median(s.rounds.map((rs) => pick(rs).api.result.latency.p50Ms)),
              p99Ms: median(s.rounds.map((rs) => pick(rs).api.result.latency.p99Ms)),
              // Each round's API against the bare loop of the same round, then the median.
              ratioP50: round(median(s.rounds.map((rs) => pick(rs).api.result.latency.p50Ms / pick(rs).bare.result.latency.p50Ms)), 2),
              ratioP99: round(median(s.rounds.map((rs) => pick(rs).api.result.latency.p99Ms / pick(rs).bare.result.latency.p99Ms)), 2),
              apiCpuMsPerRequest: round(median(s.rounds.map((rs) => pick(rs).api.apiCpuMsPerRequest!)), 3),
              errors: s.rounds.reduce((n, rs) => n + pick(rs).api.result.errors, 0),
            },
          ];
        }),
      ),
    }));

    // The tracing variant must really have exported: otherwise its numbers measure nothing.
    let exportedSpans = 0;
    for (let i = 0; i < 20 && exportedSpans === 0; i++) {
      await sleep(500); // the batch span processor exports every second
      exportedSpans = await otlp.spansSince(started);
    }
    if (exportedSpans === 0) throw new Error(`the tracing variant exported no spans to ${otlp.kind}`);
    log(`tracing variant: ${exportedSpans} spans arrived at the receiver`);

    const profile = await profileApi(ctx, temporal.address);
    const results = {
      params: obsParams,
      startedAt: new Date(started).toISOString(),
      machine: { nproc: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.version },
      otlpReceiver: otlp.kind,
      exportedSpans,
      summary,
      steps,
      profile,
      totalSeconds: round((Date.now() - started) / 1000, 0),
    };
    const out = path.join(root, 'bench', 'results', quick ? 'obs-quick.json' : 'obs.json');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
    const written = [path.relative(root, out)];
    if (quick) {
      // The same rendering `npm run bench:report` puts into docs/benchmarks.md, so a smoke run exercises it.
      const md = path.join(root, 'bench', 'results', 'quick', 'obs.md');
      fs.mkdirSync(path.dirname(md), { recursive: true });
      fs.writeFileSync(md, `${obsMarkdown(results).join('\n')}\n`);
      written.push(path.relative(root, md));
    }
    log(`done in ${results.totalSeconds} s: ${written.join(', ')}${quick ? '' : ' (now `npm run bench:report`)'}`);
  } finally {
    for (const api of Object.values(apis)) await api.stop();
    await temporal.stop();
    await otlp.receiver?.close();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

/**
 * One API process (as shipped: metrics on, tracing off) under `node --cpu-prof`, a warm-up, then
 * `profileRate` POST/s for `profileSeconds`; the profile is written when the process exits after
 * SIGTERM, and only the samples of the load phase are counted.
 */
async function profileApi(ctx: BenchContext, address: string) {
  const dir = path.join(ctx.workDir, 'cpu-profile');
  fs.mkdirSync(dir, { recursive: true });
  log(`profiling the API at ${obsParams.profileRate}/s for ${obsParams.profileSeconds} s (node --cpu-prof)`);
  const api = await startApiOnly(ctx, address, 'obs-profile', { METRICS: 'on', OTEL_EXPORTER_OTLP_ENDPOINT: '', NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir}` });
  let load: OpenLoopResult;
  let loadStart: number;
  let loadEnd: number;
  try {
    await openLoop({ rate: obsParams.profileRate, durationMs: obsParams.profileWarmupSeconds * 1000, fire: (i, signal) => api.enqueue(`obs-warm-${i}`, signal) });
    loadStart = performance.now();
    load = await openLoop({ rate: obsParams.profileRate, durationMs: obsParams.profileSeconds * 1000, fire: (i, signal) => api.enqueue(`obs-prof-${i}`, signal) });
    loadEnd = performance.now();
  } finally {
    await api.stop();
  }
  const exited = performance.now();
  const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`the API wrote no .cpuprofile into ${dir}`);
  const breakdown = analyseCpuProfile(path.join(dir, file), { fromEndUs: (exited - loadStart) * 1000, toEndUs: (exited - loadEnd) * 1000 }, root);
  // Kept out of git (megabytes): open it in Chrome DevTools' Performance panel or speedscope.
  const keep = path.join(root, '.cache', 'bench', 'api-request-path.cpuprofile');
  fs.mkdirSync(path.dirname(keep), { recursive: true });
  fs.copyFileSync(path.join(dir, file), keep);
  return {
    rate: obsParams.profileRate,
    seconds: obsParams.profileSeconds,
    requests: load.ok,
    errors: load.errors,
    cpuMsPerRequest: round(breakdown.busyMs / Math.max(1, load.ok), 3),
    file: path.relative(root, keep),
    ...breakdown,
  };
}

runBench('bench:obs', main);
