/**
 * The report section of `npm run bench:obs` (bench/obs.ts): the cost of metrics and tracing on
 * the API-vs-bare enqueue ratio, and where the API's CPU goes per request.
 */
import fs from 'node:fs';
import path from 'node:path';

/* eslint-disable @typescript-eslint/no-explicit-any -- the shape is whatever obs.ts measured */
type Results = Record<string, any>;

const LABELS: Record<string, string> = {
  default: 'default: metrics on, tracing off (as shipped)',
  tracing: 'metrics on, **tracing on**',
  'metrics-off': '**METRICS=off**, tracing off',
};

const pct = (share: number) => `${(share * 100).toFixed(1)} %`;

export function obsMarkdown(r: Results): string[] {
  const p = r.params;
  const belowKnee = (r.summary as Results[]).filter((s) => !s.saturated);
  const cost = (variant: string) =>
    belowKnee.map((s) => `${s.rate}/s ${(s.variants[variant].ratioP50 - s.variants.default.ratioP50).toFixed(2)} (${(s.variants[variant].apiCpuMsPerRequest - s.variants.default.apiCpuMsPerRequest).toFixed(3)} ms CPU)`).join('; ');
  const prof = r.profile;
  const groups = (rows: Results[]) => rows.map((g) => `| ${g.group} | ${g.ms} | ${pct(g.share)} | ${(g.ms / Math.max(1, prof.requests)).toFixed(3)} |`);
  return [
    '## 12. Metrics and tracing: their cost on the enqueue path (`npm run bench:obs`)',
    '',
    p.mode === 'quick' ? '> **Smoke run (`--quick`)**: tiny sizes, only proves the harness works. Do not read these numbers.\n' : '',
    'Section 1\'s measurement (POST /v1/welcome-emails on the API, no worker, against the same start call made bare from the',
    'harness, open loop at the same rate) for three API processes on one dev server that differ only in configuration.',
    `Tracing exports to: ${r.otlpReceiver}; ${r.exportedSpans} of the run's spans were found there afterwards.`,
    `${p.rounds} round(s) per rate of ${p.stepSeconds} s per variant, the variants' order rotating; medians over rounds; each ratio is`,
    'an API run over the bare run of the same round. API CPU is the API process\'s CPU time (`/proc`) per accepted request.',
    `Run ${r.startedAt}, ${r.machine.nproc} CPUs (${r.machine.cpuModel}), Node ${r.machine.node}, took ${r.totalSeconds} s.`,
    '',
    '| rate/s | variant | API p50 / p99 ms | bare p50 / p99 ms | ratio p50 | ratio p99 | API CPU ms/request | errors |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...(r.summary as Results[]).flatMap((s) =>
      Object.entries(s.variants as Record<string, Results>).map(
        ([v, x], i) =>
          `| ${i === 0 ? s.rate : ''} | ${LABELS[v] ?? v} | ${x.p50Ms} / ${x.p99Ms} | ${i === 0 ? `${s.bare.p50Ms} / ${s.bare.p99Ms}` : ''} | ${x.ratioP50} | ${x.ratioP99} | ${x.apiCpuMsPerRequest} | ${x.errors} |${i === 0 && s.saturated ? ` knee: ${s.saturated}` : ''}`,
      ),
    ),
    '',
    `Cost against the default, in p50 ratio points (and API CPU per request): tracing ${cost('tracing') || 'n/a'}; metrics (default minus METRICS=off) ${belowKnee.map((s) => `${s.rate}/s ${(s.variants.default.ratioP50 - s.variants['metrics-off'].ratioP50).toFixed(2)} (${(s.variants.default.apiCpuMsPerRequest - s.variants['metrics-off'].apiCpuMsPerRequest).toFixed(3)} ms CPU)`).join('; ') || 'n/a'}.`,
    'On a 2-core machine shared by the server, three APIs and the load generator, differences of a few hundredths in the',
    'ratio are within run-to-run noise; the CPU column is the steadier measure of what each feature adds.',
    '',
    `### Where the API's CPU goes (\`node --cpu-prof\`, ${prof.rate} POST/s for ${prof.seconds} s, default configuration)`,
    '',
    `${prof.requests} requests (${prof.errors} errors) in the load phase: ${prof.busyMs} ms of CPU in ${prof.windowMs} ms, **${prof.cpuMsPerRequest} ms per request**.`,
    'Start-up and shutdown are left out (only samples inside the load phase count). "Self" charges each sample to the',
    'function on top of the stack, grouped by its package; "attributed" charges Node core and V8 builtins (JSON, RegExp,',
    'socket writes) to the nearest calling package or Conveyor file instead, which says who caused the work.',
    '',
    '| self time: group | ms | share | ms/request |',
    '| --- | --- | --- | --- |',
    ...groups(prof.self),
    '',
    '| attributed: group | ms | share | ms/request |',
    '| --- | --- | --- | --- |',
    ...groups(prof.attributed),
    '',
    `Packages with the most self time: ${(prof.topPackages as Results[]).map((x) => `${x.pkg} ${x.ms} ms`).join(', ')}. The profile itself: \`${prof.file}\` (Chrome DevTools, Performance panel).`,
    '',
  ];
}

/** The section for docs/benchmarks.md, from bench/results/obs.json if `npm run bench:obs` has run. */
export function obsSection(): string[] {
  const file = path.join(__dirname, 'results', 'obs.json');
  return fs.existsSync(file) ? obsMarkdown(JSON.parse(fs.readFileSync(file, 'utf8')) as Results) : [];
}
